"""The SOAP sandbox as the connector tests see it: its `ServerControl` for the contract and the connector's
settings for it."""

from __future__ import annotations

from typing import Any

from connectors.test_softone_contract import SandboxControl

from erp_sync.connectors.soap import SoapConfig
from erp_sync.sandbox.soap import RunningSoapSandbox


class SoapSandboxControl(SandboxControl):
    """The contract's `ServerControl`, spoken to the SOAP sandbox's admin surface."""

    def logins(self) -> int:
        return int(self.stats()["wsdl_fetches"])

    def login_attempts(self) -> int:
        stats = self.stats()
        return int(stats["wsdl_fetches"]) + int(stats["requests"]) + int(stats["auth_failures"])

    def errors_answered(self) -> int:
        return int(self.stats()["faults"])

    def expire_sessions(self) -> None:
        raise NotImplementedError("a SOAP page service keeps no session")

    def lose_paging_handle(self) -> None:
        raise NotImplementedError("a bookmark is the record's own Key: there is no handle to lose")

    def use_hostile_encoding(self) -> None:
        self.configure(legacy_encoding=True, gzip=True)

    def reject_next_write(self, message: str) -> None:
        self.set_faults(fault_on_call={"operation": "Update", "kind": "business", "message": message})


def soap_config(sandbox: RunningSoapSandbox, page: str = "Customer", *, password: str | None = None,
                **extra: Any) -> SoapConfig:
    settings: dict[str, Any] = {"timeout_seconds": 5, "max_retries": 2, "retry_backoff_seconds": 0.005,
                                "retry_backoff_max_seconds": 0.02, **extra}
    return SoapConfig(wsdl_url=sandbox.page_url(page), username="demo", password=password or "demo", **settings)
