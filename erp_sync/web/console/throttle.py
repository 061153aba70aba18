"""Slowing down wrong sign-in tokens: each wrong token from an address waits longer before its answer (1 s, 2 s,
4 s, ... up to 10 s), so guessing the admin token through the sign-in form is slow. A right token, or a quarter of
an hour without a wrong one, starts the address over. The memory is bounded: the oldest addresses are forgotten."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

FIRST_DELAY = 1.0
MAX_DELAY = 10.0
FORGET_AFTER = 15 * 60.0
MAX_ADDRESSES = 10_000


class SignInThrottle:
    def __init__(self, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._sleep = sleep
        self._monotonic = monotonic
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, address: str) -> float:
        """Record a wrong token from `address` and wait its delay; returns the delay waited, in seconds."""
        now = self._monotonic()
        with self._lock:
            count, last = self._failures.pop(address, (0, now))
            count = 1 if now - last > FORGET_AFTER else count + 1
            self._failures[address] = (count, now)
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
        delay = min(FIRST_DELAY * 2 ** (count - 1), MAX_DELAY)
        self._sleep(delay)
        return delay

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
