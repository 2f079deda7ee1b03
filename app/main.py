"""This service's root app: the gateway over `legacy` and `migrated`, built from [tool.strangler].

Wiring only. `uvicorn app.main:app` serves the worked example as `strangler serve` does (one
worker; `strangler serve --workers N` for more). Set STRANGLER_ADMIN_TOKEN for the admin API,
or STRANGLER_DEV=1 on a development machine.
"""

from __future__ import annotations

from pathlib import Path

from strangler import build_gateway, load_settings

settings = load_settings(Path(__file__).resolve().parents[1] / "pyproject.toml")
app = build_gateway(settings)
