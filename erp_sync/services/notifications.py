"""Notifications: announcing run events to webhooks and Slack, in the background, never blocking or failing a run.

Events: `failed` (a run failed), `recovered` (a run succeeded after a failed one), `alert` (an alert of the
monitoring API appeared for the integration), `paused` (erp-sync deactivated it after consecutive failures). Each
integration's `notifications` say which targets get which events; `ERP_SYNC_WEBHOOK_URL` gets every event of
every integration. A generic webhook receives JSON with the `sync.completed` fields plus `event` and
`integration_name`; a Slack target receives an incoming-webhook message. Each delivery has a timeout and is retried
(tenacity) a few times; the last delivery's outcome is stored and shown in the integration's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from tenacity import RetryError, Retrying, stop_after_attempt, wait_exponential

from erp_sync.clock import Clock
from erp_sync.db import run_events
from erp_sync.domain.notifications import redact_url

log = logging.getLogger(__name__)

Post = Callable[[str, dict[str, Any]], None]  # raises when the target does not accept the delivery
ATTEMPTS = 3


@dataclass(frozen=True)
class Target:
    type: str  # "webhook" or "slack"
    url: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    name: str  # failed, recovered, alert, paused
    integration_id: int
    integration_name: str
    fields: dict[str, Any] = field(default_factory=dict)  # the sync.completed fields, an alert, a reason


def slack_text(event: Event) -> str:
    who = f"integration {event.integration_id} ({event.integration_name})"
    facts = event.fields
    if event.name == "failed":
        return (f":x: erp-sync: {who}, run {facts.get('run_id')} failed: {facts.get('error_code')} "
                f"{facts.get('error_message') or ''}").strip()
    if event.name == "recovered":
        return f":white_check_mark: erp-sync: {who} recovered: run {facts.get('run_id')} {facts.get('status')}"
    if event.name == "paused":
        return f":double_vertical_bar: erp-sync: {who} was paused: {facts.get('reason')}"
    alert = facts.get("alert", {})
    return f":warning: erp-sync: {alert.get('code')} ({alert.get('severity')}): {alert.get('message')}"


def body_for(target: Target, event: Event) -> dict[str, Any]:
    if target.type == "slack":
        return {"text": slack_text(event)}
    return {"event": event.name, "integration_id": event.integration_id, "integration_name": event.integration_name,
            **event.fields}


class Notifier:
    def __init__(self, engine: Engine, clock: Clock, post: Post, global_url: str | None,
                 wait_seconds: float = 0.5, workers: int = 2) -> None:
        self._engine = engine
        self._clock = clock
        self._post = post
        self._global = Target("webhook", global_url, ()) if global_url else None
        self._wait = wait_seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="erp-sync-notify")

    def send(self, event: Event, targets: list[Target]) -> None:
        """Queue the event for every target that wants it (and the global webhook); returns at once."""
        chosen = [t for t in targets if event.name in t.events] + ([self._global] if self._global else [])
        for target in chosen:
            self._pool.submit(self._deliver, target, event)

    def _deliver(self, target: Target, event: Event) -> None:
        attempts, error = 0, None
        retrying = Retrying(stop=stop_after_attempt(ATTEMPTS), reraise=False,
                            wait=wait_exponential(multiplier=self._wait, max=10 * self._wait))
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    self._post(target.url, body_for(target, event))
        except RetryError as exc:
            error = str(exc.last_attempt.exception())
        except Exception as exc:  # a delivery must never take the worker down
            error = f"{type(exc).__name__}: {exc}"
        context = {"integration_id": event.integration_id, "event": event.name, "attempts": attempts}
        if error:
            log.warning("notification to %s failed after %s attempts: %s", redact_url(target.url), attempts, error,
                        extra=context)
        else:
            log.info("notification delivered to %s", redact_url(target.url), extra=context)
        run_events.save_state(self._engine, event.integration_id, event=event.name, target=redact_url(target.url),
                              ok=error is None, attempts=attempts, error=error, delivered_at=self._clock.now())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
