"""The prediction cache both apps share, keyed the way legacy keyed it.

The key is `str(features)` of the raw decoded JSON list, so `[1, 2, ...]` and `[1.0, 2.0, ...]`
are different entries; a client that always sends the same bytes gets cache hits from either app.

Deliberate change from legacy: legacy's cache grew forever (about 170 bytes per distinct
request: a slow memory leak any client could speed up). This one keeps the `max_entries` most
recently used predictions (env `ML_CACHE_MAX_ENTRIES`, default 100,000: about 20 MB) and forgets
the least recently used. Answers are unchanged; only a very old entry may be computed again.

A call the gateway only compares (a shadow or an A/A call, run in its sandbox before the
served call) reads the cache as the served call will, but never fills it: a prediction a port
got wrong must not be remembered, and then served, by the other side.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from strangler.sandbox.context import active as compared_only

DEFAULT_MAX_ENTRIES = 100_000


def max_entries_from_env() -> int:
    raw = os.environ.get("ML_CACHE_MAX_ENTRIES", "")
    if not raw:
        return DEFAULT_MAX_ENTRIES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"ML_CACHE_MAX_ENTRIES={raw!r} must be a whole number of at least 1;"
            f" unset it for {DEFAULT_MAX_ENTRIES}"
        )
    return value


class PredictionCache:
    """A thread-safe map from feature key to prediction, least recently used out first."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, float] = OrderedDict()

    @staticmethod
    def key(features: Any) -> str:
        """Returns legacy's cache key for a decoded `features` value."""
        return str(features)

    def get(self, key: str) -> float | None:
        """Returns the cached prediction for `key`, or None on a miss."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def set(self, key: str, prediction: float) -> None:
        """Stores `prediction` under `key`, forgetting the least recently used past the bound
        (nothing, for a call that is only compared)."""
        if compared_only():
            return
        with self._lock:
            self._entries[key] = prediction
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forgets every entry (tests start each app on a fresh cache)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


prediction_cache = PredictionCache(max_entries_from_env())
