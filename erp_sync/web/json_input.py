"""Decoding a request body as JSON, within limits every route shares.

Python's `json` recurses once per nesting level, so `[` x 100,000 raises RecursionError deep inside the decoder;
and it turns `1e400` into infinity and accepts `NaN`/`Infinity`, which are not JSON. Here a body nested deeper
than `MAX_DEPTH` levels (no integration needs more than 5) or holding a number no double can carry is refused
with VALIDATION_ERROR, and the JSON extensions with MALFORMED_JSON, before any handler sees the value.
A member named twice in one object (`{"a": 1, "a": 2}`) is refused with VALIDATION_ERROR rather than letting the
last one win silently, and so is text no database column can hold: a NUL character (PostgreSQL's text types refuse
it) or half of a UTF-16 surrogate pair (not encodable as UTF-8).
"""

from __future__ import annotations

import json
import math
from typing import Any

from erp_sync.errors import ErpSyncError

MAX_DEPTH = 64


class _NumberOutOfRange(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberOutOfRange(text)
    return value


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON; send numbers as digits")


def _too_deep() -> ErpSyncError:
    return ErpSyncError(f"the body is nested more than {MAX_DEPTH} levels deep (arrays and objects inside each "
                        "other); send the flat shape api/openapi.yaml describes", code="VALIDATION_ERROR")


class _DuplicateMember(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateMember(name)
        result[name] = value
    return result


def _storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable_text() -> ErpSyncError:
    return ErpSyncError("the body holds text with a NUL character (\\u0000) or a lone UTF-16 surrogate, which no "
                        "database column can store; remove it and send again", code="VALIDATION_ERROR")


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*node, *(v for v in node.values() if isinstance(v, str))]
    return [v for v in node if isinstance(v, str)]


def _depth_within_limit(value: Any) -> bool:
    """Whether `value` nests at most MAX_DEPTH containers, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not all(_storable_text(t) for t in _texts(node)):
            raise _unstorable_text()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    return False
                stack.append((child, depth + 1))
    return True


def decode(raw: bytes) -> Any:
    """The JSON value of a request body, or an ErpSyncError (MALFORMED_JSON or VALIDATION_ERROR) saying why not."""
    try:
        value = json.loads(raw, parse_float=_finite, parse_constant=_not_json,
                           object_pairs_hook=_object_without_duplicates)
    except RecursionError:
        raise _too_deep() from None
    except _NumberOutOfRange as exc:
        raise ErpSyncError(f"the body holds the number {exc.text[:40]}, which is out of range for JSON numbers "
                           "(at most about 1.8e308); send a number the field's limits allow",
                           code="VALIDATION_ERROR") from None
    except _DuplicateMember as exc:
        raise ErpSyncError(f"the body names the member {exc.name[:60]!r} twice in one object; send each member once",
                           code="VALIDATION_ERROR") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ErpSyncError(f"the body is not valid JSON: {exc}", code="MALFORMED_JSON") from None
    if isinstance(value, str) and not _storable_text(value):
        raise _unstorable_text()
    if isinstance(value, dict | list) and not _depth_within_limit(value):
        raise _too_deep()
    return value
