"""Per-integration operations options: where run events are announced (webhook or Slack) and how failed scheduled
runs are retried.

Webhook URLs carry secrets (Slack's hold a token in the path), so a URL is a `SecretStr`: stored encrypted, answered
redacted to its scheme and host (`https://hooks.slack.com/***`). A PATCH that sends an answer back unchanged keeps
the stored URL, as a PATCH without a password keeps the stored password.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

Event = Literal["failed", "recovered", "alert", "paused"]
EVENTS: tuple[Event, ...] = ("failed", "recovered", "alert", "paused")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              str_strip_whitespace=True)


class NotificationSpec(_Model):
    type: Literal["webhook", "slack"]
    url: SecretStr
    events: list[Event] = Field(default_factory=lambda: list(EVENTS), min_length=1, max_length=4)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if len(text) > 2000 or not re.match(r"^https?://[^\s/]+", text):
            raise ValueError("must be an http(s) URL of at most 2000 characters, such as "
                             "https://hooks.slack.com/services/...")
        return SecretStr(text)


class RetrySpec(_Model):
    attempts: int = Field(default=0, ge=0, le=5)
    backoff_seconds: int = Field(default=60, ge=10, le=3600)


def redact_url(url: str) -> str:
    """Scheme and host only: `https://hooks.slack.com/***`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}/***"


def notifications_out(specs: list[NotificationSpec], *, reveal: bool) -> list[dict[str, Any]]:
    """The camelCase form; URLs redacted unless `reveal` (storage and re-validation only)."""
    out = []
    for spec in specs:
        url = spec.url.get_secret_value()
        out.append({"type": spec.type, "url": url if reveal else redact_url(url), "events": list(spec.events)})
    return out


def keep_stored_urls(current: list[NotificationSpec], patched: Any) -> Any:
    """A patched notification list in which a URL sent back redacted, at the same position, is the stored one."""
    if not isinstance(patched, list):
        return patched
    kept = []
    for index, item in enumerate(patched):
        if isinstance(item, dict) and index < len(current):
            stored = current[index].url.get_secret_value()
            if item.get("url") == redact_url(stored):
                item = {**item, "url": stored}
        kept.append(item)
    return kept
