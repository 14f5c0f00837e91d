"""A process's own memory of values that do not go stale (a frozen course version's content, the
day up to which an enrolment's activity was recorded), bounded by count: when full, the entry
put first goes first. Safe to share between the threads of one process (ASGI's thread pool):
a concurrent eviction of the same entry is not an error."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        entries = self._entries
        while key not in entries and len(entries) >= self.limit:
            try:
                del entries[next(iter(entries))]
            except (KeyError, RuntimeError, StopIteration):  # another thread evicted it first
                continue
        entries[key] = value

    def forget(self, keys: list[K] | None = None) -> None:
        """Forget `keys`, or everything (None)."""
        if keys is None:
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
