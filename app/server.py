"""Building the gateway from settings: what `strangler serve` hands to each uvicorn worker."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app.config import Settings, import_string
from app.flagfile import import_flags
from app.gateway import Gateway, create_gateway

SETTINGS_ENV = "STRANGLER_SETTINGS_JSON"


def build(settings: Settings) -> Gateway:
    """Imports both apps by their MODULE:ATTR and builds the gateway in front of them.

    A `memory:` store lives in this process only, so it is seeded here (`strangler serve`
    seeds a SQLite store once, before the workers start).
    """
    gateway = create_gateway(
        import_string(settings.legacy, settings.root),
        import_string(settings.migrated, settings.root),
        settings.path(settings.flags),
        sticky=settings.sticky,
        backend_header=settings.backend_header,
        admin_prefix=settings.admin_prefix,
        admin_token=settings.admin_token,
        dev_mode=settings.dev_mode,
        legacy_threads=settings.legacy_threads,
        poll_interval=settings.poll_interval,
        freeze_gc=settings.freeze_gc,
    )
    seed = Path(settings.path(settings.seed)) if settings.seed else None
    if settings.flags in ("memory:", ":memory:") and seed is not None and seed.is_file():
        import_flags(gateway.service, seed, actor="seed")
        gateway.watcher.refresh()
    return gateway


def settings_to_env(settings: Settings) -> dict[str, str]:
    return {SETTINGS_ENV: json.dumps(vars(settings))}


def from_environment() -> Gateway:
    """The uvicorn factory each worker process calls (`strangler serve` set the environment)."""
    values: dict[str, Any] = json.loads(os.environ[SETTINGS_ENV])
    return build(Settings(**values))
