"""SOAP 1.1 envelopes: reading a request with lxml, writing answers and faults as NAV does.

A request's body holds one element named after the operation, in the page's namespace; its children are read
by local name. A WS-Security UsernameToken in the header is read too. Answers are written as text (the page
path of a 100k-row read must be cheap); empty text values are left out, as NAV leaves out blank fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NAV_ERRORS = "urn:microsoft-dynamics-schemas/error"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

# Fault codes NAV sends (their exception types), by what they mean.
RECORD_CHANGED = "Microsoft.Dynamics.Nav.Types.Exceptions.NavNCLRecordChangedException"
NOT_FOUND = "Microsoft.Dynamics.Nav.Types.Exceptions.NavCSideRecordNotFoundException"
PERMISSION = "Microsoft.Dynamics.Nav.Types.Exceptions.NavPermissionException"
BUSINESS = "Microsoft.Dynamics.Nav.Types.Exceptions.NavCSideException"
SERVICE = "Microsoft.Dynamics.Nav.Service.WebServices.ServiceBrokerException"


class SoapFault(Exception):
    """An answer with a SOAP fault (HTTP 500)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Call:
    """One parsed request: the operation, its parameters and the WS-Security credentials, if any."""

    operation: str
    namespace: str
    element: etree._Element
    username: str | None = None
    password: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def child(self, name: str) -> etree._Element | None:
        return next((c for c in self.element if etree.QName(c).localname == name), None)

    def children(self, name: str) -> list[etree._Element]:
        return [c for c in self.element if etree.QName(c).localname == name]


def values_of(element: etree._Element) -> dict[str, str | None]:
    """A record element's fields by local name; None for xsi:nil."""
    out: dict[str, str | None] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        nil = child.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1")
        out[etree.QName(child).localname] = None if nil else (child.text or "")
    return out


def parse_request(body: bytes) -> Call:
    """The operation a SOAP request asks for; SoapFault when the body is not a SOAP envelope."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFault(SERVICE, f"The request is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault(SERVICE, "The request is not a SOAP 1.1 envelope")
    body_element = root.find(f"{{{SOAP_ENV}}}Body")
    operation = next((c for c in body_element if isinstance(c.tag, str)), None) if body_element is not None else None
    if operation is None:
        raise SoapFault(SERVICE, "The SOAP body is empty")
    qname = etree.QName(operation)
    call = Call(operation=qname.localname, namespace=qname.namespace or "", element=operation)
    token = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is not None:
        call.username = token.findtext(f"{{{WSSE}}}Username")
        call.password = token.findtext(f"{{{WSSE}}}Password")
    return call


def record_xml(tag: str, names: tuple[str, ...], values: tuple[str, ...]) -> str:
    """`<Customer><Key>..</Key>...</Customer>`, blank fields left out."""
    inner = "".join(f"<{n}>{escape(v)}</{n}>" for n, v in zip(names, values, strict=True) if v)
    return f"<{tag}>{inner}</{tag}>"


def envelope(content: str) -> str:
    return (f'<Soap:Envelope xmlns:Soap="{SOAP_ENV}"><Soap:Body>{content}</Soap:Body></Soap:Envelope>')


def fault_xml(fault: SoapFault) -> str:
    message = escape(fault.message)
    return envelope(
        f'<Soap:Fault><faultcode xmlns:a="{NAV_ERRORS}">a:{fault.code}</faultcode>'
        f'<faultstring xml:lang="en-US">{message}</faultstring><detail><string '
        f'xmlns="http://schemas.microsoft.com/2003/10/Serialization/">{message}</string></detail></Soap:Fault>')


def encode(text: str, legacy: bool) -> tuple[bytes, str]:
    """The answer's bytes and charset: UTF-8, or Windows-1253 declared in the XML prolog when `legacy`."""
    charset = "windows-1253" if legacy else "utf-8"
    prolog = f'<?xml version="1.0" encoding="{charset}"?>'
    return (prolog + text).encode("cp1253" if legacy else "utf-8", errors="xmlcharrefreplace"), charset
