"""What an integration is: which ERP source to read, how its fields map to local columns, when it runs.

`IntegrationSpec` is the validated, complete description (camelCase on the wire, snake_case in Python).
`parse_spec` turns untrusted JSON into one, `merge_patch` applies a PATCH on top of an existing spec; both raise
`ValidationError`s whose `field` is the dotted path the operator has to fix. `check_admission` adds the rules a
new or changed spec must also pass (no key twice, no target of erp-sync's own or a catalog); they are kept out of
`parse_spec`, which also reads stored specs, so an integration saved before a rule existed still loads and can be
listed, fixed or deleted. The ERP password travels as a `SecretStr`, is never echoed, and a patch that leaves it
out keeps the stored one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from erp_sync.domain import schedule
from erp_sync.domain.notifications import NotificationSpec, RetrySpec, keep_stored_urls, notifications_out
from erp_sync.domain.soap import FILTER_FORMS, SoapConnection, SourceFilters, check_source, public_source
from erp_sync.domain.target_names import (
    check_schema_name,
    check_table_name,
    check_target_name,
    is_sql_identifier,
)
from erp_sync.errors import ValidationError

ERP_FIELD = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$ ]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127})?$")
MappingType = Literal["string", "integer", "decimal", "boolean", "date", "datetime"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              str_strip_whitespace=True)


def _identifier(value: str) -> str:
    if not is_sql_identifier(value):
        raise ValueError("must be a plain SQL identifier: a letter or _, then letters, digits or _, at most 63")
    return value


def _target_identifier(value: str, forbidden: Callable[[str], None]) -> str:
    if not is_sql_identifier(value):
        try:  # a quoted or dotted spelling of a forbidden name is refused as forbidden, the more useful answer
            forbidden(value)
        except ValidationError as exc:
            raise _FieldProblem(exc.code, exc.field or "target", exc.message, exc.details) from None
    return _identifier(value)


Identifier = Annotated[str, Field(min_length=1, max_length=63)]


class SoftOneConnection(_Model):
    base_url: str = Field(min_length=1, max_length=500)
    username: str = Field(min_length=1, max_length=200)
    password: SecretStr | None = None
    app_id: str = Field(min_length=1, max_length=20)
    company: str = ""
    branch: str = ""
    module: str = ""
    ref_id: str = ""
    server_timezone: str = "Europe/Athens"

    @field_validator("app_id", "company", "branch", "module", "ref_id", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+\S*$", value):
            raise ValueError("must be an http(s) URL such as https://yourname.oncloud.gr/s1services")
        return value


class SourceSpec(_Model):
    object: str = Field(min_length=1, max_length=128)
    list: str = Field(default="", max_length=128)
    filters: SourceFilters = ""
    mode: Literal["browser", "sqlData", "getTable"] = "browser"
    cursor_field: str | None = Field(default=None, max_length=128)
    key_field: str | None = Field(default=None, max_length=128)
    page_size: int = Field(default=5000, ge=1, le=50_000, strict=True)  # not "100" or true: say what you mean
    requests_ahead: int = Field(default=4, ge=1, le=8, strict=True)
    params: dict[str, str] = Field(default_factory=dict)
    push_object: str | None = None
    push_table: str | None = None


class TargetSpec(_Model):
    table: Identifier
    schema_: str | None = Field(default=None, alias="schema")
    create_if_missing: bool = False

    _table = field_validator("table")(lambda cls, v: _target_identifier(v, check_table_name))

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _target_identifier(value, check_schema_name)


class MappingSpec(_Model):
    source: str = Field(min_length=1, max_length=200)
    target: Identifier
    type: MappingType = "string"
    default: str | None = None
    read_only: bool = False

    _target = field_validator("target")(lambda cls, v: _identifier(v))

    @field_validator("source")
    @classmethod
    def _erp_field(cls, value: str) -> str:
        if not ERP_FIELD.match(value):
            raise ValueError("must be an ERP field name such as CUSTOMER.CODE or CODE (letters, digits, _, one dot)")
        return value

    @field_validator("default", mode="before")
    @classmethod
    def _default_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class ScheduleSpec(_Model):
    cron_expression: str = Field(min_length=1, max_length=120)
    timezone: str = Field(default="UTC", min_length=1, max_length=64)


class OptionsSpec(_Model):
    catch_up: bool = True
    catch_up_grace_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    overlap_minutes: int = Field(default=5, ge=0, le=24 * 60)
    max_error_share: float = Field(default=0.1, ge=0, le=1)
    max_delete_share: float = Field(default=0.2, ge=0, le=1)
    modified_column: str | None = None
    reference_field: str | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)  # failed scheduled runs (erp_sync.domain.notifications)
    pause_after_failures: int | None = Field(default=None, ge=1, le=100)

    @field_validator("modified_column")
    @classmethod
    def _column(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _identifier(value)


class IntegrationSpec(_Model):
    name: str = Field(min_length=1, max_length=200)
    connector: Literal["softone", "soap"] = "softone"
    connection: SoftOneConnection | SoapConnection
    source: SourceSpec
    target: TargetSpec
    mappings: list[MappingSpec] = Field(min_length=1, max_length=500)
    keys: list[Identifier] = Field(min_length=1, max_length=16)
    schedule: ScheduleSpec
    is_active: bool = Field(default=True, strict=True)  # "yes" or 1 is a typo, not a decision
    direction: Literal["one_way", "two_way"] = "one_way"
    conflict_policy: Literal["erp_wins", "local_wins", "newest_wins"] = "erp_wins"
    delete_policy: Literal["ignore", "soft_delete", "hard_delete"] = "ignore"
    soft_delete_column: str | None = None
    options: OptionsSpec = Field(default_factory=OptionsSpec)
    notifications: list[NotificationSpec] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _consistent(self) -> IntegrationSpec:
        targets = [m.target for m in self.mappings]
        for index, target in enumerate(targets):
            if target in targets[:index]:
                raise _FieldProblem("INVALID_MAPPING", f"mappings[{index}].target",
                                    f"column {target!r} is the target of more than one mapping")
        for index, key in enumerate(self.keys):
            if key not in targets:
                raise _FieldProblem("INVALID_MAPPING", f"keys[{index}]",
                                    f"key column {key!r} is not the target of any mapping; map it first")
        if self.delete_policy == "soft_delete":
            if not self.soft_delete_column:
                raise _FieldProblem("VALIDATION_ERROR", "softDeleteColumn",
                                    "deletePolicy soft_delete needs softDeleteColumn (a local column to stamp)")
            _identifier(self.soft_delete_column)
        check_source(self.connector, self.source)
        if self.conflict_policy == "newest_wins" and not self.options.modified_column:
            raise _FieldProblem("VALIDATION_ERROR", "options.modifiedColumn",
                                "conflictPolicy newest_wins needs options.modifiedColumn, the local column that "
                                "holds each row's modification time")
        return self

    @property
    def password(self) -> str | None:
        secret = self.connection.password
        return secret.get_secret_value() if secret is not None else None

    def public_dict(self) -> dict[str, Any]:
        """The camelCase JSON form without the password (`hasPassword` says whether one is stored)."""
        data = self.model_dump(by_alias=True, mode="json", exclude={"connection": {"password"}})
        data["connection"]["hasPassword"] = self.connection.password is not None
        data["notifications"] = notifications_out(self.notifications, reveal=False)
        if self.connector == "soap":
            public_source(data["source"])
        return data

    def storable_dict(self) -> dict[str, Any]:
        """The camelCase JSON form, password included in clear: only for re-validation, never for output."""
        data = self.model_dump(by_alias=True, mode="json", exclude={"connection": {"password"}})
        if self.password is not None:
            data["connection"]["password"] = self.password
        data["notifications"] = notifications_out(self.notifications, reveal=True)
        if self.connector == "soap":
            public_source(data["source"])
        return data


class _FieldProblem(ValueError):
    def __init__(self, code: str, field: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.field, self.message, self.details = code, field, message, details


def _path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif (not part or part in {"SoftOneConnection", "SoapConnection"} or part in FILTER_FORMS
              or part.startswith("function-")):
            continue
        else:
            path += ("." if path else "") + part
    return path


def _translate(exc: PydanticValidationError, prefix: str = "") -> ValidationError:
    first = exc.errors(include_url=False)[0]
    context = first.get("ctx") or {}
    problem = context.get("error")
    if isinstance(problem, _FieldProblem):
        return ValidationError(problem.message, code=problem.code, field=problem.field, details=problem.details)
    field = _path((prefix, *first["loc"]) if prefix else tuple(first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "is not a known field; check its spelling (fields are camelCase)"
    elif first["type"] == "missing":
        message = "is required"
    return ValidationError(f"{field}: {message}" if field else message, field=field or None)


def _check_schedule(spec: IntegrationSpec) -> None:
    schedule.validate(spec.schedule.cron_expression, spec.schedule.timezone)
    server_tz = spec.connection.server_timezone
    try:
        schedule.validate("0 0 * * *", server_tz)
    except ValidationError:
        raise ValidationError(f"connection.serverTimezone: {server_tz!r} is not an IANA time zone such as "
                              "Europe/Athens", code="UNKNOWN_TIMEZONE", field="connection.serverTimezone") from None


def parse_spec(data: Any) -> IntegrationSpec:
    """Validate untrusted JSON into an IntegrationSpec, or raise a ValidationError naming the field."""
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object describing the integration")
    connection = data.get("connection")
    if isinstance(connection, dict):
        model = SoapConnection if data.get("connector") == "soap" else SoftOneConnection
        try:
            data = {**data, "connection": model.model_validate(connection)}
        except PydanticValidationError as exc:
            raise _translate(exc, prefix="connection") from None
    try:
        spec = IntegrationSpec.model_validate(data)
    except PydanticValidationError as exc:
        raise _translate(exc) from None
    _check_schedule(spec)
    return spec


def check_admission(spec: IntegrationSpec) -> None:
    """Raise a ValidationError unless a new or changed spec also passes the admission rules: its target is not
    erp-sync's own table or a catalog (FORBIDDEN_TARGET), no key is listed twice (INVALID_MAPPING) and
    softDeleteColumn, when given, is a column name (VALIDATION_ERROR)."""
    check_target_name(spec.target.table, spec.target.schema_)
    for index, key in enumerate(spec.keys):
        if key in spec.keys[:index]:
            raise ValidationError(f"keys[{index}]: key column {key!r} is listed twice; list each key column once",
                                  code="INVALID_MAPPING", field=f"keys[{index}]")
    if spec.soft_delete_column and not is_sql_identifier(spec.soft_delete_column):  # whatever the deletePolicy
        raise ValidationError("softDeleteColumn: must be a plain SQL identifier: a letter or _, then letters, digits "
                              "or _, at most 63; or null", field="softDeleteColumn")


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "params":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


READ_ONLY_FIELDS = frozenset({"id", "lastSyncAt", "lastStatus", "lastRunId", "watermark", "createdAt", "updatedAt",
                              "runningRunId", "nextRunAt", "activatedAt", "pausedReason",
                              "lastNotification"})


def merge_patch(current: IntegrationSpec, patch: Any) -> IntegrationSpec:
    """Apply a JSON merge-style patch (objects merge, lists and scalars replace) and re-validate the whole.

    The read-only fields the API answers with (id, lastSyncAt, connection.hasPassword, ...) are ignored, so what
    GET returned can be sent back with a change.
    """
    if not isinstance(patch, dict) or not patch:
        raise ValidationError("the body must be a non-empty JSON object with the fields to change")
    patch = {k: v for k, v in patch.items() if k not in READ_ONLY_FIELDS}
    if isinstance(patch.get("connection"), dict):
        patch["connection"] = {k: v for k, v in patch["connection"].items() if k != "hasPassword"}
    if "connector" in patch and patch["connector"] != current.connector and "connection" not in patch:
        raise ValidationError("changing connector needs a whole new connection object", field="connection")
    if "notifications" in patch:
        patch["notifications"] = keep_stored_urls(current.notifications, patch["notifications"])
    return parse_spec(_deep_merge(current.storable_dict(), patch))
