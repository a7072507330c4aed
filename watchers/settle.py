"""Settling: a file is processed only once its size and mtime have held still for a while.

A create event fires when a copy starts, not when it ends; reading then would record a
half-copied file. Pure logic with an injectable clock, so tests need no sleeps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Pending:
    size: int
    mtime_ns: int
    since: float


class Settler:
    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle_seconds
        self.clock = clock
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def touch(self, path: str) -> None:
        """Something happened to `path`: (re)start its quiet period."""
        try:
            st = os.stat(path)
        except OSError:
            self._pending.pop(path, None)
            return
        self._pending[path] = _Pending(st.st_size, st.st_mtime_ns, self.clock())

    def forget(self, path: str) -> None:
        self._pending.pop(path, None)

    def due(self, limit: int | None = None) -> list[str]:
        """Paths that have been still for the settle time; they leave the pending set."""
        now = self.clock()
        ready: list[str] = []
        for path, p in list(self._pending.items()):
            if now - p.since < self.settle:
                continue
            try:
                st = os.stat(path)
            except OSError:
                del self._pending[path]  # vanished before it settled
                continue
            if (st.st_size, st.st_mtime_ns) != (p.size, p.mtime_ns):
                self._pending[path] = _Pending(st.st_size, st.st_mtime_ns, now)
                continue
            del self._pending[path]
            ready.append(path)
            if limit is not None and len(ready) >= limit:
                break
        return ready
