"""The admin HTTP API, served by the gateway under its reserved prefix (`/_strangler`).

    GET  /health      flag store state; open to all (load balancers poll it)
    GET  /endpoints   every endpoint, who serves it, its flag and where requests go
    GET  /flags       the raw flag table and its version
    POST /flags       set a flag: {"endpoint", "mode", "percentage"?, "segments"?, "reason"}
    GET  /flags/scheduled         flag changes kept for later, soonest first
    POST /flags/scheduled         keep one: {"endpoint", "mode", "percentage"?, "at", "reason"}
                                  (`at`: epoch seconds, an ISO 8601 time, or "+10m")
    POST /flags/scheduled/cancel  drop one before its time: {"id", "reason"}
    GET  /history     the audit trail, newest first (?endpoint=...&limit=...)
    POST /shadow      shadow an endpoint: {"endpoint", "percentage", "side_effect_free"?, "reason"}
    GET  /shadow      what shadowing found in every worker: counts, noise, the last mismatches
    GET  /shadow/export   those mismatches (and with ?recorded=true live samples) as corpus files
    POST /shadow/ack      mark an endpoint's kept findings as seen: {"endpoint", "reason"}
    POST /shadow/clear    forget the findings kept: {"endpoint"? (none: all), "reason"}
    GET  /rollouts    every rollout plan, its state and its current step's figures so far
    POST /rollouts    start one: {"endpoint", "steps", "interval", "min_requests", "reason"...}
    POST /rollouts/pause | resume | approve | promote | abort    {"endpoint", "reason"}
    GET  /service/openapi.json   one OpenAPI for the service: the port's, and legacy's own routes
    GET  /status      how far the migration is (strangler.report), as JSON
    POST /contract/reset  run the settings' contract_reset in this worker: {"reason"}; refused
                      (409) with none configured, or outside --dev unless contract_reset_live
    GET  /ui/         the operator dashboard (a login form; strangler.dashboard)
    GET  /metrics     Prometheus metrics, every worker's (open without a credential only with
                      `metrics_public`)

Everything but /health needs the admin credential, as `Authorization: Bearer TOKEN` or
`X-Strangler-Admin-Token: TOKEN`. With no credential configured the API refuses every call,
unless the gateway runs in development mode. The credential is checked before the body is read,
and bodies are small (strangler.admin.gate, in front of this app). A body that does not fit its
model (NaN and Infinity included: JSON has neither) is answered 422, naming each field.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from strangler.admin.errors import AdminForbidden, AdminUnauthorized, ResetUnavailable
from strangler.admin.gate import authenticate
from strangler.credentials import Credential, Credentials, Role
from strangler.errors import ConfigError
from strangler.flags.errors import FlagChangeError, FlagStoreError, InvalidFlag, UnknownEndpoint
from strangler.flags.schedule import Schedule, parse_at
from strangler.flags.service import FlagService
from strangler.flags.views import ChangeResult, EndpointRow, FlagTable, HistoryEntry
from strangler.flags.watcher import FlagWatcher
from strangler.metrics.counters import FlagCollector, GatewayMetrics
from strangler.metrics.exposition import render
from strangler.report.progress import Progress
from strangler.rollout.errors import InvalidPlan, NoRollout, RolloutError
from strangler.rollout.plan import Criteria, parse_duration, parse_steps
from strangler.rollout.service import RolloutService
from strangler.settings import import_string
from strangler.shadow import findings
from strangler.shadow.record import corpus_files
from strangler.shadow.tap import ShadowTap

log = logging.getLogger(__name__)

# Health waits this long for a fresh read of the store, then answers with what it has.
HEALTH_WAIT = 0.25
_HEALTH_POOL = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="strangler-health")


class _Body(BaseModel):
    # NaN and Infinity are not JSON, though Python's parser reads them: refused as the field's
    # error (422), not passed on to a check that would compare them.
    model_config = ConfigDict(allow_inf_nan=False)


class FlagChange(_Body):
    endpoint: str = Field(examples=["GET /model-info"])
    mode: str = Field(
        examples=["migrated"], description="legacy, migrated, canary, or off (one-app endpoints)"
    )
    percentage: float | None = Field(None, examples=[25], description="for canary: 0 to 100")
    segments: list[str] | None = Field(
        None,
        examples=[["header:X-Tenant=acme->migrated"]],
        description="KIND:NAME=VALUE->BACKEND (header, cookie or claim; migrated or legacy),"
        " routed first, in order; none given: the endpoint's are kept (dropped by a change to"
        " legacy); []: none",
    )
    reason: str = Field(examples=["port verified by the contract suite"])
    actor: str | None = Field(
        None, description="who you say you are; the audit names the credential, and this beside it"
    )


class ScheduledFlagChange(FlagChange):
    at: float | str = Field(
        examples=["+10m"], description="epoch seconds, an ISO 8601 time (UTC if no zone), +10m"
    )


class ScheduleCancel(_Body):
    id: int = Field(examples=[3])
    reason: str
    actor: str | None = None


class ShadowChange(_Body):
    endpoint: str = Field(examples=["GET /model-info"])
    percentage: float = Field(examples=[10], description="0 to 100 (0: stop shadowing)")
    side_effect_free: str | None = Field(
        None,
        examples=["a pure function of its input"],
        description="why a method that is not safe (POST...) may be sent twice",
    )
    reason: str = Field(examples=["watch the port on live traffic"])
    actor: str | None = None


class FindingsAction(_Body):
    endpoint: str | None = Field(
        None, examples=["GET /model-info"], description="the endpoint (clear: none for all)"
    )
    reason: str = Field(examples=["known difference, ticket 12"])
    actor: str | None = None


class RolloutStart(_Body):
    endpoint: str = Field(examples=["POST /predict"])
    steps: list[float] | str = Field(
        examples=[[1, 5, 25, 50, 100]], description="percentages to migrated, in order"
    )
    interval: float | str = Field(examples=["5m"], description="seconds, or 30s, 5m, 1h")
    min_requests: int = Field(100, description="migrated requests a step needs to be promoted")
    max_error_delta: float = Field(
        Criteria.max_error_delta, description="migrated 5xx % minus legacy's, in points"
    )
    max_p99_ratio: float = Field(Criteria.max_p99_ratio, description="migrated p99 / legacy p99")
    max_mismatch_rate: float | None = Field(
        None, description="shadow mismatches, % of comparisons (None: not judged)"
    )
    approve_at: list[float] | str = Field(
        [], examples=[[50]], description="steps that wait for POST /rollouts/approve"
    )
    from_start: bool = Field(
        False, description="start even if the first step cuts back what goes to migrated now"
    )
    reason: str
    actor: str | None = None


class RolloutAction(_Body):
    endpoint: str = Field(examples=["POST /predict"])
    reason: str
    actor: str | None = None


class ContractReset(_Body):
    reason: str = Field(examples=["contract run of the staging gateway"])
    actor: str | None = None


def open_paths(*, metrics_public: bool) -> tuple[str, ...]:
    """The paths of the admin app that need no credential: health, the API's own docs, and the
    metrics when they are public."""
    found = ("/health", "/docs", "/docs/oauth2-redirect", "/openapi.json")
    return (*found, "/metrics") if metrics_public else found


def build_admin_app(
    service: FlagService,
    watcher: FlagWatcher,
    *,
    credentials: Credentials,
    shadow: ShadowTap | None = None,
    metrics: GatewayMetrics | None = None,
    metrics_public: bool = False,
    rollouts: RolloutService,
    progress: Callable[[], Progress],
    shadow_findings: Callable[[], dict[str, Any]],
    service_openapi: Callable[[], dict[str, Any]] | None = None,
    extra_metrics: Sequence[Collector] = (),
    contract_reset: str | None = None,
    contract_reset_live: bool = False,
    root: str = ".",
) -> FastAPI:
    """The admin API (see the module docstring) over the gateway's parts; strangler.assembly
    builds them, and mounts the dashboard under /ui.

    `contract_reset`: the settings' reset hook (MODULE:ATTR, imported from `root` when first
    called), run by POST /contract/reset only where `contract_reset_live` allows it."""
    admin = FastAPI(title="Strangler admin API", version="1", redoc_url=None)

    def require_admin(request: Request) -> Credential:
        # The gate has checked it before the body was read; the endpoint needs its name.
        return authenticate(credentials, request.headers)

    # Dependencies as defaults, not in Annotated: these are local functions, and the module's
    # postponed annotations are resolved in its globals, where they are not.
    def require_writer(credential: Credential = Depends(require_admin)) -> Credential:
        if not credential.may(Role.WRITE):
            raise AdminForbidden(
                f"the credential {credential.name!r} may read, not change flags (role read)"
            )
        return credential

    guarded = APIRouter(dependencies=[Depends(require_admin)])

    @admin.exception_handler(AdminUnauthorized)
    async def unauthorized(request: Request, exc: AdminUnauthorized) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc), "type": "Unauthorized"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @admin.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _finite(jsonable_encoder(exc.errors()))
        said = "; ".join(
            f"{'.'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in errors
        )
        body = {"error": f"invalid request: {said}", "type": "InvalidRequest", "detail": errors}
        return JSONResponse(body, status_code=422)

    @admin.exception_handler(AdminForbidden)
    async def forbidden(request: Request, exc: AdminForbidden) -> JSONResponse:
        return JSONResponse({"error": str(exc), "type": "Forbidden"}, status_code=403)

    @admin.exception_handler(FlagChangeError)
    async def refused(request: Request, exc: FlagChangeError) -> JSONResponse:
        status = 404 if isinstance(exc, UnknownEndpoint) else 422
        body = {"error": str(exc), "type": type(exc).__name__, "endpoint": exc.endpoint}
        return JSONResponse(body, status_code=status)

    @admin.exception_handler(RolloutError)
    async def rollout_refused(request: Request, exc: RolloutError) -> JSONResponse:
        status = 404 if isinstance(exc, NoRollout) else 422 if isinstance(exc, InvalidPlan) else 409
        body = {"error": str(exc), "type": type(exc).__name__, "endpoint": exc.endpoint}
        return JSONResponse(body, status_code=status)

    @admin.exception_handler(ResetUnavailable)
    async def reset_refused(request: Request, exc: ResetUnavailable) -> JSONResponse:
        return JSONResponse({"error": str(exc), "type": "ResetUnavailable"}, status_code=409)

    @admin.exception_handler(FlagStoreError)
    async def store_down(request: Request, exc: FlagStoreError) -> JSONResponse:
        # The gateway routes on by its last good table; only changes and reads wait.
        body = {"error": str(exc), "type": "FlagStoreError"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    pending: list[asyncio.Future[None] | None] = [None]  # the health refresh under way

    @admin.get("/health")
    async def health() -> dict[str, Any]:
        # The poll thread keeps the state within a poll of the truth; a refresh is tried too,
        # unless one is under way, in a thread of its own: a store across the network may take
        # its timeout to answer, and the loop never waits for it (nor for a busy thread pool).
        refresh, loop = pending[0], asyncio.get_running_loop()
        if refresh is None or refresh.done() or refresh.get_loop() is not loop:
            refresh = pending[0] = loop.run_in_executor(  # never more than one queued
                _HEALTH_POOL, lambda: watcher.refresh(wait=False)
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(refresh), HEALTH_WAIT)
        flags = watcher.health()
        return {
            "status": flags["status"],
            "flags": flags,
            "endpoints": len(service.inventory),
            "worker": watcher.reader,  # which worker answered (host:pid:gateway)
        }

    # The flag answers are typed for mypy (strangler.flags.views), not validated again on the
    # way out: response_model=None keeps FastAPI from building a model of each.
    @guarded.get("/endpoints", response_model=None)
    def endpoints() -> list[EndpointRow]:
        return service.table(watcher.snapshot)

    @guarded.get("/flags", response_model=None)
    def flags() -> FlagTable:
        return watcher.snapshot.to_dict()

    @guarded.post("/flags", response_model=None)
    def set_flag(
        change: FlagChange, credential: Credential = Depends(require_writer)
    ) -> ChangeResult:
        actor = _actor(credential, change.actor)
        entry = service.set(
            change.endpoint,
            change.mode,
            change.percentage,
            actor=actor,
            reason=change.reason,
            segments=change.segments,
        )
        if entry is None:
            return service.unchanged(
                change.endpoint, change.mode, change.percentage, change.segments
            )
        watcher.refresh()  # this worker sees its own change at once; the others within a poll
        return service.changed(entry)

    schedule = Schedule(service)

    @guarded.get("/flags/scheduled")
    def scheduled() -> list[dict[str, Any]]:
        return [change.to_dict() for change in schedule.pending()]

    @guarded.post("/flags/scheduled")
    def schedule_change(
        change: ScheduledFlagChange, credential: Credential = Depends(require_writer)
    ) -> dict[str, Any]:
        at = change.at if isinstance(change.at, float | int) else parse_at(change.at, utc=True)
        kept = schedule.add(
            change.endpoint,
            change.mode,
            change.percentage,
            float(at),
            actor=_actor(credential, change.actor),
            reason=change.reason,
            segments=change.segments,
        )
        return kept.to_dict()

    @guarded.post("/flags/scheduled/cancel")
    def cancel_scheduled(
        cancel: ScheduleCancel, credential: Credential = Depends(require_writer)
    ) -> dict[str, Any]:
        actor = _actor(credential, cancel.actor)
        return schedule.cancel(cancel.id, actor=actor, reason=cancel.reason).to_dict()

    @guarded.get("/history", response_model=None)
    def history(
        endpoint: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[HistoryEntry]:
        return [entry.to_dict() for entry in service.history(endpoint, limit)]

    @guarded.post("/shadow", response_model=None)
    def set_shadow(
        change: ShadowChange, credential: Credential = Depends(require_writer)
    ) -> ChangeResult:
        actor = _actor(credential, change.actor)
        entry = service.shadow(
            change.endpoint,
            change.percentage,
            side_effect_free=change.side_effect_free,
            actor=actor,
            reason=change.reason,
        )
        if entry is None:
            return service.shadow_unchanged(
                change.endpoint, change.percentage, change.side_effect_free
            )
        watcher.refresh()
        return service.changed(entry)

    @guarded.get("/shadow")
    def shadow_report() -> dict[str, Any]:
        shadowing = {
            key: flag.to_dict() for key, flag in watcher.snapshot.flags.items() if flag.shadow
        }
        return {"enabled": shadow is not None, "flags": shadowing, **shadow_findings()}

    @guarded.get("/shadow/export")
    def shadow_export(recorded: bool = False) -> dict[str, Any]:
        return {"files": corpus_files(shadow_findings()["endpoints"], recorded)}

    @guarded.post("/shadow/ack")
    def shadow_ack(
        action: FindingsAction, credential: Credential = Depends(require_writer)
    ) -> dict[str, Any]:
        if not action.endpoint:
            raise UnknownEndpoint("say which endpoint's findings to acknowledge")
        actor = _actor(credential, action.actor)
        return findings.acknowledge(
            service.store, action.endpoint, actor=actor, reason=action.reason
        )

    @guarded.post("/shadow/clear")
    def shadow_clear(
        action: FindingsAction, credential: Credential = Depends(require_writer)
    ) -> dict[str, Any]:
        actor = _actor(credential, action.actor)
        return findings.clear(service.store, action.endpoint, actor=actor, reason=action.reason)

    rollout_service = rollouts

    @guarded.get("/service/openapi.json")
    def whole_service_openapi() -> dict[str, Any]:
        if service_openapi is None:
            raise UnknownEndpoint("this gateway was built without its apps' OpenAPI")
        return service_openapi()

    @guarded.get("/rollouts")
    def rollout_status(endpoint: str | None = None) -> list[dict[str, Any]]:
        return rollout_service.status(endpoint)

    @guarded.post("/rollouts")
    def rollout_start(
        start: RolloutStart, credential: Credential = Depends(require_writer)
    ) -> dict[str, Any]:
        steps = parse_steps(start.steps) if isinstance(start.steps, str) else tuple(start.steps)
        interval = (
            parse_duration(start.interval) if isinstance(start.interval, str) else start.interval
        )
        criteria = Criteria(start.max_error_delta, start.max_p99_ratio, start.max_mismatch_rate)
        gates = start.approve_at
        if isinstance(gates, str):  # "50" or "50,75", as the CLI takes it
            gates = list(parse_steps(gates)) if gates.strip() else []
        rollout = rollout_service.start(
            start.endpoint,
            steps,
            float(interval),
            start.min_requests,
            criteria,
            actor=_actor(credential, start.actor),
            reason=start.reason,
            approve_at=tuple(gates),
            from_start=start.from_start,
        )
        watcher.refresh()
        return rollout_service.describe(rollout, None, time.time())

    def rollout_action(name: str) -> None:
        act = getattr(rollout_service, name)

        def action(
            change: RolloutAction, credential: Credential = Depends(require_writer)
        ) -> dict[str, Any]:
            rollout = act(
                change.endpoint, actor=_actor(credential, change.actor), reason=change.reason
            )
            watcher.refresh()
            return rollout_service.describe(rollout, None, time.time())

        guarded.post(f"/rollouts/{name}", name=f"rollout_{name}")(action)

    for name in ("pause", "resume", "approve", "promote", "abort"):
        rollout_action(name)

    flags_collector = FlagCollector(
        lambda: [(k, f.mode, f.percentage) for k, f in watcher.snapshot.flags.items()]
    )

    def metrics_page() -> Response:
        if metrics is None:
            return JSONResponse(
                {"error": "this gateway counts nothing (metrics = false)", "type": "NotFound"},
                status_code=404,
            )
        metrics.sync(watcher, shadow)  # this worker's slower figures, exact now
        body, content_type = render(metrics, flags_collector, *extra_metrics)
        return Response(body, media_type=content_type)

    if metrics_public:
        admin.get("/metrics", response_class=Response)(metrics_page)
    else:
        guarded.get("/metrics", response_class=Response)(metrics_page)

    @guarded.get("/status")
    def status() -> dict[str, Any]:
        return progress().to_dict()

    @guarded.post("/contract/reset")
    async def reset_for_contracts(
        call: ContractReset, credential: Credential = Depends(require_writer)
    ) -> dict[str, Any]:
        if not call.reason.strip():
            raise InvalidFlag("say why: a contract reset needs a reason (it goes in the log)")
        # Resetting wipes state the users of this worker rely on (a cache, a database table):
        # a test deployment allows it by a setting; a gateway in --dev always does.
        if not contract_reset:
            raise ResetUnavailable(
                "this gateway has no contract_reset: name the hook that gives fresh state in"
                ' its settings (contract_reset = "module:function")'
            )
        if not contract_reset_live:
            raise ResetUnavailable(
                f"this gateway serves real traffic: {contract_reset} would wipe its users' state;"
                " allow it on a test deployment with contract_reset_live = true, or serve it"
                " with --dev"
            )
        try:
            hook = import_string(contract_reset, root)
        except ConfigError as exc:
            raise ResetUnavailable(f"contract_reset cannot be imported here: {exc}") from exc
        log.warning(
            "contract reset: %s run by %s (%s)",
            contract_reset,
            _actor(credential, call.actor),
            call.reason,
        )
        # In this worker, as the in-process contract run calls it: the answer goes back over
        # the connection the play that follows is sent on (same worker). A coroutine function
        # is awaited on the loop; a plain one (a database wipe, blocking) runs in a thread, so
        # the worker's other requests go on meanwhile.
        if inspect.iscoroutinefunction(hook):
            await hook()
        else:
            result = await asyncio.to_thread(hook)
            if inspect.isawaitable(result):  # a function that hands back a coroutine
                await result
        workers = await asyncio.to_thread(service.readers)  # a store across the network
        return {"reset": contract_reset, "worker": watcher.reader, "workers": workers}

    admin.include_router(guarded)
    return admin


def _finite(value: Any) -> Any:
    """`value` with NaN and the infinities as strings: a validation error echoes the input it
    refused, and JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def _actor(credential: Credential, claimed: str | None) -> str:
    """Who made a change, for the audit: the credential, and beside it who the caller says it
    is (never instead of it)."""
    if claimed and claimed != credential.name:
        return f"{credential.name} (as {claimed})"
    return credential.name
