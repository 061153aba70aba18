"""`SoapClient`: one SOAP service through zeep, its WSDL read on first use, its calls retried and translated.

The WSDL is fetched the first time an operation, a discovery or a test needs it (never at start-up), then kept
by zeep's cache. A NAV page service is called at the WSDL's own address (NAV writes its server's configured name
into the WSDL, often one the client cannot resolve); a generic service at the address its WSDL declares.
Transport failures of reads are retried with bounded exponential backoff; writes are retried only when the
request cannot have reached the server. Every failure leaves as a connector error (errors.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from lxml import etree
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from zeep import Client
from zeep.proxy import ServiceProxy
from zeep.xsd import ComplexType

from erp_sync.connectors.base import ConnectorError
from erp_sync.connectors.soap.config import SoapConfig
from erp_sync.connectors.soap.errors import translate
from erp_sync.connectors.soap.transport import build_client
from erp_sync.errors import ErpSyncError, ValidationError

log = logging.getLogger(__name__)
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class UnknownObjectError(ValidationError):
    code = "UNKNOWN_OBJECT"


class SoapClient:
    """The zeep side of one SOAP service; thread-safe once built."""

    def __init__(self, config: SoapConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._lock = threading.Lock()
        self._zeep: Client | None = None
        self._service: ServiceProxy | None = None

    @property
    def zeep(self) -> Client:
        """The zeep client, the WSDL loaded on first use."""
        with self._lock:
            if self._zeep is None:
                try:
                    self._zeep = build_client(self.config)
                except ErpSyncError:
                    raise
                except Exception as exc:
                    raise translate(exc, operation="WSDL", where=self.config.shown_url) from exc
            return self._zeep

    @property
    def service(self) -> ServiceProxy:
        client = self.zeep
        with self._lock:
            if self._service is None:
                self._service = self._bind(client)
            return self._service

    def _bind(self, client: Client) -> ServiceProxy:
        profile = self.config.profile
        if self.config.profile_name == "nav_page":
            port = next(iter(next(iter(client.wsdl.services.values())).ports.values()))
            address = self.config.wsdl_url.split("?", 1)[0]
            return client.create_service(port.binding.name, address)
        try:
            return client.bind(profile.service, profile.port)
        except (KeyError, ValueError) as exc:
            raise ValidationError(f"the WSDL has no service {profile.service!r} / port {profile.port!r}: {exc}",
                                  field="connection.service") from exc

    def verify_access(self) -> None:
        """GET the WSDL past the cache, with the connection's credentials: a connection test must log in even
        when the WSDL was cached by another connection (a WSDL behind WS-Security is public: nothing to see)."""
        session = self.zeep.transport.session
        try:
            response = session.get(self.config.wsdl_url, timeout=self.config.timeout_seconds)
            with response:
                response.raise_for_status()
        except Exception as exc:
            raise translate(exc, operation="WSDL", where=self.config.shown_url) from exc

    def operations(self) -> list[str]:
        """The operation names of the bound port."""
        return sorted(self.service._binding._operations)

    def operation_inputs(self, operation: str) -> list[str]:
        body = self.service._binding._operations[operation].input.body
        kind = getattr(body, "type", None)
        return [name for name, _ in kind.elements] if isinstance(kind, ComplexType) else []

    def record_type(self, name: str) -> ComplexType:
        """The complex type (or element of a complex type) called `name` in the WSDL; UNKNOWN_OBJECT if none."""
        types = self.zeep.wsdl.types
        for document in types.documents:
            try:
                qname = etree.QName(document._target_namespace, name).text
            except ValueError:  # not an XML name ('$', '>', spaces): no element of any namespace has it
                break
            for lookup in (types.get_type, types.get_element):
                try:
                    found = lookup(qname)
                except Exception:  # noqa: S112 - zeep raises LookupError subclasses and others for a miss
                    continue
                kind = getattr(found, "type", found)
                if isinstance(kind, ComplexType):
                    return kind
        known = sorted({t.name for t in types.types if isinstance(t, ComplexType) and t.name})
        raise UnknownObjectError(f"source.object {name!r} is not a record element of the WSDL at "
                                 f"{self.config.shown_url}; it has {', '.join(known[:30]) or 'no complex types'}",
                                 field="source.object", details={"available": known[:100]})

    def call(self, operation: str, params: dict[str, Any], *, page: int | None = None,
             write: bool = False) -> Any:
        """Call one operation with keyword parameters; retries transport trouble, raises connector errors."""
        service = self.service
        try:
            method = service[operation]
        except AttributeError as exc:
            raise ValidationError(f"the SOAP service has no operation {operation!r}; it has "
                                  f"{', '.join(self.operations())}", field="source.object") from exc

        def attempt() -> Any:
            try:
                return method(**params)
            except ErpSyncError:
                raise
            except Exception as exc:
                raise translate(exc, operation=operation, where=self.config.shown_url, page=page,
                                write=write) from exc

        return self._retrying(write)(attempt)

    def call_raw(self, operation: str, params: dict[str, Any], *, page: int | None = None) -> etree._Element:
        """Like `call` for a read, but the answer's SOAP body as lxml parsed it, not turned into zeep objects (the
        page path of a NAV page service, where zeep's object building is most of the time). Faults and HTTP
        errors go through zeep as for `call`."""
        client, service = self.zeep, self.service
        binding = service._binding

        def attempt() -> etree._Element:
            try:
                with client.settings(raw_response=True):
                    response = service[operation](**params)
                if response.status_code != 200:
                    binding.process_reply(client, binding._operations[operation], response)
                body = etree.fromstring(response.content, _PARSER).find(f"{{{_SOAP_ENV}}}Body")
                if body is None:
                    raise ValueError("the answer has no SOAP Body")
                return body
            except ErpSyncError:
                raise
            except Exception as exc:
                raise translate(exc, operation=operation, where=self.config.shown_url, page=page) from exc

        return self._retrying(False)(attempt)

    def _retrying(self, write: bool) -> Retrying:
        cfg = self.config

        def retriable(exc: BaseException) -> bool:
            if not isinstance(exc, ConnectorError) or not exc.retriable:
                return False
            return not write or not exc.details.get("mayHaveBeenApplied", True)

        return Retrying(stop=stop_after_attempt(cfg.max_retries + 1),
                        wait=wait_exponential_jitter(multiplier=cfg.retry_backoff_seconds,
                                                     max=cfg.retry_backoff_max_seconds,
                                                     jitter=cfg.retry_backoff_seconds),
                        retry=retry_if_exception(retriable), sleep=self._sleep, reraise=True,
                        before_sleep=lambda state: log.warning(
                            "SOAP call failed (%s); attempt %d of %d", state.outcome.exception() if state.outcome
                            else "?", state.attempt_number, cfg.max_retries + 1))

    def close(self) -> None:
        with self._lock:
            if self._zeep is not None:
                self._zeep.transport.session.close()
