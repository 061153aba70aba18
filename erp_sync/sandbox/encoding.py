"""Bytes on the wire: request decoding and response encoding with SoftOne's quirks.

- `cp1253_bodies`: responses are Windows-1253 with `Content-Type: application/json` and no charset; characters
  cp1253 lacks become '?', as they would in a non-Unicode SoftOne column. Off: UTF-8 with a charset.
- `raw_tabs`: TAB characters inside string values go out raw (invalid strict JSON, as some servers send them).
  Off: escaped as `\\t`. The values are the same either way.
- `gzip_some`: every `gzip_every`-th /s1services response is gzipped with no Content-Encoding header, so only a
  client that sniffs the 1f 8b magic bytes can read it.

Requests are read as UTF-8, falling back to Windows-1253, and parsed leniently (raw control characters allowed).
"""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import orjson

from .protocol import invalid

JSON_CP1253 = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"
_ESCAPED_TAB = re.compile(rb"(?<!\\)((?:\\\\)*)\\t")


class WirePayload(dict[str, Any]):
    """A response body whose strings are already in `to_wire` form (or ASCII)."""


def to_wire(text: str) -> str:
    """`text` as the Windows-1253 bytes it goes out as, one byte per code point (read as Latin-1).

    orjson can only write UTF-8; transcoding a whole page from UTF-8 to cp1253 costs more than generating it.
    Strings held in this form serialize to UTF-8 that turns into the cp1253 bytes by a cheap Latin-1 encode.
    Pool strings are converted once, so big getBrowserData pages skip the charmap codec entirely.
    """
    return text.encode("cp1253", "replace").decode("latin-1")


def encode_json(payload: dict[str, Any], *, cp1253: bool, raw_tabs: bool) -> bytes:
    """`payload` as response bytes, per the quirk switches."""
    body = orjson.dumps(payload)
    if raw_tabs and b"\\t" in body:
        body = _unescape_tabs(body)
    if isinstance(payload, WirePayload):
        wire = body.decode("utf-8").encode("latin-1")
        return wire if cp1253 else wire.decode("cp1253").encode("utf-8")
    if cp1253 and not body.isascii():
        body = body.decode("utf-8").encode("cp1253", "replace")
    return body


def _unescape_tabs(body: bytes) -> bytes:
    if b"\\\\" not in body:
        return body.replace(b"\\t", b"\t")
    # A literal backslash before 't' is escaped as '\\\\t'; only an odd run of backslashes is a TAB escape.
    return _ESCAPED_TAB.sub(lambda m: m.group(1) + b"\t", body)


def gzip_bytes(body: bytes) -> bytes:
    """Gzip fast (level 1, fixed mtime so equal bodies give equal bytes)."""
    return gzip.compress(body, compresslevel=1, mtime=0)


def decode_request(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body; a -9 ServiceError if there is none."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1253", "replace")
    if not text.strip():
        raise invalid("empty request body; send a JSON object with a 'service' key")
    try:
        body = json.loads(text, strict=False)
    except ValueError as exc:
        raise invalid(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def admin_json(payload: Any) -> bytes:
    """UTF-8 JSON for the admin surface."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
