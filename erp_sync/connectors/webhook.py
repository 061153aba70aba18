"""Posting a JSON body to a webhook (generic or Slack's incoming webhook): one attempt, with a timeout.

The caller (erp_sync.services.notifications) retries; a failure names the URL without its path or user info,
since webhook URLs carry secrets.
"""

from __future__ import annotations

from typing import Any

import httpx

from erp_sync.domain.notifications import redact_url

TIMEOUT_SECONDS = 5.0


class WebhookError(Exception):
    """The webhook did not accept the delivery."""


def post_json(url: str, body: dict[str, Any]) -> None:
    """POST `body` as JSON; raises WebhookError unless the answer is 2xx."""
    try:
        response = httpx.post(url, json=body, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise WebhookError(f"{redact_url(url)} could not be reached: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise WebhookError(f"{redact_url(url)} answered HTTP {response.status_code}")
