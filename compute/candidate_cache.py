"""Per-process caches on the advice path that are exact, not timed.

VersionCache keeps advisor candidates and local GPUs: an entry serves only while the data version it was built under
is still the database's, so the next advice after any committed write sees it. IdentityMemo keeps what is computed
from those candidates (the advice, its rendering): an entry serves only the very objects it was computed from.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached value and the clock window it is right for: `valid_after < now <= valid_until` (None: unbounded).

    The window carries the one clock-dependent fact in a candidate list, a catalog price turning stale.
    """

    value: Any
    valid_after: datetime | None = None
    valid_until: datetime | None = None

    def fits(self, now: datetime) -> bool:
        return ((self.valid_after is None or self.valid_after < now)
                and (self.valid_until is None or now <= self.valid_until))


class VersionCache:
    """A bounded LRU of entries under one version; a different version drops them all. Thread-safe.

    Values are shared between threads and requests, so only immutable values (frozen dataclasses, tuples) go in.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._version: Hashable = None
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()

    def get(self, version: Hashable, key: Hashable, now: datetime) -> Any | None:
        with self._lock:
            entry = self._entries.get(key) if version == self._version else None
            if entry is None or not entry.fits(now):
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, version: Hashable, key: Hashable, entry: Entry) -> None:
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)


class IdentityMemo:
    """A bounded, thread-safe LRU for pure functions of immutable objects, keyed by those objects' identity.

    `get(sources, key)` answers only when the entry was stored with the very same `sources` objects (`is`), so an
    id() reused after a source was freed can never return a stale value; the entry keeps its sources alive until it
    is evicted. `key` holds whatever else the value depends on, by value (it must be hashable).

    A value is kept from the second time it is `put` (a doorkeeper of recently seen keys): an answer is large, and
    keeping every one-off answer would only churn the LRU and make the garbage collector walk answers nobody asks
    for again.
    """

    def __init__(self, maxsize: int, *, seen_size: int = 1024) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[tuple, Any]] = OrderedDict()
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._seen_size = seen_size

    def get(self, sources: tuple, key: Hashable = None) -> Any | None:
        full_key = (*map(id, sources), key)
        with self._lock:
            entry = self._entries.get(full_key)
            if entry is None or any(a is not b for a, b in zip(entry[0], sources, strict=True)):
                return None
            self._entries.move_to_end(full_key)
            return entry[1]

    def put(self, sources: tuple, key: Hashable, value: Any) -> None:
        full_key = (*map(id, sources), key)
        with self._lock:
            if full_key not in self._seen:
                self._seen[full_key] = None
                while len(self._seen) > self._seen_size:
                    self._seen.popitem(last=False)
                return
            del self._seen[full_key]
            self._entries[full_key] = (sources, value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
