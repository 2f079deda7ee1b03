"""The migrated app on its own: the formats and quirks legacy has that the corpus cannot pin.

Request-by-request equality with legacy is the YAML corpus's job (contract_tests/).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import flask.testing
import httpx
import jwt

from migrated.app import app
from migrated.domain import is_loaded
from tests.example.conftest import TEST_SECRET, running_client

CREDENTIALS = b'{"username":"admin","password":"password"}'
JSON = {"Content-Type": "application/json"}


async def test_health_matches_legacys_format(
    legacy: flask.testing.FlaskClient, migrated: httpx.AsyncClient
) -> None:
    """/health has legacy's bytes but for the clock: a naive UTC ISO timestamp."""
    pattern = rb'\{"status":"healthy","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?"\}\n'
    response = await migrated.get("/health")
    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/json")
    assert re.fullmatch(pattern, response.content)
    assert re.fullmatch(pattern, legacy.get("/health").data)
    stamp = datetime.fromisoformat(response.json()["timestamp"]).replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(seconds=5)


async def test_login_token_matches_legacys(
    legacy: flask.testing.FlaskClient, migrated: httpx.AsyncClient
) -> None:
    """Both apps issue the same kind of token: same header, same claims, expiry 24 hours out."""
    legacy_token = legacy.post("/login", data=CREDENTIALS, headers=JSON).get_json()["token"]
    response = await migrated.post("/login", content=CREDENTIALS, headers=JSON)
    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/json")
    token = response.json()["token"]
    assert response.content == b'{"token":"' + token.encode() + b'"}\n'
    assert jwt.get_unverified_header(token) == jwt.get_unverified_header(legacy_token)
    ours = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    theirs = jwt.decode(legacy_token, TEST_SECRET, algorithms=["HS256"])
    assert ours["user"] == theirs["user"] == "admin"
    assert abs(ours["exp"] - theirs["exp"]) <= 2


async def test_tokens_from_either_app_work_on_both(
    legacy: flask.testing.FlaskClient, migrated: httpx.AsyncClient
) -> None:
    """A token from legacy's /login is accepted by the migrated app, and the other way round."""
    body = b'{"features":[1,2,3,4,5,6,7,8,9,10]}'
    legacy_token = legacy.post("/login", data=CREDENTIALS, headers=JSON).get_json()["token"]
    migrated_token = (await migrated.post("/login", content=CREDENTIALS, headers=JSON)).json()[
        "token"
    ]
    auth = {**JSON, "Authorization": f"Bearer {legacy_token}"}
    assert (await migrated.post("/predict", content=body, headers=auth)).status_code == 200
    auth = {**JSON, "Authorization": f"Bearer {migrated_token}"}
    assert legacy.post("/predict", data=body, headers=auth).status_code == 200


async def test_cache_is_shared_between_the_apps(
    legacy: flask.testing.FlaskClient, migrated: httpx.AsyncClient, token: str
) -> None:
    """A row legacy predicted is a cache hit on the migrated app, with legacy's cache-hit bytes."""
    body = b'{"features":[1,2,3,4,5,6,7,8,9,10]}'
    auth = {**JSON, "Authorization": f"Bearer {token}"}
    legacy.post("/predict", data=body, headers=auth)
    response = await migrated.post("/predict", content=body, headers=auth)
    assert response.content == b'{"cached":true,"prediction":227.32442644860504}\n'


async def test_expired_token_is_invalid_on_migrated(migrated: httpx.AsyncClient) -> None:
    """An expired token gets legacy's 401 Token is invalid."""
    from migrated.domain import issue_token

    expired = issue_token("admin", now=datetime.now(UTC) - timedelta(days=2))
    auth = {**JSON, "Authorization": f"Bearer {expired}"}
    response = await migrated.post("/predict", content=b"{}", headers=auth)
    assert (response.status_code, response.content) == (401, b'{"error":"Token is invalid"}\n')


async def test_no_request_is_answered_with_fastapis_422(
    migrated: httpx.AsyncClient, token: str
) -> None:
    """Bodies FastAPI would reject with 422 get legacy's 400/500 `{"error": ...}` instead."""
    auth = {**JSON, "Authorization": f"Bearer {token}"}
    for body in [b'{"features":"x"}', b'{"samples":[[1]]}', b"[1,2]", b'{"features":[{}]}']:
        for path in ["/predict", "/batch-predict", "/login"]:
            response = await migrated.post(path, content=body, headers=auth)
            assert response.status_code != 422
            assert b"detail" not in response.content


async def test_openapi_documents_the_legacy_contract(migrated: httpx.AsyncClient) -> None:
    """/openapi.json lists the five endpoints, their request bodies and legacy's error answers."""
    spec = (await migrated.get("/openapi.json")).json()
    assert set(spec["paths"]) == {"/health", "/model-info", "/login", "/predict", "/batch-predict"}
    predict = spec["paths"]["/predict"]["post"]
    assert set(predict["responses"]) == {"200", "400", "401", "500"}
    body = predict["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["features"]["minItems"] == 10
    assert "422" not in spec["paths"]["/batch-predict"]["post"]["responses"]
    assert predict["security"] == [{"BearerToken": []}]
    assert (await migrated.get("/docs")).status_code == 200


def test_importing_the_apps_does_not_load_the_model() -> None:
    """The gateway imports both apps to list routes; that must not load or train the model."""
    import subprocess
    import sys

    code = (
        "from strangler.settings import import_string, load_settings; s = load_settings();"
        " import_string(s.legacy, s.root); import_string(s.migrated, s.root);"
        " from migrated.domain import is_loaded; print(is_loaded())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


async def test_lifespan_loads_the_model() -> None:
    """Starting the migrated app loads the model before the first request."""
    async for _client in running_client(app):
        assert is_loaded()


async def test_options_allow_header_ignores_the_query_string(migrated: httpx.AsyncClient) -> None:
    """OPTIONS answers the path's methods in Allow whatever the query says (issue #26)."""
    for path in ["/health", "/health?allow=DELETE", "/predict?allow=GET,%20PUT"]:
        response = await migrated.options(path)
        allow = {m.strip() for m in response.headers["Allow"].split(",")}
        expected = {"GET", "HEAD", "OPTIONS"} if path.startswith("/health") else {"POST", "OPTIONS"}
        assert (response.status_code, allow, response.content) == (200, expected, b"")
