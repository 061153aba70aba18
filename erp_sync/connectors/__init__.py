"""The ERP side of erp-sync: one package per ERP family behind the protocol in `connectors.base`."""
