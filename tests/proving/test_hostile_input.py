"""Hostile input on every route and field: each is a 4xx with a code api/errors.md lists, and nothing is half-saved.

The cases are generalised from the ones that once answered 500: identifiers carrying quotes, semicolons, unicode
and NUL; targets naming erp-sync's own tables or the database's catalog; huge, deeply nested and duplicate-keyed
JSON; wrong types in every field; baseUrl and wsdlUrl with schemes other than HTTP(S); crons and zones that do not
exist; query parameters out of range. After every refusal the integrations table is byte-for-byte what it was.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import CRON_SECRET, admin, customer_integration
from flask.testing import FlaskClient
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.web.app import create_app

ERRORS_MD = Path(__file__).resolve().parents[2] / "api" / "errors.md"
DOCUMENTED = frozenset(re.findall(r"^\| `([A-Z_]+)` \| \d{3} \|", ERRORS_MD.read_text(), flags=re.MULTILINE))
JSON = {"Content-Type": "application/json"}
CRON = {"X-Cron-Secret": CRON_SECRET}
SQL_TEXT = 'x"; DROP TABLE customers; --'
HOSTILE_NAMES = [SQL_TEXT, "x'; DELETE FROM erp_sync_integrations; --", "κωδικός", "nul\x00byte", "a" * 10_000,
                 "🙂", "\u202ecustomers"]
OWN_AND_SYSTEM_TABLES = ["erp_sync_integrations", "ERP_SYNC_RUNS", '"erp_sync_bindings"', "alembic_version",
                         "sqlite_master", "pg_class", "pg_catalog.pg_user"]
BAD_URLS = ["file:///etc/passwd", "FILE:///etc/shadow", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/",
            "javascript:alert(1)", "data:text/plain,hi", "//127.0.0.1/s1services", "http://", "", "http://a b/"]
BAD_CRONS = ["* * *", "61 * * * *", "0 0 31 2 *", "H * * * *", "0 0 ? * *", "@fortnightly", "*/0 * * * *",
             "* * * * * * *", "0;DROP * * * *", "\x00 * * * *"]
BAD_ZONES = ["EST", "Mars/Olympus", "../../etc/passwd", "Europe/Athens\x00", "europe/athens", "", "UTC+2"]


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`body` with the dotted `path` (list indexes as digits) set to `value`."""
    node: Any = body
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return body


def hostile_bodies() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    for name in HOSTILE_NAMES:
        for field in ("target.table", "target.schema", "mappings.1.target", "keys.0"):
            cases.append((f"{field}={name[:20]!r}", (field, name)))
        if "\x00" in name or len(name) > 200:
            cases.append((f"name={name[:20]!r}", ("name", name)))
    cases += [(f"target.table={t}", ("target.table", t)) for t in OWN_AND_SYSTEM_TABLES]
    cases += [(f"target.schema={s}", ("target.schema", s)) for s in ("pg_catalog", "information_schema", "temp",
                                                                       "PG_TOAST")]
    cases += [(f"baseUrl={u}", ("connection.baseUrl", u)) for u in BAD_URLS]
    cases += [(f"cron={c!r}", ("schedule.cronExpression", c)) for c in BAD_CRONS]
    cases += [(f"zone={z!r}", ("schedule.timezone", z)) for z in BAD_ZONES]
    cases += [(f"serverTimezone={z!r}", ("connection.serverTimezone", z)) for z in BAD_ZONES[:4]]
    return cases


WRONG_TYPES = [("name", 5), ("name", None), ("name", ["a"]), ("connector", "oracle"), ("connector", 1),
               ("connection", None), ("connection", "http://x"), ("source", []), ("source.pageSize", "100"),
               ("source.pageSize", -1), ("source.pageSize", 10**12), ("source.pageSize", 1.5),
               ("source.pageSize", True), ("target", "customers"), ("target.table", 7), ("mappings", "x"),
               ("mappings", []), ("mappings.0", "CUSTOMER.TRDR"), ("mappings.0.type", "money"), ("keys", {}),
               ("keys", []), ("keys.0", 0), ("schedule", []), ("schedule.cronExpression", 5),
               ("isActive", "yes"), ("isActive", 1), ("id", 99), ("hasPassword", True), ("extra", 1),
               ("connection.password", 12345), ("connection.baseUrl", ["http://x"])]


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()


@pytest.fixture
def integration(client: FlaskClient) -> int:
    created = client.post("/api/integrations", json=customer_integration(), headers=admin())
    assert created.status_code == 201, created.get_json()
    return int(created.get_json()["data"]["id"])


def integrations_table(erp: ErpSync) -> list[tuple[Any, ...]]:
    with erp.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT * FROM erp_sync_integrations ORDER BY id"))]


def refusal_problem(response: Any, *codes: str) -> str | None:
    """Why `response` is not a proper refusal (a 4xx with a documented code, one of `codes` if given), or None."""
    try:
        assert_refused(response, *codes)
    except AssertionError as exc:
        return str(exc)[:300]
    return None


def assert_refused(response: Any, *codes: str) -> str:
    body = response.get_json()
    assert 400 <= response.status_code < 500, (response.status_code, body)
    assert body is not None and body["success"] is False, body
    code = body["error"]["code"]
    assert code in DOCUMENTED, f"{code} is not in api/errors.md"
    assert not codes or code in codes, (code, body["error"])
    return str(code)


def test_hostile_text_in_any_local_identifier_or_setting_is_refused_on_create_and_patch_and_nothing_is_saved(
        erp: ErpSync, client: FlaskClient, integration: int) -> None:
    before, problems = integrations_table(erp), []
    for case, (field, value) in hostile_bodies():
        created = client.post("/api/integrations", json=_set(customer_integration(name="other"), field, value),
                              headers=admin())
        patch = customer_integration()
        patch = {top: patch[top] for top in {field.split(".")[0], "mappings", "keys"}}
        changed = client.patch(f"/api/integrations/{integration}", json=_set(patch, field, value), headers=admin())
        problems += [f"{verb} {case}: {p}" for verb, p in (("create", refusal_problem(created)),
                                                             ("patch", refusal_problem(changed))) if p]
    assert problems == []
    assert integrations_table(erp) == before


ERP_SIDE_FIELDS = ["source.cursorField", "mappings.1.source", "connection.company", "source.filters", "name"]


def test_hostile_text_in_a_field_sent_only_to_the_erp_is_refused_or_kept_verbatim_never_half_saved(
        erp: ErpSync, client: FlaskClient) -> None:
    """ERP field names, filters and the integration's name never reach SQL as text: they are stored as data."""
    problems, expected_rows = [], len(integrations_table(erp))
    for field in ERP_SIDE_FIELDS:
        for value in HOSTILE_NAMES:
            body = _set(customer_integration(name=f"n{expected_rows}"), field, value)
            created = client.post("/api/integrations", json=body, headers=admin())
            if created.status_code != 201:
                problems += [f"{field}={value[:20]!r}: {p}" for p in [refusal_problem(created)] if p]
                continue
            expected_rows += 1
            new_id = created.get_json()["data"]["id"]
            stored = client.get(f"/api/integrations/{new_id}", headers=admin()).get_json()["data"]
            if _get(stored, field) != value:
                problems.append(f"{field}={value[:20]!r} was stored as {_get(stored, field)[:20]!r}")
    assert problems == []
    assert len(integrations_table(erp)) == expected_rows


def _get(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body[int(part)] if part.isdigit() else body[part]
    return body


def test_a_wrong_type_in_any_field_is_a_validation_error_and_nothing_is_saved(
        erp: ErpSync, client: FlaskClient, integration: int) -> None:
    before, problems = integrations_table(erp), []
    for field, value in WRONG_TYPES:
        body = _set(customer_integration(name="other"), field, value)
        response = client.post("/api/integrations", json=body, headers=admin())
        problems += [f"{field}={value!r}: {p}" for p in [refusal_problem(response, "VALIDATION_ERROR",
                                                                          "INVALID_MAPPING")] if p]
    assert problems == []
    assert integrations_table(erp) == before


def test_a_soap_wsdl_url_that_is_not_http_is_refused_before_anything_is_fetched(
        erp: ErpSync, client: FlaskClient) -> None:
    before, problems = integrations_table(erp), []
    for url in BAD_URLS[:6]:
        body = customer_integration(
            name="nav", connector="soap", connection={"profile": "nav_page", "wsdlUrl": url, "username": "u",
                                                       "password": "p"},
            source={"object": "Customer"}, mappings=[{"source": "No", "target": "code"}], keys=["code"])
        tested = client.post("/api/connections/test", json={"connector": "soap", "connection": body["connection"]},
                             headers=admin())
        for route, response in (("create", client.post("/api/integrations", json=body, headers=admin())),
                                ("test", tested)):
            problems += [f"{route} {url}: {p}" for p in [refusal_problem(response, "VALIDATION_ERROR")] if p]
    assert problems == []
    assert integrations_table(erp) == before


RAW_BODIES = [
    ("duplicate-keys", '{"name":"a","name":"b"}', "VALIDATION_ERROR"),
    ("nested-duplicate-keys", '{"connection":{"password":"x","password":"y"}}', "VALIDATION_ERROR"),
    ("not-an-object", '["name"]', "VALIDATION_ERROR"),
    ("nan", '{"source":{"pageSize":NaN}}', "MALFORMED_JSON"),
    ("trailing-comma", '{"name":"a",}', "MALFORMED_JSON"),
    ("lone-surrogate", '{"name":"\\ud800"}', "VALIDATION_ERROR"),
    ("nul-escape", '{"name":"a\\u0000b"}', "VALIDATION_ERROR"),
    ("nul-in-member-name", '{"na\\u0000me":"a"}', "VALIDATION_ERROR"),
    ("huge", '{"name":"' + "a" * 2_000_000 + '"}', "PAYLOAD_TOO_LARGE"),
    ("deep", "[" * 70 + "]" * 70, "VALIDATION_ERROR"),
]
BODY_ROUTES = [("post", "/api/integrations", admin()), ("patch", "/api/integrations/{id}", admin()),
               ("post", "/api/integrations/{id}/test", admin()), ("post", "/api/connections/test", admin()),
               ("post", "/api/schedule/preview", admin()), ("post", "/api/cron/sync-integration", CRON)]


def test_a_malformed_or_ambiguous_json_body_is_refused_on_every_route_that_takes_one(
        erp: ErpSync, client: FlaskClient, integration: int) -> None:
    before, problems = integrations_table(erp), []
    for method, path, headers in BODY_ROUTES:
        for case, raw, code in RAW_BODIES:
            response = getattr(client, method)(path.format(id=integration), data=raw, headers={**headers, **JSON})
            problems += [f"{method} {path} {case}: {p}" for p in [refusal_problem(response, code)] if p]
    assert problems == []
    assert integrations_table(erp) == before


QUERIES = ["/api/integrations/{id}/runs?limit=-1", "/api/integrations/{id}/runs?limit=100000",
           "/api/integrations/{id}/runs?offset=-5", "/api/integrations/{id}/runs?limit=abc",
           "/api/integrations/{id}/runs?limit=1e3", "/api/integrations/{id}/runs?limit=%EF%BC%91",
           "/api/integrations/{id}/schedule?count=0", "/api/integrations/{id}/schedule?count=101",
           "/api/integrations/{id}/schedule?count=%00", "/api/runs/1/errors?limit=0", "/api/runs/1/errors?offset=x",
           "/api/runs/1/conflicts?limit=999999999999999999999", "/api/integrations/99999999999999999999",
           "/api/runs/-1", "/api/integrations/1%3B%20DROP%20TABLE%20customers", "/api/runs/0x10"]
PREVIEWS = ([{"cronExpression": c, "timezone": "UTC"} for c in BAD_CRONS]
            + [{"cronExpression": "* * * * *", "timezone": z} for z in BAD_ZONES]
            + [{"cronExpression": "* * * * *", "count": n} for n in (0, 101, -1, "5", 2.5, True)])
CRON_IDS = [SQL_TEXT, "1.9", True, "1_0", "１", 0, 2**31, None, [1]]


def test_query_parameters_ids_previews_and_cron_ids_out_of_range_are_4xx_with_a_documented_code(
        erp: ErpSync, client: FlaskClient, integration: int) -> None:
    before, problems = integrations_table(erp), []
    for query in QUERIES:
        response = client.get(query.format(id=integration), headers=admin())
        problems += [f"{query}: {p}" for p in [refusal_problem(response, "VALIDATION_ERROR", "NOT_FOUND")] if p]
    for body in PREVIEWS:
        response = client.post("/api/schedule/preview", json=body, headers=admin())
        problems += [f"preview {body}: {p}" for p in [refusal_problem(
            response, "INVALID_CRON", "UNKNOWN_TIMEZONE", "VALIDATION_ERROR")] if p]
    for value in CRON_IDS:
        response = client.post("/api/cron/sync-integration", json={"integrationId": value}, headers=CRON)
        problems += [f"cron id {value!r}: {p}" for p in [refusal_problem(response, "VALIDATION_ERROR",
                                                                          "NOT_FOUND")] if p]
    assert problems == []
    assert integrations_table(erp) == before
