"""strangler.compat.tokens against flask-jwt-extended: the same refusals, tokens that cross."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import flask
import flask_jwt_extended as fje
import pytest
from fastapi import Depends, FastAPI

from strangler import compat
from strangler.compat import tokens
from tests.compat.differential import differential

KEY = "compat-tests-jwt-secret-0123456789abcdef"


def make_legacy() -> flask.Flask:
    app = flask.Flask("conduit_like")
    app.config.update(JWT_SECRET_KEY=KEY, JWT_HEADER_TYPE="Token")
    fje.JWTManager(app)

    @app.get("/user")
    @fje.jwt_required()
    def user() -> Any:
        return flask.jsonify({"id": fje.get_jwt_identity()})

    return app


LEGACY = make_legacy()
CONFIG = tokens.JWTConfig.from_flask(LEGACY)
Claims = Annotated[dict[str, Any], Depends(tokens.jwt_required(CONFIG))]


def make_port() -> FastAPI:
    app = FastAPI()
    compat.install_legacy_errors(app, legacy=LEGACY)

    @app.get("/user")
    async def user(claims: Claims) -> Any:
        return compat.jsonify({"id": claims["sub"]})

    return app


with LEGACY.app_context():
    LEGACY_TOKEN = fje.create_access_token(identity="7")
PORT_TOKEN = tokens.create_access_token(CONFIG, "7")

HEADERS = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer x.y.z"},
    {"Authorization": "Token"},
    {"Authorization": "Token a b"},
    {"Authorization": "Token not-a-jwt"},
    {"Authorization": f"Token {LEGACY_TOKEN}x"},
    {"Authorization": f"Token {LEGACY_TOKEN}"},
    {"Authorization": f"Token {PORT_TOKEN}"},
    [("Authorization", f"Token {PORT_TOKEN}"), ("Authorization", f"Token {LEGACY_TOKEN}")],
]


@pytest.mark.parametrize("headers", HEADERS, ids=lambda h: str(h)[:30])
async def test_the_port_checks_tokens_as_flask_jwt_extended(headers: Any) -> None:
    """Missing, malformed, doubled, forged and valid tokens (from either side) get the answer
    flask-jwt-extended gives."""
    async with differential(LEGACY, make_port()) as send:
        assert await send("GET", "/user", headers=headers) == []


def test_without_pyjwt_the_import_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Importing the token helpers without PyJWT says to install strangler[jwt]."""
    monkeypatch.setitem(sys.modules, "jwt", None)  # an import of jwt now fails as if absent
    monkeypatch.delitem(sys.modules, "strangler.compat.tokens")
    with pytest.raises(ImportError, match=r"pip install 'strangler\[jwt\]'"):
        importlib.import_module("strangler.compat.tokens")
