"""Sharded scans: N machines each index a deterministic share of a tree into one store.

A file belongs to shard K of N by a stable hash of its path relative to the scan root, so
every machine agrees on the split without talking to the others (whatever its mount point
or Python's hash seed), and together the shards cover the tree exactly once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K must be between 1 and N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` → Shard(K, N); ValueError with the reason otherwise."""
        k, sep, n = text.partition("/")
        if not sep or not k.strip().isdigit() or not n.strip().isdigit():
            raise ValueError(f"{text!r} is not K/N (e.g. 2/3: the second of three shards)")
        return cls(int(k), int(n))

    def owns(self, root: str, path: str) -> bool:
        """Whether this shard indexes `path`, found under the scan root `root`."""
        if self.count == 1:
            return True
        rel = os.path.relpath(path, root) if path != root else os.path.basename(path)
        digest = hashlib.blake2b(os.fsencode(rel), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
