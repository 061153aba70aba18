"""A small SOAP client for the SOAP sandbox tests: hand-written envelopes over httpx, answers read with lxml.

Independent of zeep on purpose, so the sandbox is checked against the wire format itself; every call crosses a
real socket.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import httpx
from lxml import etree

from erp_sync.sandbox.soap import RunningSoapSandbox

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _fields(values: dict[str, str]) -> str:
    return "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())


class Nav:
    """Calls one page service of a running SOAP sandbox."""

    def __init__(self, sandbox: RunningSoapSandbox, page: str = "Customer", auth: tuple[str, str] = ("demo", "demo"),
                 ) -> None:
        self.url = sandbox.page_url(page)
        self.page = page
        self.namespace = f"urn:microsoft-dynamics-schemas/page/{page.lower()}"
        self.http = httpx.Client(timeout=10, auth=auth)

    def post(self, operation: str, inner: str, header: str = "") -> httpx.Response:
        body = (f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Header>{header}</s:Header><s:Body>'
                f'<{operation} xmlns="{self.namespace}">{inner}</{operation}></s:Body></s:Envelope>')
        return self.http.post(self.url, content=body.encode("utf-8"),
                              headers={"Content-Type": "text/xml; charset=utf-8",
                                       "SOAPAction": f"{self.namespace}:{operation}"})

    def records(self, response: httpx.Response) -> list[dict[str, str]]:
        assert response.status_code == 200, response.text
        root = etree.fromstring(response.content)
        found = root.iter(f"{{{self.namespace}}}{self.page}")
        return [{etree.QName(child).localname: child.text or "" for child in record} for record in found]

    def read_multiple(self, filters: list[tuple[str, str]] | None = None, bookmark: str | None = None,
                      size: int = 10) -> list[dict[str, str]]:
        parts = [f"<filter><Field>{f}</Field><Criteria>{escape(c)}</Criteria></filter>" for f, c in filters or []]
        if bookmark is not None:
            parts.append(f"<bookmarkKey>{escape(bookmark)}</bookmarkKey>")
        parts.append(f"<setSize>{size}</setSize>")
        return self.records(self.post("ReadMultiple", "".join(parts)))

    def read_all(self, filters: list[tuple[str, str]] | None = None, size: int = 7) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        bookmark = None
        while page := self.read_multiple(filters, bookmark, size):
            rows.extend(page)
            bookmark = page[-1]["Key"]
        return rows

    def write(self, operation: str, values: dict[str, str]) -> httpx.Response:
        return self.post(operation, f"<{self.page}>{_fields(values)}</{self.page}>")


def fault(response: httpx.Response) -> dict[str, Any]:
    """The faultcode and faultstring of a SOAP fault answer."""
    root = etree.fromstring(response.content)
    element = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert element is not None, response.text
    return {"status": response.status_code, "code": element.findtext("faultcode"),
            "message": element.findtext("faultstring")}
