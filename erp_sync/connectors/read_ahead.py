"""Reading one page ahead: while a page is mapped and written, the next one is already on its way from the ERP.

Used by connectors whose pages can only be asked for one after another (a SOAP bookmark, a SqlData page number);
the SoftOne browser, which can ask for pages by offset, keeps several requests on their way itself. The runner
adds no read-ahead of its own: the connector is the one place that decides how far ahead a read goes.

The connector's page iterator runs in a helper thread that stays at most `depth` pages ahead; its pages, its
end and its exceptions reach the caller in order, unchanged. When the caller stops early the helper stops
after the request it is in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate `items` with up to `depth` of them fetched in advance by a helper thread."""
    handoff: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()
    helper = threading.Thread(target=_produce, args=(items, handoff, stop), name="erp-sync-read-ahead", daemon=True)
    helper.start()
    try:
        while True:
            try:
                kind, value = handoff.get(timeout=_POLL_SECONDS)
            except Empty:
                if not helper.is_alive() and handoff.empty():
                    return
                continue
            if kind == "item":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()


def _produce(items: Iterator[Any], handoff: Queue[tuple[str, Any]], stop: threading.Event) -> None:
    """The helper thread: every item, then the end or the exception, handed over in order until `stop` is set."""
    try:
        for item in items:
            if not _put(handoff, stop, ("item", item)):
                return
        _put(handoff, stop, ("end", None))
    except BaseException as exc:  # handed to the consumer, raised there
        _put(handoff, stop, ("error", exc))


def _put(handoff: Queue[tuple[str, Any]], stop: threading.Event, message: tuple[str, Any]) -> bool:
    """Wait for room for `message`; False when the consumer has stopped first."""
    while not stop.is_set():
        try:
            handoff.put(message, timeout=_POLL_SECONDS)
            return True
        except Full:
            continue
    return False
