"""The passthrough app behind the gateway, no flags set: `uvicorn --factory ...:create`."""

from __future__ import annotations

from fastapi import FastAPI

from strangler.assembly import create_gateway
from strangler.types import ASGIApp
from tests.test_apps.passthrough import app


def create() -> ASGIApp:
    """Returns the gateway with the passthrough app as legacy and an empty FastAPI as migrated."""
    return create_gateway(app, FastAPI(), "memory:", legacy_threads=4)
