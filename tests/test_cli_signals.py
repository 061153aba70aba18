"""Stopping on SIGTERM/SIGINT must not deadlock when a signal lands while the main thread holds the stop event's lock.

That happens for real: Ctrl-C on `make serve` (or `timeout` around it) delivers the signal to erp-sync and make
forwards another one, so a second handler can run inside the first one's `stop.set()`, or a handler inside
`stop.wait()`'s own locking. A handler that takes that lock then waits for itself forever (seen: `make serve` under
`timeout` never exited). The check runs in a child process so that a deadlock is a timeout here, not a hung suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import os, signal, threading
    from erp_sync.cli import _stop_on_signals

    stop = threading.Event()
    _stop_on_signals(stop)
    with stop._cond:  # the main thread holds the event's lock, as inside stop.wait() or a first handler's set()
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, at the next bytecode
        os.kill(os.getpid(), signal.SIGINT)
    print("stopped" if stop.wait(10) else "not stopped", flush=True)
""")


def test_a_signal_while_the_stop_event_is_locked_still_stops_the_process() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "stopped"), done.stderr
