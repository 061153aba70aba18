"""How the console writes times, durations, counts and outcomes; registered as Jinja filters by the blueprint.

Times are stored in UTC. A page shows them in the integration's own zone (that is the zone its schedule runs in),
and `<time datetime=...>` carries the instant so the page's script can add the viewer's local time beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

_LABELS = {"succeeded": "succeeded", "succeeded_with_errors": "succeeded with errors", "failed": "failed",
           "running": "running", "claimed": "starting", "skipped": "skipped", "abandoned": "abandoned"}
_CLASSES = {"succeeded": "ok", "succeeded_with_errors": "warn", "failed": "bad", "abandoned": "bad",
            "running": "run", "claimed": "run", "skipped": "idle"}


def status_label(status: str | None) -> str:
    return _LABELS.get(status or "", status or "never run")


def outcome_class(status: str | None) -> str:
    """The colour class of a run's outcome: ok, warn, bad, run or idle."""
    return _CLASSES.get(status or "", "idle")


def duration(ms: int | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def when(moment: datetime | None, timezone: str = "UTC") -> str:
    """'Sat 5 Dec 2026, 04:45' in `timezone`."""
    if moment is None:
        return "–"
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def moment(value: datetime | None, timezone: str = "UTC") -> Markup:
    """A `<time>` element: the time in `timezone`, named, with the instant for the viewer's local time."""
    if value is None:
        return Markup("–")
    instant = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = f"{when(value, timezone)} ({timezone})"
    return Markup('<time datetime="{}" data-local>{}</time>').format(instant, text)


def ago(value: datetime | None, now: datetime) -> str:
    """'3 min ago', 'in 2 h': how far `value` is from `now`."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    size = abs(seconds)
    if size < 60:
        text = f"{int(size)} s"
    elif size < 3600:
        text = f"{int(size // 60)} min"
    elif size < 86400 * 2:
        text = f"{int(size // 3600)} h"
    else:
        text = f"{int(size // 86400)} days"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def number(value: int | float | None) -> str:
    return "–" if value is None else f"{value:,}"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"
