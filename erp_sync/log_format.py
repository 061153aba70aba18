"""How log lines look: text (one line per event, `key=value` fields) or JSON (one object a line, same fields).

Lines about scheduling (slots firing, catch-up, the schedule poll, the daily cleanup) carry the tag `[CRON]` and
lines about runs (pages, the `sync.completed` event, deletes, pushes, notifications) `[SYNC]`: a text line
starts with its tag, a JSON line has it as `"tag"`, so operators used to grepping for them still can. The tag
follows from the logger's name, so no log call has to spell it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_TAGS = (
    ("CRON", ("erp_sync.scheduling", "erp_sync.services.startup", "erp_sync.services.retention",
              "erp_sync.bootstrap", "apscheduler")),
    ("SYNC", ("erp_sync.services.sync", "erp_sync.services.load", "erp_sync.services.deletes",
              "erp_sync.services.two_way", "erp_sync.services.dispatch", "erp_sync.services.seen_keys",
              "erp_sync.connectors.read_ahead", "erp_sync.services.notifications", "erp_sync.services.retries",
              "erp_sync.services.run_hooks", "erp_sync.connectors")),
)


def tag_of(logger_name: str) -> str | None:
    """CRON, SYNC or None for a logger's name."""
    for tag, prefixes in _TAGS:
        if any(logger_name == prefix or logger_name.startswith(prefix + ".") for prefix in prefixes):
            return tag
    return None


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class TextFormatter(logging.Formatter):
    """`[TAG] time level logger message key=value ...` (the `extra` fields as JSON values)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in extras.items())
        tag = tag_of(record.name)
        return f"[{tag}] {line}" if tag else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, tag, message, the `extra` fields, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "tag": tag_of(record.name),
            "message": record.getMessage(), **_extras(record)}
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for ERP_SYNC_LOG_FORMAT (`text` or `json`)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()
