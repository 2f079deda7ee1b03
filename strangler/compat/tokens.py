"""flask-jwt-extended's access tokens on a FastAPI port: the same claims, header, and errors.

`JWTConfig` holds what the legacy app configured (`JWT_SECRET_KEY` or the app's secret key,
`JWT_ALGORITHM`, `JWT_HEADER_NAME`, `JWT_HEADER_TYPE`, e.g. "Token" for RealWorld apps,
`JWT_ACCESS_TOKEN_EXPIRES`, ...); `create_access_token` issues a token either backend accepts
(`fresh`, `iat`, `jti`, `type`, `sub`, `nbf`, `exp`, in that order), and the `jwt_required`
dependency checks one as the extension's `@jwt_required()` does, refusing with its default
answers: 401 `{"msg": "Missing Authorization Header"}`, 401 `{"msg": "Token has expired"}`,
422 `{"msg": "Signature verification failed"}` (and every other decoding error's text).

Cookie, query-string and JSON-body token locations, blocklists and refresh tokens are not
covered. Needs PyJWT (flask-jwt-extended itself uses it): `pip install 'strangler[jwt]'`.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

try:
    import jwt
except ImportError as exc:  # the one module of strangler.compat that needs more than the base
    raise ImportError(
        f"strangler.compat.tokens needs PyJWT ({exc.name} is not installed):"
        " pip install 'strangler[jwt]'",
        name=exc.name,
    ) from exc
from starlette.requests import Request
from starlette.responses import Response

from strangler.compat.requests import args_of
from strangler.compat.responses import Answered, jsonify


class TokenRefused(Answered):
    """Raised by `jwt_required` with the extension's answer; install_legacy_errors sends it."""

    def __init__(self, status: int, message: str, key: str = "msg") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.key = key

    def response(self) -> Response:
        """The response flask-jwt-extended's default callback gives."""
        return jsonify({self.key: self.message}, self.status)


@dataclasses.dataclass(frozen=True)
class JWTConfig:
    """The JWT_* settings of the legacy app, with the extension's defaults."""

    secret: str
    algorithm: str = "HS256"
    header_name: str = "Authorization"
    header_type: str = "Bearer"
    identity_claim: str = "sub"
    access_expires: timedelta | None = timedelta(minutes=15)
    leeway: int = 0
    error_key: str = "msg"
    verify_sub: bool = True

    @classmethod
    def from_flask(cls, legacy: Any) -> JWTConfig:
        """The settings a Flask app gives flask-jwt-extended (its `config`, defaults filled)."""
        config = legacy.config
        expires = config.get("JWT_ACCESS_TOKEN_EXPIRES", timedelta(minutes=15))
        return cls(
            secret=config.get("JWT_SECRET_KEY") or legacy.secret_key,
            algorithm=config.get("JWT_ALGORITHM", "HS256"),
            header_name=config.get("JWT_HEADER_NAME", "Authorization"),
            header_type=config.get("JWT_HEADER_TYPE", "Bearer"),
            identity_claim=config.get("JWT_IDENTITY_CLAIM", "sub"),
            access_expires=None if expires is False else expires,
            leeway=config.get("JWT_DECODE_LEEWAY", 0),
            error_key=config.get("JWT_ERROR_MESSAGE_KEY", "msg"),
            verify_sub=config.get("JWT_VERIFY_SUB", True),
        )


def create_access_token(
    config: JWTConfig,
    identity: str,
    *,
    fresh: bool = False,
    additional_claims: dict[str, Any] | None = None,
) -> str:
    """flask-jwt-extended's `create_access_token(identity=...)`."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "fresh": fresh,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "type": "access",
        config.identity_claim: identity,
        "nbf": now,
    }
    if config.access_expires:
        claims["exp"] = now + config.access_expires
    claims.update(additional_claims or {})
    return jwt.encode(claims, config.secret, algorithm=config.algorithm)


def encoded_token(config: JWTConfig, request: Request) -> str:
    """The token in the request's header, found as the extension finds it, or TokenRefused."""
    name, kind = config.header_name, config.header_type
    header = (args_of(request).headers.get(name, "") or "").strip().strip(",")
    if not header:
        raise TokenRefused(401, f"Missing {name} Header", config.error_key)
    if not kind:
        parts = header.split()
        if len(parts) != 1:
            raise TokenRefused(
                422, f"Bad {name} header. Expected '{name}: <JWT>'", config.error_key
            )
        return parts[0]
    fields = [s for s in re.split(r",\s*", header) if s and s.split()[0] == kind]
    if len(fields) != 1:
        expected = f"Missing '{kind}' type in '{name}' header. Expected '{name}: {kind} <JWT>'"
        raise TokenRefused(401, expected, config.error_key)
    parts = fields[0].split()
    if len(parts) != 2:
        raise TokenRefused(
            422, f"Bad {name} header. Expected '{name}: {kind} <JWT>'", config.error_key
        )
    return parts[1]


def decode_token(config: JWTConfig, token: str) -> dict[str, Any]:
    """The claims of an access token, checked as `@jwt_required()` checks them."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            config.secret,
            algorithms=[config.algorithm],
            leeway=config.leeway,
            options={"verify_aud": False, "verify_sub": config.verify_sub},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused(401, "Token has expired", config.error_key) from None
    except jwt.InvalidTokenError as exc:
        raise TokenRefused(422, str(exc), config.error_key) from None
    if config.identity_claim not in claims:
        raise TokenRefused(422, f"Missing claim: {config.identity_claim}", config.error_key)
    claims.setdefault("type", "access")
    claims.setdefault("fresh", False)
    claims.setdefault("jti", None)
    if claims["type"] != "access":
        raise TokenRefused(422, "Only non-refresh tokens are allowed", config.error_key)
    return claims


def jwt_required(config: JWTConfig, *, optional: bool = False) -> Callable[[Request], Any]:
    """A dependency answering the token's claims (None if `optional` and no header), refusing
    as `@jwt_required(optional=...)` does."""

    def dependency(request: Request) -> dict[str, Any] | None:
        try:
            token = encoded_token(config, request)
        except TokenRefused as exc:
            if optional and exc.status == 401:
                return None
            raise
        return decode_token(config, token)

    return dependency
