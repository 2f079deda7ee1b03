"""Dependencies the routes declare: the caller's token claims and the micro-batcher."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from migrated.batcher import MicroBatcher
from migrated.domain import TokenError, check_authorization_header, predict_rows
from migrated.errors import ApiError
from migrated.settings import BatchSettings
from strangler.compat import legacy_header

# APIKeyHeader, not HTTPBearer: it only reads the header (auto_error=False), so legacy's rules
# decide, and legacy accepted tokens without the "Bearer " prefix. It also documents the header.
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    scheme_name="BearerToken",
    description="A token from /login, as `Bearer <token>` (the bare token is accepted too).",
)


async def require_token(
    request: Request, _: Annotated[str | None, Depends(_authorization)]
) -> dict[str, Any]:
    """Returns the token's claims, or fails with legacy's 401 before the body is even read.

    The header is read as legacy read it (repeated fields joined); `_authorization` only
    documents it. `async def` on purpose: a plain `def` dependency runs in the thread pool, and
    two thread hops per request cost far more than the ~30 us of HMAC checking done here.
    """
    try:
        return check_authorization_header(legacy_header(request, "authorization"))
    except TokenError as exc:
        raise ApiError(401, str(exc)) from exc


def new_batcher() -> MicroBatcher:
    """Builds the /predict micro-batcher from the environment's BatchSettings."""
    settings = BatchSettings.from_env()
    return MicroBatcher(
        predict_rows, max_size=settings.max_size, max_wait_s=settings.max_wait_ms / 1000
    )


async def get_batcher(request: Request) -> MicroBatcher:
    """Returns the app's micro-batcher (made here if the app was mounted without its lifespan)."""
    state = request.app.state
    if getattr(state, "batcher", None) is None:
        state.batcher = new_batcher()
    batcher: MicroBatcher = state.batcher
    return batcher


Claims = Annotated[dict[str, Any], Depends(require_token)]
Batcher = Annotated[MicroBatcher, Depends(get_batcher)]
