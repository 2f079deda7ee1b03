"""Fixtures for the worked example: one trained model per session, fresh caches, both apps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import flask.testing
import httpx
import pytest
from fastapi import FastAPI

from migrated.domain import issue_token, prediction_cache
from migrated.domain.model import train_and_save
from strangler.settings import import_string, load_settings

# Both apps are reached as the gateway reaches them: by the MODULE:ATTR of [tool.strangler], never
# by importing legacy/ (the migration ends by deleting it; nothing outside it imports it).
SETTINGS = load_settings(Path(__file__).resolve().parents[2] / "pyproject.toml")
legacy_app = import_string(SETTINGS.legacy, SETTINGS.root)
migrated_app: FastAPI = import_string(SETTINGS.migrated, SETTINGS.root)

# 32+ bytes: PyJWT warns about shorter HS256 keys, and warnings are errors in this suite.
TEST_SECRET = "strangler-example-tests-secret-0123456789"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Trains the model once per session into a temporary path that both apps load from."""
    path = tmp_path_factory.mktemp("model") / "model.pkl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ML_MODEL_PATH", str(path))
        mp.setenv("ML_API_SECRET_KEY", TEST_SECRET)
        train_and_save(path)
        yield path


@pytest.fixture(autouse=True)
def trained_model(model_file: Path) -> Path:
    """Every test of the worked example runs with the model trained (the end-to-end suites in
    tests/e2e/ ask for model_file by name instead)."""
    return model_file


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Starts and ends every test on an empty shared prediction cache."""
    prediction_cache.clear()
    yield
    prediction_cache.clear()


@pytest.fixture
def token() -> str:
    """A valid token, as either app's /login would issue it."""
    return issue_token("admin")


@pytest.fixture
def legacy() -> flask.testing.FlaskClient:
    """Flask's test client on the legacy app."""
    return legacy_app.test_client()


async def running_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Yields an httpx client on `app` with its lifespan running (model loaded, batcher started)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def migrated() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the migrated app, lifespan included."""
    async for client in running_client(migrated_app):
        yield client
