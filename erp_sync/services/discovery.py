"""Connection tests and discovery: log in, list objects, tables and fields, so a mapping can be checked first."""

from __future__ import annotations

from typing import Any

from erp_sync.domain import schedule
from erp_sync.domain.integration import IntegrationSpec, SoapConnection, SoftOneConnection
from erp_sync.errors import ValidationError
from erp_sync.services.integrations import IntegrationService
from erp_sync.services.sync import ConnectorFactory


class DiscoveryService:
    def __init__(self, integrations: IntegrationService, connectors: ConnectorFactory) -> None:
        self._integrations = integrations
        self._connectors = connectors

    def _explore(self, spec: IntegrationSpec, object_name: str | None, table: str | None) -> dict[str, Any]:
        connector = self._connectors(spec)
        try:
            report = connector.check()
            answer: dict[str, Any] = {"ok": report.ok, "serverVersion": report.server_version,
                                      "company": report.company, "objectCount": len(report.objects),
                                      "objects": report.objects[:500]}
            object_name = object_name or spec.source.object
            if object_name:
                answer["object"] = object_name
                answer["tables"] = connector.object_tables(object_name)
                table_name = table or object_name
                answer["table"] = table_name
                answer["fields"] = connector.table_fields(object_name, table_name)
            return answer
        finally:
            connector.close()

    def test_integration(self, integration_id: int, object_name: str | None, table: str | None) -> dict[str, Any]:
        return self._explore(self._integrations.get(integration_id).spec, object_name, table)

    def test_connection(self, body: Any) -> dict[str, Any]:
        """Test connection settings that are not saved yet: body {connector?, connection, object?, table?}."""
        if not isinstance(body, dict) or not isinstance(body.get("connection"), dict):
            raise ValidationError("send {\"connection\": {...}} with the ERP connection to test", field="connection")
        kind = body.get("connector", "softone")
        model = SoapConnection if kind == "soap" else SoftOneConnection
        from pydantic import ValidationError as PydanticError

        try:
            connection = model.model_validate(body["connection"])
        except PydanticError as exc:
            first = exc.errors(include_url=False)[0]
            path = ".".join(str(p) for p in ("connection", *first["loc"]))
            raise ValidationError(f"{path}: {first['msg']}", field=path) from None
        if connection.password is None:
            raise ValidationError("connection.password is required to test a connection",
                                  field="connection.password")
        _check_server_timezone(connection.server_timezone)
        spec = IntegrationSpec.model_construct(
            name="connection-test", connector=kind, connection=connection,
            source=_source(body.get("object") or ""), is_active=False)
        return self._explore(spec, body.get("object"), body.get("table"))


def _check_server_timezone(zone: str) -> None:
    """The ERP clock's zone is used by the first incremental read; a bad one is the caller's to fix, not a 500."""
    try:
        schedule.validate("0 0 * * *", zone)
    except ValidationError:
        raise ValidationError(f"connection.serverTimezone: {zone!r} is not an IANA time zone such as Europe/Athens",
                              code="UNKNOWN_TIMEZONE", field="connection.serverTimezone") from None


def _source(object_name: str) -> Any:
    from erp_sync.domain.integration import SourceSpec

    return SourceSpec.model_construct(object=object_name, mode="browser", list="", filters="", page_size=1000,
                                      params={})
