"""The prediction cache both apps share, keyed the way legacy keyed it.

The key is `str(features)` of the raw decoded JSON list, so `[1, 2, ...]` and `[1.0, 2.0, ...]`
are different entries; a client that always sends the same bytes gets cache hits from either app.
"""

from __future__ import annotations

import threading
from typing import Any


class PredictionCache:
    """A thread-safe, unbounded map from feature key to prediction (legacy never evicted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, float] = {}

    @staticmethod
    def key(features: Any) -> str:
        """Returns legacy's cache key for a decoded `features` value."""
        return str(features)

    def get(self, key: str) -> float | None:
        """Returns the cached prediction for `key`, or None on a miss."""
        with self._lock:
            return self._entries.get(key)

    def set(self, key: str, prediction: float) -> None:
        """Stores `prediction` under `key`."""
        with self._lock:
            self._entries[key] = prediction

    def clear(self) -> None:
        """Forgets every entry (tests start each app on a fresh cache)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


prediction_cache = PredictionCache()
