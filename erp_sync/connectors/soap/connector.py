"""`SoapConnector`: the `ErpConnector` protocol spoken to one SOAP service (a NAV page service, or a generic one
described by a profile).

Reads page through the profile's read operation (paging.py). Writes: an update first reads the record by its
key (`Read`): when the version stored with the binding (NAV's `Key`) is no longer the record's, the ERP changed
it too, and the push comes back refused with ERP_RECORD_CHANGED, the record's current values and version, for
the caller's conflict policy to settle (never a blind overwrite); otherwise `Update` sends that version and the
fields whose value differs, and the answer's new version is returned. A record without a stored version is
updated with the version just read. An insert goes through `Create` (looked up first by its reference field
when it has one, since a lost answer may hide a record already made); the new key and version are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from erp_sync.connectors.base import (
    BadResponseError,
    ConnectionReport,
    Page,
    PushRequest,
    PushResult,
    Query,
    SkippableConnectorError,
    Window,
)
from erp_sync.connectors.read_ahead import read_ahead
from erp_sync.connectors.soap.client import SoapClient
from erp_sync.connectors.soap.config import SoapConfig
from erp_sync.connectors.soap.errors import RecordChangedError
from erp_sync.connectors.soap.paging import Paginator
from erp_sync.connectors.soap.records import base_type, field_names, field_types, records_at, rows_of
from erp_sync.errors import ValidationError

log = logging.getLogger(__name__)


class SoapConnector:
    """One integration's view of a SOAP service."""

    def __init__(self, config: SoapConfig, client: SoapClient | None = None) -> None:
        self._config = config
        self._client = client or SoapClient(config)
        self._profile = config.profile

    # -- discovery -------------------------------------------------------------------------------------------
    def check(self) -> ConnectionReport:
        """Fetch the WSDL and list its operations (with their parameters) and record types."""
        client = self._client
        client.verify_access()
        operations = [{"name": name, "kind": "operation", "parameters": client.operation_inputs(name)}
                      for name in client.operations()]
        types = sorted({t.name for t in client.zeep.wsdl.types.types if getattr(t, "name", None)
                        and hasattr(t, "elements") and not t.name.endswith(("_List", "_Filter"))})
        records = [{"name": name, "kind": "record"} for name in types]
        return ConnectionReport(ok=True, server_version=None, company=None, objects=records + operations)

    def object_tables(self, object_name: str) -> list[dict[str, Any]]:
        """A SOAP record is its own single table."""
        self._client.record_type(object_name)
        return [{"name": object_name, "dbname": object_name, "caption": f"{object_name} records"}]

    def table_fields(self, object_name: str, table: str) -> list[dict[str, Any]]:
        """The record's elements with their XSD types, in order."""
        record_type = self._client.record_type(object_name)
        types = field_types(record_type)
        return [{"name": name, "type": types[name], "xsdType": base_type(record_type, name),
                 "key": name == self._profile.key_element, "version": name == self._profile.record_key_element}
                for name in field_names(record_type)]

    # -- reading ---------------------------------------------------------------------------------------------
    def pages(self, query: Query, window: Window | None = None) -> Iterator[Page]:
        since = None
        if window is not None and window.since is not None:
            since = window.since - self._config.window_overlap
            if since.tzinfo is not None:
                since = since.astimezone(self._config.zone).replace(tzinfo=None)
        return read_ahead(iter(Paginator(self._client, query, since)))

    # -- writing ---------------------------------------------------------------------------------------------
    def push(self, request: PushRequest) -> PushResult:
        """Insert or update one record; a refusal (business rule or a stale version) is accepted=False."""
        try:
            if request.record_id:
                return self._update(request)
            return self._create(request)
        except RecordChangedError as stale:
            return self._stale(request, stale.message)
        except SkippableConnectorError as refused:
            log.info("SOAP service refused %s %s: %s", request.object, request.record_id or "(new)", refused.message)
            return PushResult(accepted=False, record_id=request.record_id, message=refused.message,
                              error_code=refused.code)

    def _update(self, request: PushRequest) -> PushResult:
        assert request.record_id is not None
        current = self._read_one(request.object, request.record_id)
        if current is None:
            return PushResult(accepted=False, record_id=request.record_id, error_code="ERP_BUSINESS_ERROR",
                              message=f"{request.object} {request.record_id} no longer exists in the ERP")
        version = current.get(self._profile.record_key_element or "", "") or None
        if request.version and version and version != request.version:
            return self._stale(request, "the record changed in the ERP since it was read", current)
        changes = self._changes(request.object, request.values, current)
        if not changes:
            return PushResult(accepted=True, record_id=request.record_id, version=version,
                              message="nothing to change")
        if self._profile.record_key_element and version:
            changes[self._profile.record_key_element] = request.version or version
        else:
            changes[self._profile.key_element] = request.record_id
        return self._write(self._profile.update_operation, request, changes)

    def _create(self, request: PushRequest) -> PushResult:
        if request.reference is not None:
            found = self._find(request.object, request.reference)
            if found is not None:
                log.warning("SOAP %s %s already carries this row's %s: updating it instead of creating another",
                            request.object, found, request.reference[0])
                result = self._update(PushRequest(object=request.object, table=request.table, values=request.values,
                                                  record_id=found))
                return PushResult(accepted=result.accepted, record_id=found, message=result.message,
                                  error_code=result.error_code, existing=True, version=result.version)
        values = self._changes(request.object, request.values, {})
        return self._write(self._profile.create_operation, request, values)

    def _write(self, operation: str | None, request: PushRequest, values: dict[str, Any]) -> PushResult:
        if not operation:
            raise ValidationError("the SOAP profile names no operation for this write; set createOperation and "
                                  "updateOperation", field="connection.updateOperation")
        answer = self._client.call(operation, {request.object: values}, write=True)
        record = self._record(request.object, answer)
        key = record.get(self._profile.key_element) or request.record_id
        if not key:
            raise BadResponseError(f"SOAP {operation} on {request.object} answered without its "
                                   f"{self._profile.key_element}", details={"service": operation})
        version = record.get(self._profile.record_key_element or "") or None
        return PushResult(accepted=True, record_id=key, version=version)

    def _stale(self, request: PushRequest, message: str,
               current: Mapping[str, str] | None = None) -> PushResult:
        if current is None and request.record_id:
            current = self._read_one(request.object, request.record_id)
        version = (current or {}).get(self._profile.record_key_element or "") or None
        log.info("SOAP %s %s changed in the ERP since it was read: %s", request.object, request.record_id, message)
        return PushResult(accepted=False, record_id=request.record_id, error_code=RecordChangedError.code,
                          message=message, version=version, current=dict(current) if current else None)

    def _changes(self, object_name: str, values: Mapping[str, str], current: Mapping[str, str]) -> dict[str, Any]:
        """The values that differ from `current`, typed for zeep (an empty non-text value is left out)."""
        record_type = self._client.record_type(object_name)
        fields = set(field_names(record_type))
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in fields:
                raise ValidationError(f"mapping source {name!r} is not an element of {object_name}",
                                      field="mappings")
            kind = base_type(record_type, name)
            if kind == "boolean" and value in ("1", "0"):
                value = "true" if value == "1" else "false"
            if current and current.get(name, "") == value:
                continue
            if value == "" and kind != "string":
                continue
            changes[name] = value
        return changes

    def _read_one(self, object_name: str, key: str) -> dict[str, str] | None:
        operation = self._profile.read_one_operation
        if operation:
            answer = self._client.call(operation, {self._profile.key_element: key})
            found = self._record(object_name, answer) if answer is not None else {}
            return found or None
        return self._lookup(object_name, self._profile.key_element, key)

    def _find(self, object_name: str, reference: tuple[str, str]) -> str | None:
        found = self._lookup(object_name, *reference)
        return found.get(self._profile.key_element) if found else None

    def _lookup(self, object_name: str, field: str, value: str) -> dict[str, str] | None:
        query = Query(object=object_name, criteria=((field, _exact(value)),), page_size=2)
        for page in Paginator(self._client, query, None):
            for row in page.rows:
                record = dict(zip(page.fields, row, strict=True))
                if record.get(field) == value:
                    return record
            break
        return None

    def _record(self, object_name: str, answer: Any) -> dict[str, str]:
        fields = field_names(self._client.record_type(object_name))
        rows = rows_of(records_at(answer, "")[:1], fields)
        return dict(zip(fields, rows[0], strict=True)) if rows else {}

    def close(self) -> None:
        self._client.close()


def _exact(value: str) -> str:
    """NAV criteria matching exactly `value`: quoted, so & | .. * and the like are plain characters."""
    return "'" + value.replace("'", "''") + "'"
