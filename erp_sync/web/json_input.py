"""Decoding a request body as JSON, within limits every route shares.

Python's `json` recurses once per nesting level, so `[` x 100,000 raises RecursionError deep inside the decoder;
and it turns `1e400` into infinity and accepts `NaN`/`Infinity`, which are not JSON. Here a body nested deeper
than `MAX_DEPTH` levels (no integration needs more than 5) or holding a number no double can carry is refused
with VALIDATION_ERROR, and the JSON extensions with MALFORMED_JSON, before any handler sees the value.
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


def _depth_within_limit(value: Any) -> bool:
    """Whether `value` nests at most MAX_DEPTH containers, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
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
        value = json.loads(raw, parse_float=_finite, parse_constant=_not_json)
    except RecursionError:
        raise _too_deep() from None
    except _NumberOutOfRange as exc:
        raise ErpSyncError(f"the body holds the number {exc.text[:40]}, which is out of range for JSON numbers "
                           "(at most about 1.8e308); send a number the field's limits allow",
                           code="VALIDATION_ERROR") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ErpSyncError(f"the body is not valid JSON: {exc}", code="MALFORMED_JSON") from None
    if isinstance(value, dict | list) and not _depth_within_limit(value):
        raise _too_deep()
    return value
