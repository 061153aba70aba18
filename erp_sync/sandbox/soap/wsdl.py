"""The WSDL of one page service, written the way NAV writes it: one schema with the record type, its list, its
field enumeration, its filter type, and a wrapper element per operation (document/literal)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .pages import PageSpec

OPERATIONS = ("Read", "ReadMultiple", "Create", "Update", "Delete")


def _type(xsd: str, page: PageSpec) -> str:
    return f"tns:{xsd}" if xsd in page.enums else f"xsd:{xsd}"


def _schema(page: PageSpec) -> str:
    name = page.name
    parts = [f'<xsd:schema elementFormDefault="qualified" targetNamespace="{page.namespace}">']
    for enum, values in page.enums.items():
        options = "".join(f'<xsd:enumeration value="{escape(v)}"/>' for v in values)
        parts.append(f'<xsd:simpleType name="{enum}"><xsd:restriction base="xsd:string">{options}'
                     "</xsd:restriction></xsd:simpleType>")
    record = "".join(f'<xsd:element minOccurs="0" maxOccurs="1" name="{f.name}" type="{_type(f.xsd, page)}"/>'
                     for f in page.fields)
    parts.append(f'<xsd:complexType name="{name}"><xsd:sequence>{record}</xsd:sequence></xsd:complexType>')
    parts.append(f'<xsd:complexType name="{name}_List"><xsd:sequence><xsd:element minOccurs="1" '
                 f'maxOccurs="unbounded" name="{name}" type="tns:{name}"/></xsd:sequence></xsd:complexType>')
    fields = "".join(f'<xsd:enumeration value="{f.name}"/>' for f in page.fields if f.name != "Key")
    parts.append(f'<xsd:simpleType name="{name}_Fields"><xsd:restriction base="xsd:string">{fields}'
                 "</xsd:restriction></xsd:simpleType>")
    parts.append(f'<xsd:complexType name="{name}_Filter"><xsd:sequence>'
                 f'<xsd:element minOccurs="1" maxOccurs="1" name="Field" type="tns:{name}_Fields"/>'
                 '<xsd:element minOccurs="1" maxOccurs="1" name="Criteria" type="xsd:string"/>'
                 "</xsd:sequence></xsd:complexType>")
    elements = {
        "Read": f'<xsd:element minOccurs="1" maxOccurs="1" name="{page.key}" type="xsd:string"/>',
        "Read_Result": f'<xsd:element minOccurs="0" maxOccurs="1" name="{name}" type="tns:{name}"/>',
        "ReadMultiple": f'<xsd:element minOccurs="1" maxOccurs="unbounded" name="filter" type="tns:{name}_Filter"/>'
                        '<xsd:element minOccurs="0" maxOccurs="1" name="bookmarkKey" type="xsd:string"/>'
                        '<xsd:element minOccurs="1" maxOccurs="1" name="setSize" type="xsd:int"/>',
        "ReadMultiple_Result": f'<xsd:element minOccurs="0" maxOccurs="1" name="ReadMultiple_Result" '
                               f'type="tns:{name}_List"/>',
        "Create": f'<xsd:element minOccurs="1" maxOccurs="1" name="{name}" type="tns:{name}"/>',
        "Create_Result": f'<xsd:element minOccurs="1" maxOccurs="1" name="{name}" type="tns:{name}"/>',
        "Update": f'<xsd:element minOccurs="1" maxOccurs="1" name="{name}" type="tns:{name}"/>',
        "Update_Result": f'<xsd:element minOccurs="1" maxOccurs="1" name="{name}" type="tns:{name}"/>',
        "Delete": '<xsd:element minOccurs="1" maxOccurs="1" name="Key" type="xsd:string"/>',
        "Delete_Result": '<xsd:element minOccurs="1" maxOccurs="1" name="Delete_Result" type="xsd:boolean"/>',
    }
    for element, content in elements.items():
        parts.append(f'<xsd:element name="{element}"><xsd:complexType><xsd:sequence>{content}</xsd:sequence>'
                     "</xsd:complexType></xsd:element>")
    parts.append("</xsd:schema>")
    return "".join(parts)


def render(page: PageSpec, location: str) -> bytes:
    """The WSDL of `page`, its port at `location`."""
    name, ns = page.name, page.namespace
    soap = 'xmlns="http://schemas.xmlsoap.org/wsdl/soap/"'
    messages = "".join(f'<message name="{op}"><part name="parameters" element="tns:{op}"/></message>'
                       f'<message name="{op}_Result"><part name="parameters" element="tns:{op}_Result"/></message>'
                       for op in OPERATIONS)
    port_ops = "".join(f'<operation name="{op}"><input name="{op}" message="tns:{op}"/>'
                       f'<output name="{op}_Result" message="tns:{op}_Result"/></operation>' for op in OPERATIONS)
    binding_ops = "".join(
        f'<operation name="{op}"><operation soapAction="{ns}:{op}" style="document" {soap}/>'
        f'<input name="{op}"><body use="literal" {soap}/></input>'
        f'<output name="{op}_Result"><body use="literal" {soap}/></output></operation>' for op in OPERATIONS)
    text = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<definitions targetNamespace="{ns}" xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="{ns}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<types>{_schema(page)}</types>{messages}"
        f'<portType name="{name}_Port">{port_ops}</portType>'
        f'<binding name="{name}_Binding" type="tns:{name}_Port">'
        f'<binding transport="http://schemas.xmlsoap.org/soap/http" {soap}/>{binding_ops}</binding>'
        f'<service name="{name}_Service"><port name="{name}_Port" binding="tns:{name}_Binding">'
        f"<address location={quoteattr(location)} {soap}/></port></service>"
        "</definitions>"
    )
    return text.encode("utf-8")
