"""The HTTP contract stays true: api/openapi.yaml and api/errors.md against the Flask routes and the error codes,
and api/console.yaml against the console's routes.

Fast and database-free: the route checks build the real app (`bootstrap.build` + `create_app`) over a SQLite file
that is never opened; everything else reads files. Each assertion message says what is missing and where, so a
failure tells the author which file to change.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from openapi_spec_validator import validate

from erp_sync.errors import CODES
from erp_sync.web.errors import STATUS

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = ROOT / "api" / "openapi.yaml"
CONSOLE_SPEC_FILE = ROOT / "api" / "console.yaml"
ERRORS_FILE = ROOT / "api" / "errors.md"
PACKAGE = ROOT / "erp_sync"

OPERATION_KEYS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})  # Flask adds these to every rule by itself
FLASK_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^:<>]+)>")  # <int:integration_id> -> integration_id
ERRORS_ROW = re.compile(r"^\|\s*`([A-Za-z0-9_]+)`\s*\|\s*(\d{3})\s*\|", re.MULTILINE)

# Where the source names an error code (see `codes_in_source`).
CODE_KEYWORDS = frozenset({"code", "error_code"})
CODE_ATTRIBUTES = frozenset({"code", "error_code"})
CODE_FIRST_ARGUMENT = frozenset({"failure", "_FieldProblem"})


# -- what the files say ------------------------------------------------------------------------------------------

@cache
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{SPEC_FILE.relative_to(ROOT)} is not a YAML mapping"
    return loaded


def spec_routes() -> dict[str, set[str]]:
    """Path -> HTTP methods, as api/openapi.yaml documents them."""
    return {path: {key.upper() for key in item if key in OPERATION_KEYS} for path, item in spec()["paths"].items()}


def operations() -> Iterator[tuple[str, dict[str, Any]]]:
    """("METHOD /path", operation) for every operation in the spec."""
    for path, item in spec()["paths"].items():
        for key in OPERATION_KEYS:
            if key in item:
                yield f"{key.upper()} {path}", item[key]


def documented_rows() -> list[tuple[str, int]]:
    """(code, HTTP status) of every table row of api/errors.md, in order."""
    return [(code, int(status)) for code, status in ERRORS_ROW.findall(ERRORS_FILE.read_text(encoding="utf-8"))]


def flask_routes(app: Flask) -> dict[str, set[str]]:
    """Path (OpenAPI spelling) -> HTTP methods of every url rule except static files and the console's HTML pages
    (`erp_sync/web/console`, which are no part of the JSON API)."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("console."):
            continue
        routes.setdefault(_openapi_path(rule.rule), set()).update(set(rule.methods or ()) - IMPLICIT_METHODS)
    return routes


def _openapi_path(rule: str) -> str:
    return FLASK_PARAMETER.sub(r"{\1}", rule)


# -- what the source raises --------------------------------------------------------------------------------------

def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _names_a_code(node: ast.AST) -> bool:
    """`code`, `error_code`, `exc.code`, `outcome.error_code`: something holding an error code."""
    if isinstance(node, ast.Name):
        return node.id in CODE_ATTRIBUTES
    return isinstance(node, ast.Attribute) and node.attr in CODE_ATTRIBUTES


def codes_in_module(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """(code, line) for every string the module uses as an error code.

    Recognised: `code="X"` / `error_code="X"` keyword arguments; `code = "X"` class attributes (annotated or not);
    the first argument of `failure("X", ...)` and `_FieldProblem("X", ...)`; `{"code": "X"}` dict entries; and
    comparisons such as `exc.code == "X"` or `exc.code in ("X", "Y")`.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in CODE_KEYWORDS and (code := _text(keyword.value)) is not None:
                    yield code, keyword.value.lineno
            if _callee(node) in CODE_FIRST_ARGUMENT and node.args and (code := _text(node.args[0])) is not None:
                yield code, node.lineno
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    targets, value = statement.targets, statement.value
                elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                    targets, value = [statement.target], statement.value
                else:
                    continue
                if any(isinstance(t, ast.Name) and t.id == "code" for t in targets) and (code := _text(value)):
                    yield code, statement.lineno
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _text(key) == "code" and (code := _text(value)) is not None:
                    yield code, value.lineno
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Eq | ast.NotEq | ast.In | ast.NotIn):
            sides = [node.left, *node.comparators]
            if any(_names_a_code(side) for side in sides):
                for side in sides:
                    values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                    for value in values:
                        if (code := _text(value)) is not None:
                            yield code, value.lineno


def codes_in_source() -> dict[str, list[str]]:
    """Code -> ["erp_sync/path.py:line", ...] for every error code named anywhere in the package."""
    found: dict[str, list[str]] = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for code, line in codes_in_module(tree):
            found.setdefault(code, []).append(f"{file.relative_to(ROOT)}:{line}")
    return found


# -- the app -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    # Imported here so that an import error in the app fails the route tests only, not the file checks.
    import app_fixtures

    from erp_sync.bootstrap import build
    from erp_sync.web.app import create_app

    folder = tmp_path_factory.mktemp("contract")
    settings = app_fixtures.make_settings(f"sqlite:///{folder / 'app.sqlite3'}", folder / "instance")
    erp = build(settings, with_scheduler=False)
    try:
        yield create_app(erp)
    finally:
        erp.close()


# -- (a) the spec is valid ---------------------------------------------------------------------------------------

def test_the_spec_is_valid_openapi_3_1() -> None:
    assert str(spec().get("openapi", "")).startswith("3.1"), "api/openapi.yaml must declare openapi: 3.1.x"
    validate(spec())


def test_the_spec_serves_on_the_default_address_with_both_kinds_of_credentials() -> None:
    assert [server["url"] for server in spec()["servers"]] == ["http://127.0.0.1:8000"]
    schemes = spec()["components"]["securitySchemes"]
    assert schemes["adminToken"] == {**schemes["adminToken"], "type": "http", "scheme": "bearer"}
    assert schemes["cronSecret"] == {**schemes["cronSecret"], "type": "apiKey", "in": "header",
                                     "name": "X-Cron-Secret"}


# -- (b) routes and paths match ----------------------------------------------------------------------------------

def test_every_flask_route_is_in_the_spec_with_the_same_methods(app: Flask) -> None:
    documented = spec_routes()
    problems = []
    for path, methods in sorted(flask_routes(app).items()):
        if path not in documented:
            problems.append(f"{path} ({', '.join(sorted(methods))}) is served by Flask but missing from "
                            f"api/openapi.yaml paths")
            continue
        if missing := methods - documented[path]:
            problems.append(f"{path}: Flask serves {', '.join(sorted(missing))} but api/openapi.yaml does not "
                            "document it")
        if extra := documented[path] - methods:
            problems.append(f"{path}: api/openapi.yaml documents {', '.join(sorted(extra))} but Flask does not "
                            "serve it")
    assert not problems, "\n".join(problems)


def test_the_console_spec_describes_exactly_the_console_routes(app: Flask) -> None:
    """api/console.yaml, which tests/web/test_schemathesis_console.py fuzzes, names every console page and form."""
    console = yaml.safe_load(CONSOLE_SPEC_FILE.read_text(encoding="utf-8"))
    validate(console)
    documented = {f"{key.upper()} {path}" for path, item in console["paths"].items() for key in item
                  if key in OPERATION_KEYS}
    served = {f"{method} {_openapi_path(rule.rule)}" for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("console.") for method in set(rule.methods or ()) - IMPLICIT_METHODS}
    assert not served - documented, f"console routes missing from api/console.yaml: {sorted(served - documented)}"
    assert not documented - served, f"api/console.yaml names routes Flask does not serve: {sorted(documented - served)}"


def test_every_spec_path_is_served_by_flask(app: Flask) -> None:
    served = flask_routes(app)
    stale = [f"{path} is in api/openapi.yaml but no Flask url rule serves it" for path in spec_routes()
             if path not in served]
    assert not stale, "\n".join(stale)


# -- (c) every code is documented and mapped ---------------------------------------------------------------------

def test_every_code_is_documented_in_errors_md() -> None:
    documented = {code for code, _ in documented_rows()}
    missing = sorted(CODES - documented)
    assert not missing, f"codes in erp_sync.errors.CODES without a row in api/errors.md: {', '.join(missing)}"


def test_errors_md_lists_no_unknown_code_and_each_code_once() -> None:
    rows = [code for code, _ in documented_rows()]
    unknown = sorted(set(rows) - CODES)
    twice = sorted({code for code in rows if rows.count(code) > 1})
    assert not unknown, f"api/errors.md documents codes that erp_sync.errors.CODES lacks: {', '.join(unknown)}"
    assert not twice, f"api/errors.md has more than one row for: {', '.join(twice)}"


def test_every_code_has_an_http_status_and_no_status_names_an_unknown_code() -> None:
    unmapped = sorted(CODES - STATUS.keys())
    unknown = sorted(STATUS.keys() - CODES)
    assert not unmapped, f"codes in erp_sync.errors.CODES missing from erp_sync.web.errors.STATUS: {unmapped}"
    assert not unknown, f"erp_sync.web.errors.STATUS maps codes that erp_sync.errors.CODES lacks: {unknown}"


def test_errors_md_gives_each_code_the_status_the_server_answers() -> None:
    wrong = [f"{code}: api/errors.md says {status}, erp_sync.web.errors.STATUS says {STATUS[code]}"
             for code, status in documented_rows() if code in STATUS and STATUS[code] != status]
    assert not wrong, "\n".join(wrong)


# -- (d) no undocumented code ships ------------------------------------------------------------------------------

def test_the_source_scan_finds_codes_in_every_form_it_recognises() -> None:
    sample = ast.parse(
        'class E(Base):\n    code = "A"\n'
        'class F(Base):\n    code: str = "B"\n'
        'raise E("m", code="C")\n'
        'failure("D", "m", 400)\n'
        'row = {"code": "E"}\n'
        'if exc.code != "F" or outcome.error_code in ("G", "H"):\n    pass\n'
        'update(error_code="I")\n'
        '_FieldProblem("J", "field", "m")\n'
        'ignored = ("K", f(name="L"), failure(code_variable))\n')
    assert sorted(code for code, _ in codes_in_module(sample)) == list("ABCDEFGHIJ")


def test_every_code_raised_in_the_source_is_in_codes() -> None:
    found = codes_in_source()
    assert {"VALIDATION_ERROR", "SYNC_IN_PROGRESS", "ERP_BAD_CREDENTIALS"} <= found.keys(), \
        "the source scan found none of the codes it must find; is PACKAGE pointing at erp_sync/?"
    unknown = [f"{code} (at {', '.join(places)})" for code, places in sorted(found.items()) if code not in CODES]
    assert not unknown, ("codes used in erp_sync/ but missing from erp_sync.errors.CODES (add them there, to "
                         "erp_sync.web.errors.STATUS and to api/errors.md):\n" + "\n".join(unknown))


# -- (e) the spec names only known codes, where a client can find them --------------------------------------------

def test_every_operation_lists_its_error_codes_and_they_exist() -> None:
    problems = []
    for name, operation in operations():
        listed = operation.get("x-error-codes")
        if not isinstance(listed, list) or not listed:
            problems.append(f"{name} has no x-error-codes list in api/openapi.yaml")
            continue
        if unknown := sorted(set(listed) - CODES):
            problems.append(f"{name} x-error-codes names codes erp_sync.errors.CODES lacks: {', '.join(unknown)}")
    assert not problems, "\n".join(problems)


def test_every_listed_error_code_has_a_response_with_its_status_and_is_described() -> None:
    problems = []
    for name, operation in operations():
        responses = {str(status) for status in operation.get("responses", {})}
        description = operation.get("description", "")
        for code in operation.get("x-error-codes") or []:
            status = STATUS.get(code)
            if status is not None and str(status) not in responses:
                problems.append(f"{name} lists {code} but declares no {status} response")
            if f"`{code}`" not in description:
                problems.append(f"{name} lists {code} in x-error-codes but its description does not name it")
    assert not problems, "\n".join(problems)


def test_the_error_schema_enumerates_exactly_the_known_codes() -> None:
    enum = set(spec()["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    assert not (CODES - enum), f"Error.code enum in api/openapi.yaml lacks: {', '.join(sorted(CODES - enum))}"
    assert not (enum - CODES), f"Error.code enum in api/openapi.yaml has unknown: {', '.join(sorted(enum - CODES))}"


# -- (f) the spec's schemas say what the server enforces -----------------------------------------------------------

LIMITS = ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "enum", "const")


def _domain_models() -> dict[str, type[Any]]:
    """Spec schema name -> the pydantic model the server validates that part of a request with."""
    from erp_sync.domain import integration

    return {"IntegrationInput": integration.IntegrationSpec, "SoftOneConnection": integration.SoftOneConnection,
            "SoapConnection": integration.SoapConnection, "Source": integration.SourceSpec,
            "Target": integration.TargetSpec, "Mapping": integration.MappingSpec,
            "Schedule": integration.ScheduleSpec, "Options": integration.OptionsSpec}


def _limits(schema: dict[str, Any]) -> dict[str, Any]:
    """The limits a property schema states, the non-null branch of a union included (pydantic's `X | None`)."""
    found = {key: schema[key] for key in LIMITS if key in schema}
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            found.update(_limits(branch))
    return found


def test_every_field_the_domain_models_accept_is_in_the_spec_and_nothing_more() -> None:
    schemas = spec()["components"]["schemas"]
    problems = []
    for name, model in _domain_models().items():
        accepted = set(model.model_json_schema(by_alias=True)["properties"])
        documented = {prop for prop, body in schemas[name]["properties"].items() if not body.get("readOnly")}
        problems += [f"{name}.{prop} is accepted by {model.__name__} but missing from api/openapi.yaml"
                     for prop in sorted(accepted - documented)]
        problems += [f"{name}.{prop} is in api/openapi.yaml but {model.__name__} refuses it"
                     for prop in sorted(documented - accepted)]
    assert not problems, "\n".join(problems)


def test_the_spec_states_the_length_range_and_enum_limits_the_domain_models_enforce() -> None:
    schemas = spec()["components"]["schemas"]
    problems = []
    for name, model in _domain_models().items():
        for prop, served in model.model_json_schema(by_alias=True)["properties"].items():
            documented = schemas[name]["properties"].get(prop, {})
            if "$ref" in served or "$ref" in documented or "items" in served:
                continue  # a nested model: compared as its own schema
            if (want := _limits(served)) != (have := _limits(documented)):
                problems.append(f"{name}.{prop}: {model.__name__} enforces {want}, api/openapi.yaml says {have}")
    assert not problems, "\n".join(problems)


def test_the_spec_patterns_are_the_ones_the_server_checks() -> None:
    from erp_sync.domain.integration import ERP_FIELD
    from erp_sync.domain.target_names import SQL_IDENTIFIER as IDENTIFIER

    schemas = spec()["components"]["schemas"]
    identifier, optional_identifier = IDENTIFIER.pattern, f"^({IDENTIFIER.pattern[1:-1]})?$"
    expected = {("Mapping", "source"): ERP_FIELD.pattern, ("Mapping", "target"): identifier,
                ("Target", "table"): identifier, ("Target", "schema"): optional_identifier,
                ("IntegrationInput", "softDeleteColumn"): optional_identifier,
                ("Options", "modifiedColumn"): optional_identifier}
    wrong = [f"{name}.{prop}: api/openapi.yaml has pattern {schemas[name]['properties'][prop].get('pattern')!r}, "
             f"the server checks {pattern!r}" for (name, prop), pattern in expected.items()
             if schemas[name]["properties"][prop].get("pattern") != pattern]
    assert not wrong, "\n".join(wrong)


def test_every_id_the_spec_takes_has_the_range_the_server_accepts() -> None:
    from erp_sync.web.ids import MAX_ID

    parameters = spec()["components"]["parameters"]
    cron = {p.get("name"): p for p in spec()["paths"]["/api/cron/sync-integration"]["parameters"]}
    body = spec()["components"]["schemas"]["CronSyncRequest"]["properties"]["integrationId"]
    numbers = {"IntegrationId": parameters["IntegrationId"]["schema"], "RunId": parameters["RunId"]["schema"],
               "?integrationId": cron["integrationId"]["schema"], "body integrationId": body["oneOf"][0]}
    wrong = [f"{name}: api/openapi.yaml says {schema}" for name, schema in numbers.items()
             if (schema.get("type"), schema.get("minimum"), schema.get("maximum")) != ("integer", 1, MAX_ID)]
    if body["oneOf"][1].get("pattern") != "^[0-9]+$":
        wrong.append(f"body integrationId as text: api/openapi.yaml says {body['oneOf'][1]}")
    assert not wrong, "\n".join(wrong)
