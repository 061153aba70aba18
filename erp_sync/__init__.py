"""erp-sync: scheduled, incremental, two-way sync between an ERP (SoftOne first) and an application database."""

__version__ = "0.1.0"
