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
    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settle = settle_seconds
        self.clock = clock
        self.wall = wall
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def touch(self, path: str) -> None:
        """Something happened to `path`: (re)start its quiet period.

        A polling observer reports a change up to a poll interval late; the file may have been
        still since its last change. Up to half the settle time of that earlier quiet is
        credited (never more: another host's clock may be wrong), the rest is observed here."""
        try:
            st = os.stat(path)
        except OSError:
            self._pending.pop(path, None)
            return
        age = self.wall() - max(st.st_mtime, st.st_ctime)
        credit = min(max(age, 0.0), self.settle / 2)
        self._pending[path] = _Pending(st.st_size, st.st_mtime_ns, self.clock() - credit)

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
