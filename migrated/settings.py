"""The migrated app's knobs, read from the environment once at startup."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"{name}={raw!r} is not a number; unset it or give e.g. {default}"
        ) from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative; unset it or give e.g. {default}")
    return value


@dataclass(frozen=True)
class BatchSettings:
    """How the /predict micro-batcher coalesces concurrent cache misses into model calls.

    `max_size` bounds the rows per model call (env `ML_BATCH_MAX_SIZE`, default 32);
    `max_wait_ms` bounds how long the first row of a batch waits for company
    (env `ML_BATCH_MAX_WAIT_MS`, default 0). A lone request therefore pays at most that wait.
    Defaults measured with scripts/bench (docs/performance.md): rows that queue while the model
    is busy are batched anyway, so waiting only taxes lone requests: at 0 ms, 900 req/s at one
    connection and 2,300-2,500 at 32; at 2 ms, 300 and 2,450-2,700. Size 8 caps 32 clients at
    1,840 req/s; 64 gains nothing over 32.
    """

    max_size: int = 32
    max_wait_ms: float = 0.0

    @classmethod
    def from_env(cls) -> BatchSettings:
        """Reads the settings from the environment, refusing nonsense with a clear message."""
        max_size = int(_positive("ML_BATCH_MAX_SIZE", cls.max_size))
        if max_size < 1:
            raise ValueError("ML_BATCH_MAX_SIZE must be at least 1 (1 disables coalescing)")
        return cls(
            max_size=max_size, max_wait_ms=_positive("ML_BATCH_MAX_WAIT_MS", cls.max_wait_ms)
        )
