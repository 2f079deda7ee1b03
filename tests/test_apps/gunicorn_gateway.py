"""The gateway built from the working folder's settings (its strangler.toml), as a service's own
app module does (this repository's app/main.py): what gunicorn and a plain uvicorn import in
tests/e2e/test_gunicorn.py."""

from __future__ import annotations

from strangler import build_gateway, load_settings

app = build_gateway(load_settings())
