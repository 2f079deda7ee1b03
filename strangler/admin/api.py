"""The admin HTTP API, served by the gateway under its reserved prefix (`/_strangler`).

    GET  /health      flag store state; open to all (load balancers poll it)
    GET  /endpoints   every endpoint, who serves it, its flag and where requests go
    GET  /flags       the raw flag table and its version
    POST /flags       set a flag: {"endpoint", "mode", "percentage"?, "reason"}
    GET  /history     the audit trail, newest first (?endpoint=...&limit=...)

Everything but /health needs the admin credential, as `Authorization: Bearer TOKEN` or
`X-Strangler-Admin-Token: TOKEN`. With no credential configured the API refuses every call,
unless the gateway runs in development mode.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from strangler.admin.auth import presented_token, token_matches
from strangler.admin.errors import AdminUnauthorized
from strangler.flags.errors import FlagChangeError, FlagStoreError, UnknownEndpoint
from strangler.flags.service import FlagService
from strangler.flags.watcher import FlagWatcher


class FlagChange(BaseModel):
    endpoint: str = Field(examples=["GET /model-info"])
    mode: str = Field(
        examples=["migrated"], description="legacy, migrated, canary, or off (one-app endpoints)"
    )
    percentage: float | None = Field(None, examples=[25], description="for canary: 0 to 100")
    reason: str = Field(examples=["port verified by the contract suite"])
    actor: str | None = Field(None, description="who makes the change (default: admin-api)")


def build_admin_app(
    service: FlagService, watcher: FlagWatcher, *, token: str | None, dev_mode: bool
) -> FastAPI:
    admin = FastAPI(title="Strangler admin API", version="1", redoc_url=None)

    def require_admin(
        authorization: Annotated[str | None, Header()] = None,
        x_strangler_admin_token: Annotated[str | None, Header()] = None,
    ) -> None:
        given = presented_token(authorization, x_strangler_admin_token)
        if token is None and not dev_mode:
            raise AdminUnauthorized(
                "the admin API is disabled: set STRANGLER_ADMIN_TOKEN for the gateway"
                " (or start it with --dev on a development machine)"
            )
        if not token_matches(given, token, dev_mode=dev_mode):
            raise AdminUnauthorized(
                "missing or wrong admin credential: send 'Authorization: Bearer TOKEN'"
                " or 'X-Strangler-Admin-Token: TOKEN'"
            )

    guarded = APIRouter(dependencies=[Depends(require_admin)])

    @admin.exception_handler(AdminUnauthorized)
    async def unauthorized(request: Request, exc: AdminUnauthorized) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc), "type": "Unauthorized"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @admin.exception_handler(FlagChangeError)
    async def refused(request: Request, exc: FlagChangeError) -> JSONResponse:
        status = 404 if isinstance(exc, UnknownEndpoint) else 422
        body = {"error": str(exc), "type": type(exc).__name__, "endpoint": exc.endpoint}
        return JSONResponse(body, status_code=status)

    @admin.exception_handler(FlagStoreError)
    async def store_down(request: Request, exc: FlagStoreError) -> JSONResponse:
        # The gateway routes on by its last good table; only changes and reads wait.
        body = {"error": str(exc), "type": "FlagStoreError"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    @admin.get("/health")
    def health() -> dict[str, Any]:
        watcher.refresh()  # the store as it is now, not as the last poll found it
        flags = watcher.health()
        return {"status": flags["status"], "flags": flags, "endpoints": len(service.inventory)}

    @guarded.get("/endpoints")
    def endpoints() -> list[dict[str, Any]]:
        return service.table(watcher.snapshot)

    @guarded.get("/flags")
    def flags() -> dict[str, Any]:
        return watcher.snapshot.to_dict()

    @guarded.post("/flags")
    def set_flag(change: FlagChange) -> dict[str, Any]:
        entry = service.set(
            change.endpoint,
            change.mode,
            change.percentage,
            actor=change.actor or "admin-api",
            reason=change.reason,
        )
        if entry is None:
            return service.unchanged(change.endpoint, change.mode, change.percentage)
        watcher.refresh()  # this worker sees its own change at once; the others within a poll
        return {"changed": True, **entry.to_dict()}

    @guarded.get("/history")
    def history(
        endpoint: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in service.history(endpoint, limit)]

    admin.include_router(guarded)
    return admin
