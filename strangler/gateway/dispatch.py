"""The gateway: one ASGI app that sends each request to the legacy or the migrated app.

    request ─► admin prefix? ──yes──► admin API
                   │ no
                   ▼
           inventory.match(method, path) ─► flag from this worker's snapshot ─► decide()
                   │                                                             │
                   ▼                                                             ▼
           legacy WSGI app (through the bridge)      or      migrated ASGI app
                   │                                                             │
                   └──────────► response, marked `X-Strangler-Backend: …` ◄──────┘

Paths no app declares go to legacy, so legacy's own 404 and 405 answers stay exactly as they were.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Iterable
from pathlib import Path
from time import perf_counter

from strangler.admin.api import build_admin_app
from strangler.admin.auth import ADMIN_TOKEN_HEADER, Credentials
from strangler.bridge.bridge import make_bridge
from strangler.bridge.pool import LegacyPool
from strangler.contracts.saved import load_results
from strangler.errors import ConfigError
from strangler.flags.service import FlagService
from strangler.flags.store import FlagStore, open_store
from strangler.flags.watcher import DEFAULT_INTERVAL, FlagWatcher
from strangler.gateway.errors import ForceRefused
from strangler.gateway.lifespan import Lifespan
from strangler.metrics.exposition import worker_exited
from strangler.metrics.fleet import FleetReader
from strangler.metrics.gateway import GatewayMetrics
from strangler.metrics.requestlog import RequestIds, RequestLog
from strangler.report.progress import Progress, gather
from strangler.rollout.conductor import Conductor
from strangler.rollout.guard import EVERY_ENDPOINT, Guard, GuardRule
from strangler.rollout.service import RolloutService
from strangler.routing.decision import Decision, Reason, decide
from strangler.routing.inventory import Inventory, discover, merged_slashes
from strangler.routing.openapi import service_openapi
from strangler.routing.sticky import StickySource, parse_sticky
from strangler.shadow.tap import ShadowTap
from strangler.types import LOOPBACK, ASGIApp, Backend, Message, Receive, Scope, Send, WSGIApp

log = logging.getLogger("strangler.gateway")

FORCE_HEADER = b"x-strangler-force-backend"
_ADMIN_HEADER = ADMIN_TOKEN_HEADER.encode()
_OUR_HEADERS = (FORCE_HEADER, _ADMIN_HEADER)


class Gateway:
    """The ASGI app `create_gateway` returns; see the module docstring for the request path."""

    def __init__(
        self,
        legacy: ASGIApp,
        migrated: ASGIApp,
        inventory: Inventory,
        watcher: FlagWatcher,
        *,
        sticky: StickySource,
        backend_header: str | None,
        admin_prefix: str,
        credentials: Credentials,
        freeze_gc: bool = False,
        capacity: dict[Backend, int] | None = None,
        legacy_pool: LegacyPool | None = None,
        body_limits: dict[str, int] | None = None,
        shadow: ShadowTap | None = None,
        metrics: GatewayMetrics | None = None,
        request_log: RequestLog | None = None,
        request_id_header: str | None = None,
        metrics_public: bool = False,
        guard: GuardRule | None = None,
        contract_results: Path | None = None,
        legacy_quiet_days: float = 7.0,
        dashboard_hosts: tuple[str, ...] = LOOPBACK,
    ) -> None:
        self.legacy = legacy
        self.migrated = migrated
        self.inventory = inventory
        self.watcher = watcher
        self.service = FlagService(watcher.store, inventory)
        self.shadow = shadow  # None: this gateway shadows nothing, whatever the flags say
        if shadow is not None:  # every worker's findings, for whichever worker is asked
            watcher.publishers["shadow"] = shadow.published
        self.metrics = metrics  # None: nothing counted
        if metrics is not None:  # every worker's totals, for the rollout judge
            watcher.publishers["requests"] = metrics.published
        self.request_log = request_log  # None: no line per request
        self._observing = metrics is not None or request_log is not None
        self._id_header = request_id_header.lower().encode() if request_id_header else None
        self._ids = RequestIds()
        self._contract_results = contract_results
        self._legacy_quiet_days = legacy_quiet_days
        fleet = FleetReader(
            watcher.store,
            watcher.reader,
            metrics.totals if metrics is not None else None,
            shadow.report if shadow is not None else None,
        )
        self.rollouts = RolloutService(self.service, fleet)
        self.conductor = Conductor(
            self.rollouts, watcher.reader, Guard(guard) if guard and guard.endpoints else None
        )
        self.admin = build_admin_app(
            self.service,
            watcher,
            credentials=credentials,
            shadow=shadow,
            metrics=metrics,
            metrics_public=metrics_public,
            rollouts=self.rollouts,
            service_openapi=lambda: service_openapi(legacy, migrated, inventory),
            progress=self.progress,
            dashboard_hosts=dashboard_hosts,
        )
        self._sticky = sticky
        self._admin_prefix = admin_prefix.rstrip("/")
        self._admin_folder = self._admin_prefix + "/"
        self._credentials = credentials
        self._marks: dict[Backend, list[tuple[bytes, bytes]]] = {b: [] for b in Backend}
        if backend_header:
            name = backend_header.lower().encode("latin-1")
            self._marks = {backend: [(name, backend.value.encode())] for backend in Backend}
        # Load shedding: requests in flight per backend, and how many each may have; past that a
        # request is answered 503 at once instead of queueing without bound. Legacy may have as
        # many more as its pool has threads at the moment (the pool adapts).
        self._capacity = {b: (capacity or {}).get(b, _UNLIMITED) for b in Backend}
        self._legacy_pool = legacy_pool
        self._busy = dict.fromkeys(Backend, 0)
        self._body_limits = body_limits or {}  # by endpoint key
        self._lifespan: Lifespan | None = None
        self._watching = False
        self._freeze_gc = freeze_gc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self.migrated(scope, receive, send)  # WSGI cannot speak websockets
            elif scope["type"] == "lifespan":
                await self._serve_lifespan(scope, receive, send)
            return

        # HTTP, the hot path: written inline, one coroutine frame fewer per request.
        started = perf_counter()
        if not self._watching:
            self._watch()
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and (path == root_path or path.startswith(root_path + "/")):
            path = path[len(root_path) :]
        if path.startswith(self._admin_folder) or path == self._admin_prefix:
            child = dict(scope, root_path=root_path + self._admin_prefix)
            await self.admin(child, receive, send)
            return

        decision = self.route(scope, path)
        backend, reason = decision.backend, decision.reason
        ours = False
        request_id = None
        for name, value in scope["headers"]:  # one pass: no generator per request
            if name in _OUR_HEADERS:
                ours = True
            elif name == self._id_header:
                request_id = value
        extra: list[tuple[bytes, bytes]] = []  # response headers of the gateway's own
        if self._id_header is not None:
            if request_id is None or not RequestIds.valid(request_id):
                request_id = self._ids.new()  # passed to both apps, and returned
                scope = _with_request_id(scope, self._id_header, request_id)
            extra = [(self._id_header, request_id)]
        forced = False
        if ours:
            try:
                forced = (chosen := self._forced(scope)) is not None
                backend = chosen or backend
                reason = Reason.FORCED if forced else reason
            except ForceRefused:
                await _refuse_force(_Reply(send, extra, self._id_header))
                if self._observing:
                    seconds = perf_counter() - started
                    self._observe(scope, decision, backend, reason, 401, seconds, request_id)
                return
            # The apps never see the admin credential.
            scope = dict(scope, headers=[h for h in scope["headers"] if h[0] not in _OUR_HEADERS])

        shadowed = None
        if self.watcher.snapshot.shadowing and self.shadow is not None and not forced:
            shadowed = self._shadowed(scope, decision.endpoint)  # its key, if it is shadowed
        legacy_scope = scope
        if backend is Backend.MIGRATED:
            app = self.migrated
            if "//" in path:  # rare: no call on the hot path
                scope = self._for_migrated(scope, path, root_path)
        else:
            app = self.legacy
        id_name = self._id_header
        reply = _Reply(send, self._marks[backend] + extra, id_name)
        try:
            if self._body_limits and self._too_large(scope, decision.endpoint):
                reason = Reason.TOO_LARGE  # the gateway's answer, not the backend's: unmarked
                reply = _Reply(send, extra, id_name)
                await _answer(reply, 413, b"the request body is larger than this endpoint accepts")
                return
            capacity = self._capacity[backend]
            if backend is Backend.LEGACY and self._legacy_pool is not None:
                capacity += self._legacy_pool.limit
            if self._busy[backend] >= capacity:
                reason = Reason.SHED  # likewise: not held against the backend
                reply = _Reply(send, extra, id_name)
                await _answer(reply, 503, b"overloaded: try again shortly", _RETRY_AFTER)
                return
            await self._serve(app, scope, receive, reply, backend, shadowed, legacy_scope, path)
        finally:
            if self._observing:
                seconds = perf_counter() - started
                self._observe(scope, decision, backend, reason, reply.status, seconds, request_id)

    async def _serve(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        reply: _Reply,
        backend: Backend,
        shadowed: str | None,
        legacy_scope: Scope,
        path: str,
    ) -> None:
        """Runs the chosen app (and the shadow tap, if the request is shadowed)."""
        self._busy[backend] += 1
        try:
            if shadowed is None:
                await app(scope, receive, reply)
            else:
                root_path = scope.get("root_path", "")
                migrated_scope = self._for_migrated(legacy_scope, path, root_path)
                await self._serve_shadowed(
                    shadowed, backend, legacy_scope, migrated_scope, receive, reply
                )
        except Exception:
            if not reply.status:
                reply.status = 500  # what the server answers for an app that raised
            raise
        finally:
            self._busy[backend] -= 1

    def _observe(
        self,
        scope: Scope,
        decision: Decision,
        backend: Backend,
        reason: Reason,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        """Counts the request and logs its line; a fault here costs the figures, never the
        request (already answered)."""
        status = status or NO_ANSWER
        try:
            if self.metrics is not None:
                self.metrics.observe(decision.endpoint, backend, reason, status, seconds)
            if self.request_log is not None:
                self.request_log.write(
                    request_id or b"-",
                    scope["method"],
                    decision.endpoint,
                    backend.value,
                    reason.value,
                    decision.bucket,
                    decision.version,
                    status,
                    seconds,
                )
        except Exception:
            log.exception("could not count or log a request")

    def _shadowed(self, scope: Scope, key: str | None) -> str | None:
        """The endpoint key if this request (to the endpoint `key` the routing matched) is to be
        shadowed (see strangler.shadow)."""
        assert self.shadow is not None
        if key is None:
            return None
        endpoint = self.inventory.endpoints.get(key)
        flag = self.watcher.snapshot.flags.get(key)
        if endpoint is None or flag is None or not flag.shadow or len(endpoint.backends) != 2:
            return None
        return endpoint.key if self.shadow.wants(endpoint.key, scope["method"], flag) else None

    async def _serve_shadowed(
        self,
        key: str,
        backend: Backend,
        legacy_scope: Scope,
        migrated_scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Serves from `backend` as usual; the shadow tap also sends the request to the other."""
        assert self.shadow is not None
        pool = self._legacy_pool
        legacy_busy = getattr(self.legacy, "busy", 0)  # a WSGIBridge counts its requests
        if backend is Backend.MIGRATED and pool is not None and legacy_busy >= pool.limit:
            # Every legacy thread is taken: a shadow call would take one from a client.
            self.shadow.records[key].busy += 1
            await self.migrated(migrated_scope, receive, send)
            return
        legacy = (self.legacy, legacy_scope)
        migrated = (self.migrated, migrated_scope)
        serving, other = (migrated, legacy) if backend is Backend.MIGRATED else (legacy, migrated)
        await self.shadow.serve(key, backend, *serving, *other, receive, send)

    def _for_migrated(self, scope: Scope, path: str, root_path: str) -> Scope:
        """The scope as the migrated app must see it: `//` merged, as legacy reads it."""
        if "//" in path and self.inventory.merge_slashes:
            return _with_path(scope, root_path + merged_slashes(path))
        return scope

    def _too_large(self, scope: Scope, key: str | None) -> bool:
        """Whether the declared body exceeds the `body_limits` entry of the endpoint `key` the
        routing matched."""
        limit = self._body_limits.get(key) if key is not None else None
        if limit is None:
            return False
        for name, value in scope["headers"]:
            if name == b"content-length":
                return value.isdigit() and int(value) > limit
        return False

    def _watch(self) -> None:
        """Starts polling the flag store: at lifespan startup, or at the first request for
        servers that send no lifespan."""
        self._watching = True
        self.watcher.start()
        if self.metrics is not None:
            self.metrics.start(self.watcher, self.shadow)
        self.conductor.start()

    def progress(self) -> Progress:
        """How far the migration is (strangler.report): the flags, every worker's figures, the
        rollouts, and the last contract run saved."""
        contracts = load_results(self._contract_results) if self._contract_results else None
        ledger = self.shadow.ledger if self.shadow is not None else None
        return gather(
            self.service,
            self.watcher.snapshot,
            self.rollouts.fleet.try_read(),
            self.rollouts.load(),
            contracts,
            ledger,
            self._legacy_quiet_days,
        )

    def close(self) -> None:
        """Stops the gateway's threads and writes what it holds (at shutdown)."""
        self.conductor.stop()
        self.watcher.close()
        if self.metrics is not None:
            self.metrics.stop()
            worker_exited()
        if self.request_log is not None:
            self.request_log.close()

    def route(self, scope: Scope, path: str) -> Decision:
        """The routing decision for a request; never raises (a fault means legacy)."""
        snapshot = self.watcher.snapshot
        try:
            endpoint = self.inventory.match(scope["method"], path)
            if endpoint is None:
                return decide(None, None, snapshot.version)
            flag = snapshot.flags.get(endpoint.key)
            return decide(endpoint, flag, snapshot.version, lambda: self._sticky(scope))
        except Exception:
            log.exception("routing failed for %s %s; sending it to legacy", scope["method"], path)
            return Decision(Backend.LEGACY, Reason.FALLTHROUGH, snapshot.version)

    def _forced(self, scope: Scope) -> Backend | None:
        """The backend the force header names, or None; ForceRefused without the credential."""
        headers = dict(h for h in scope["headers"] if h[0] in _OUR_HEADERS)
        wanted = headers.get(FORCE_HEADER)
        if wanted is None:
            return None
        token = headers.get(_ADMIN_HEADER)
        if self._credentials.match(token.decode("latin-1") if token else None) is None:
            raise ForceRefused
        try:
            return Backend(wanted.decode("latin-1").strip().lower())
        except ValueError:
            raise ForceRefused from None

    async def _serve_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        self._lifespan = Lifespan(self.migrated, scope.get("state"))
        try:
            await self._lifespan.startup()
        except Exception as exc:
            log.exception("the migrated app failed to start")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        self._watch()
        if self._freeze_gc:
            # Both apps, their frameworks and the model are now loaded: hundreds of thousands of
            # long-lived objects that every full collection would walk again, stalling requests
            # (measured: p99 67 ms -> 9 ms on /model-info at 32 connections). Frozen objects are
            # never collected, so collect the garbage first.
            gc.collect()
            gc.freeze()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        self.close()
        try:
            await self._lifespan.shutdown()
        except Exception as exc:
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


_UNLIMITED = 1 << 62
NO_ANSWER = 499  # counted for a request the app never answered (its client had left)
_RETRY_AFTER = [(b"retry-after", b"1")]


async def _answer(
    send: Send, status: int, message: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """The gateway's own JSON error answer, `{"error": message}` as the apps answer errors."""
    body = b'{"error":"%s"}' % message
    start = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": status, "headers": start + (headers or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse_force(send: Send) -> None:
    body = (
        b'{"error":"X-Strangler-Force-Backend needs a valid X-Strangler-Admin-Token and a'
        b' backend of legacy or migrated","type":"Unauthorized"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _with_path(scope: Scope, path: str) -> Scope:
    return dict(scope, path=path, raw_path=path.encode("utf-8"))


class _Reply:
    """Wraps `send`: adds the gateway's response headers (the backend's name, the request id)
    to the answer's start, and remembers its status (0 until it starts)."""

    __slots__ = ("_headers", "_id_name", "_send", "status")

    def __init__(
        self, send: Send, headers: list[tuple[bytes, bytes]], id_name: bytes | None = None
    ) -> None:
        self._send = send
        self._headers = headers  # the request id last, when `id_name` names it
        self._id_name = id_name
        self.status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self._headers:  # a new message: the app may send the same one again
                headers = _added(message.get("headers", ()), self._headers, self._id_name)
                message = {**message, "headers": headers}
        await self._send(message)


def _added(
    headers: Iterable[tuple[bytes, bytes]], ours: list[tuple[bytes, bytes]], id_name: bytes | None
) -> list[tuple[bytes, bytes]]:
    """The answer's headers, then ours. Ours end with the request id when `id_name` is given,
    left out if the app set one itself (an app that echoes it keeps its own)."""
    headers = list(headers)
    if id_name is not None:
        size = len(id_name)
        for name, _ in headers:
            if len(name) == size and name.lower() == id_name:
                return headers + ours[:-1]
    return headers + ours


def _with_request_id(scope: Scope, name: bytes, value: bytes) -> Scope:
    """The scope with the request id header set to `value` (replacing an unsound one). The
    server made the scope for this request alone: its headers are replaced, the dict kept."""
    scope["headers"] = [*(h for h in scope["headers"] if h[0] != name), (name, value)]
    return scope


def _endpoint_key(inventory: Inventory, key: str, setting: str) -> str:
    try:
        endpoint = inventory.get(key)
    except ValueError as exc:
        raise ConfigError(f"{setting}: {exc}") from None
    if endpoint is None:
        raise ConfigError(f"{setting} names {key!r}, which neither app serves")
    return endpoint.key


def check_admin_prefix(admin_prefix: str) -> None:
    """Raises ConfigError unless the admin prefix is a path below the root."""
    if not admin_prefix.startswith("/") or admin_prefix.rstrip("/") == "":
        raise ConfigError(
            f"admin_prefix {admin_prefix!r} must be a path below the root, e.g. '/_strangler'"
        )


def create_gateway(
    legacy: WSGIApp,
    migrated: ASGIApp,
    flags: str | Path | FlagStore = "memory:",
    *,
    sticky: str = "client",
    backend_header: str | None = "X-Strangler-Backend",
    admin_prefix: str = "/_strangler",
    admin_token: str | None = None,
    admin_tokens: str | None = None,
    dev_mode: bool = False,
    legacy_threads: int | None = None,
    poll_interval: float = DEFAULT_INTERVAL,
    freeze_gc: bool = False,
    legacy_queue: int | None = None,
    migrated_concurrency: int | None = None,
    body_limits: dict[str, int] | None = None,
    shadow: ShadowTap | None = None,
    metrics: bool = True,
    metrics_public: bool = False,
    request_log: str | None = None,
    request_id_header: str | None = "X-Request-ID",
    guard: GuardRule | None = None,
    contract_results: str | Path | None = None,
    legacy_quiet_days: float = 7.0,
    dashboard_hosts: tuple[str, ...] | list[str] = LOOPBACK,
) -> Gateway:
    """Builds the gateway in front of a WSGI app (`legacy`) and an ASGI app (`migrated`).

    flags: where the flag table lives: a SQLite file path, `memory:`, or a FlagStore. Every
        worker pointed at the same file sees every change within `poll_interval` seconds.
    sticky: where a canary caller's identity comes from: `jwt:CLAIM`, `header:NAME`,
        `cookie:NAME` or `client` (see strangler.routing.sticky).
    backend_header: response header naming the backend that served; None to leave it out.
    admin_prefix: the reserved path of the admin API. Its credentials: `admin_tokens`, named
        ones (`ann:write:TOKEN,ci:read:TOKEN`, see strangler.admin.auth), and `admin_token`, one
        shared credential named admin. They guard the API and the X-Strangler-Force-Backend
        request header; with none the API is closed unless `dev_mode`.
    legacy_threads: threads running the legacy app (its concurrency). None: from 4 up to 64,
        more while they wait on I/O, not while they compute (strangler.bridge.pool).
    legacy_queue: legacy requests that may wait for a thread; past the threads plus this, 503
        with Retry-After at once (None: no bound). `migrated_concurrency`: migrated requests in
        flight, likewise. Shedding keeps latency bounded and the admin API answerable.
    body_limits: `{"POST /upload": 1048576}`: a larger declared body is answered 413.
    shadow: the shadow tap that serves the flags' shadow shares (strangler.shadow); None: one
        comparing by the default rules, with no ledger (`build_gateway` gives the corpus's).
    metrics: count requests for Prometheus (served at `{admin_prefix}/metrics`) and the rollout
        judge (strangler.metrics); False: nothing is counted. `metrics_public`: the scrape
        needs no credential (it says which endpoints exist and how they fare).
    request_log: `stdout`, `stderr` or a file path: one JSON line per request there
        (strangler.metrics.requestlog); None: none.
    request_id_header: the request id kept when sent, made when not, passed to both apps and
        returned; None: no request ids.
    guard: endpoints sent back to legacy by themselves when their migrated answers fail
        (strangler.rollout.guard); None: none.
    dashboard_hosts: the host names the dashboard (`{admin_prefix}/ui/`) answers on: never the
        apps' own (strangler.dashboard.app says why); loopback by default.
    freeze_gc: after startup, move every object alive to the garbage collector's permanent
        generation (`gc.freeze()`), so full collections stop walking both apps and the model.
        Worth it in a process the gateway owns (`strangler serve` turns it on); off by default
        because it changes the host process.
    """
    check_admin_prefix(admin_prefix)
    store = open_store(flags) if isinstance(flags, str | Path) else flags
    inventory = discover(legacy, migrated)
    limits = {
        _endpoint_key(inventory, key, "body_limits"): int(size)
        for key, size in (body_limits or {}).items()
    }
    if guard is not None:
        guard.check()
        guarded = tuple(
            key if key == EVERY_ENDPOINT else _endpoint_key(inventory, key, "guard")
            for key in guard.endpoints
        )
        guard = dataclasses.replace(guard, endpoints=guarded)
    capacity = {}
    if legacy_queue is not None:
        capacity[Backend.LEGACY] = legacy_queue
    if migrated_concurrency is not None:
        capacity[Backend.MIGRATED] = migrated_concurrency
    bridge = make_bridge(legacy, threads=legacy_threads)
    return Gateway(
        bridge,
        migrated,
        inventory,
        FlagWatcher(store, poll_interval),
        sticky=parse_sticky(sticky),
        backend_header=backend_header,
        admin_prefix=admin_prefix,
        credentials=Credentials.parse(admin_tokens, admin_token, dev_mode=dev_mode),
        capacity=capacity,
        legacy_pool=bridge.pool,
        body_limits=limits,
        shadow=shadow if shadow is not None else ShadowTap(),
        freeze_gc=freeze_gc,
        metrics=GatewayMetrics() if metrics else None,
        request_log=RequestLog(request_log) if request_log else None,
        request_id_header=request_id_header,
        metrics_public=metrics_public,
        guard=guard,
        contract_results=Path(contract_results) if contract_results else None,
        legacy_quiet_days=legacy_quiet_days,
        dashboard_hosts=tuple(dashboard_hosts),
    )
