"""What a SOAP integration is: its connection (profile, WSDL, account, transport limits, and for the generic
profile where the records, paging and writes are) and the rules its source follows.

`SoapConnection` is the `connection` of `connector: soap`. The `nav_page` profile is a Dynamics NAV / Business
Central page web service, whose operations and parameters are known; the `generic` profile names them. A SOAP
`source` has `object` (the record element, e.g. Customer), `filters` as a list of `{"field", "criteria"}` in NAV's
criteria syntax, `cursorField` and `pageSize`; SoftOne's `mode`, `list`, `requestsAhead` and `params` are refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SecretStr, Tag, field_validator, model_validator
from pydantic.alias_generators import to_camel

from erp_sync.errors import ValidationError

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
# Profile settings of the generic profile (snake_case) and their wire names.
GENERIC_SETTINGS = ("service", "port", "read_operation", "filter_parameter", "page_size_parameter",
                    "bookmark_parameter", "offset_parameter", "record_path", "key_element", "record_key_element",
                    "create_operation", "update_operation")
# Source fields that only SoftOne reads; a SOAP source refuses them.
SOFTONE_SOURCE_FIELDS = ("mode", "list", "requests_ahead", "params", "push_object", "push_table", "key_field")

Setting = Annotated[str | None, Field(default=None, max_length=128)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              str_strip_whitespace=True)


class SoapFilter(_Model):
    """One ReadMultiple filter: an element of the record and NAV criteria (`<>All`, `A*`, `X|Y`, `a..b`)."""

    field: str = Field(min_length=1, max_length=128)
    criteria: str = Field(max_length=1000)

    @field_validator("field")
    @classmethod
    def _element(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("must be an element name of the record, such as No or Last_Date_Modified")
        return value


class SoapConnection(_Model):
    profile: Literal["nav_page", "generic"]
    wsdl_url: str = Field(min_length=1, max_length=500)
    username: str = Field(default="", max_length=200)
    password: SecretStr | None = None
    auth: Literal["basic", "ntlm", "wsse"] = "basic"
    timeout_seconds: int = Field(default=60, ge=1, le=600, strict=True)
    tls_verify: bool = Field(default=True, strict=True)
    server_timezone: str = "UTC"
    service: Setting = None
    port: Setting = None
    read_operation: Setting = None
    filter_parameter: Setting = None
    page_size_parameter: Setting = None
    bookmark_parameter: Setting = None
    offset_parameter: Setting = None
    record_path: Setting = None
    key_element: Setting = None
    record_key_element: Setting = None
    create_operation: Setting = None
    update_operation: Setting = None

    @field_validator("wsdl_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
            raise ValueError("must be an http(s) URL of the WSDL, such as "
                             "https://nav.example.com:7047/DynamicsNAV/WS/CRONUS/Page/Customer")
        return value

    @field_validator(*GENERIC_SETTINGS)
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not NAME.match(value):
            raise ValueError("must be an operation, parameter or element name (letters, digits, _ . -)")
        return value

    @model_validator(mode="after")
    def _profile_settings(self) -> SoapConnection:
        given = [name for name in GENERIC_SETTINGS if getattr(self, name) is not None]
        if self.profile == "nav_page" and given:
            raise ValueError(f"{to_camel(given[0])} is a setting of profile generic; profile nav_page fills it in "
                             "for a NAV page service (remove it, or use profile generic)")
        if self.profile == "generic":
            for required in ("read_operation", "key_element"):
                if getattr(self, required) is None:
                    raise ValueError(f"profile generic needs {to_camel(required)}")
            if self.bookmark_parameter and self.offset_parameter:
                raise ValueError("give bookmarkParameter or offsetParameter, not both")
        return self


def _filters_form(value: Any) -> str:
    return "soap-filters" if isinstance(value, list) else "softone-filters"


# A source's `filters`: SoftOne's string or SOAP's list, told apart by the JSON type (the tag names never reach
# an error's field path: integration._path leaves out FILTER_FORMS).
FILTER_FORMS = frozenset({"soap-filters", "softone-filters"})
SourceFilters = Annotated[
    Annotated[str, Field(max_length=2000), Tag("softone-filters")]
    | Annotated[list[SoapFilter], Field(max_length=50), Tag("soap-filters")],
    Discriminator(_filters_form),
]


def check_source(connector: str, source: Any) -> None:
    """The source rules that depend on the connector: a SOAP source takes filters as a list and none of
    SoftOne's fields; a SoftOne source takes filters as a string. ValidationError names the field."""
    if connector == "soap":
        for name in SOFTONE_SOURCE_FIELDS:
            if name in source.model_fields_set:
                raise ValidationError(f"source.{to_camel(name)} is SoftOne's; a SOAP source has object, filters, "
                                      "cursorField and pageSize", field=f"source.{to_camel(name)}")
        if isinstance(source.filters, str) and source.filters:
            raise ValidationError('source.filters: for connector soap a list of {"field", "criteria"}, such as '
                                  '[{"field": "Blocked", "criteria": "<>All"}]', field="source.filters")
    elif isinstance(source.filters, list):
        raise ValidationError("source.filters: for connector softone a string of FIELD=value conditions joined by "
                              "&, such as CUSTOMER.ISACTIVE=1", field="source.filters")


def public_source(source: dict[str, Any]) -> dict[str, Any]:
    """A SOAP source's JSON form: SoftOne's fields left out, filters always a list."""
    for name in SOFTONE_SOURCE_FIELDS:
        source.pop(to_camel(name), None)
    if source.get("filters") == "":
        source["filters"] = []
    return source


def filter_pairs(filters: str | list[SoapFilter]) -> tuple[tuple[str, str], ...]:
    """A SOAP source's filters as (field, criteria) pairs; none for a SoftOne filter string."""
    return tuple((f.field, f.criteria) for f in filters) if isinstance(filters, list) else ()
