"""A per-process cache of advisor candidates that is exact, not timed: an entry serves only while the registry
fingerprint it was built under is still the database's, so the next advice after any committed write sees it."""
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


class FingerprintCache:
    """A bounded LRU of entries under one fingerprint; a different fingerprint drops them all. Thread-safe.

    Values are shared between threads and requests, so only immutable values (frozen dataclasses, tuples) go in.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._fingerprint: Hashable = None
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()

    def get(self, fingerprint: Hashable, key: Hashable, now: datetime) -> Any | None:
        with self._lock:
            entry = self._entries.get(key) if fingerprint == self._fingerprint else None
            if entry is None or not entry.fits(now):
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, fingerprint: Hashable, key: Hashable, entry: Entry) -> None:
        with self._lock:
            if fingerprint != self._fingerprint:
                self._entries.clear()
                self._fingerprint = fingerprint
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
