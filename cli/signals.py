"""SIGINT and SIGTERM as a request to stop cleanly, for the commands that write as they go."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# What a command interrupted by each signal exits with (128 + the signal, as shells report).
INTERRUPTED_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopRequest(threading.Event):
    """Set by the first SIGINT or SIGTERM; `signum` says which. A second SIGINT stops at
    once (KeyboardInterrupt), for a person who will not wait for the files in hand."""

    signum: signal.Signals | None = None

    @property
    def exit_code(self) -> int:
        return INTERRUPTED_EXIT.get(self.signum or signal.SIGINT, 130)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    stop = StopRequest()

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.signum = signal.Signals(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach the main thread only; nothing to install here
        return
    before = {sig: signal.signal(sig, handler) for sig in INTERRUPTED_EXIT}
    try:
        yield stop
    finally:
        for sig, previous in before.items():
            signal.signal(sig, previous)
