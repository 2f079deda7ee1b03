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

import gc
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from operator import itemgetter, methodcaller
from time import perf_counter
from typing import NamedTuple

from strangler.bridge.pool import LegacyPool
from strangler.credentials import ADMIN_TOKEN_HEADER, Credentials
from strangler.flags.watcher import FlagWatcher
from strangler.gateway import fallback
from strangler.gateway.errors import ForceRefused
from strangler.gateway.hooks import Lifecycle, RequestObserver, Shadow
from strangler.gateway.lifespan import Lifespan
from strangler.gateway.requestid import RequestIds
from strangler.routing.decision import Decision, Reason, decide
from strangler.routing.inventory import Inventory, merged_slashes
from strangler.routing.sticky import StickySource, parse_sticky
from strangler.types import ASGIApp, Backend, Message, Receive, Scope, Send

log = logging.getLogger("strangler.gateway")

FORCE_HEADER = b"x-strangler-force-backend"
_ADMIN_HEADER = ADMIN_TOKEN_HEADER.encode()
_OUR_HEADERS = frozenset((FORCE_HEADER, _ADMIN_HEADER))
_NAME = itemgetter(0)  # a header's name
_LOWER = methodcaller("lower")


class Shadowing(NamedTuple):
    """A request to an endpoint with a shadow share: the endpoint's key, and whether this
    request is one of the share (sampled: sent to both apps) or only noted (for races)."""

    key: str
    sampled: bool


class Gateway:
    """The request path; see the module docstring. It takes its collaborators ready-made:
    strangler.assembly builds them from the settings (`create_gateway`, `build_gateway`).

    legacy, migrated: the two apps, both ASGI (legacy through the WSGI bridge).
    inventory: both apps' endpoints, and the matcher. watcher: this worker's flag snapshot.
    credentials: who may use the force header. admin: the app served under `admin_prefix`.
    capacity: requests in flight per backend past which the answer is 503 (with `legacy_pool`,
        legacy may have as many more as the pool has threads). body_limits: by endpoint key.
    shadow, observers, runtime (a Lifecycle): see strangler.gateway.hooks.
    """

    def __init__(
        self,
        legacy: ASGIApp,
        migrated: ASGIApp,
        inventory: Inventory,
        watcher: FlagWatcher,
        *,
        credentials: Credentials,
        admin: ASGIApp | None = None,
        admin_prefix: str = "/_strangler",
        sticky: StickySource | None = None,
        backend_header: str | None = "X-Strangler-Backend",
        request_id_header: str | None = "X-Request-ID",
        capacity: dict[Backend, int] | None = None,
        legacy_pool: LegacyPool | None = None,
        body_limits: dict[str, int] | None = None,
        shadow: Shadow | None = None,
        observers: Sequence[RequestObserver] = (),
        runtime: Lifecycle | None = None,
        freeze_gc: bool = False,
        guarded: Callable[[str], bool] | None = None,
    ) -> None:
        self.legacy = legacy
        self.migrated = migrated
        self.inventory = inventory
        self.watcher = watcher
        self.admin = admin
        self.shadow = shadow  # None: this gateway shadows nothing, whatever the flags say
        self.observers = tuple(observers)
        self.runtime = runtime
        self._id_header = request_id_header.lower().encode() if request_id_header else None
        self._ids = RequestIds()
        self._sticky = sticky or parse_sticky("client")
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
        # Decisions that are the same for every caller, by (method, path), for the snapshot they
        # were made by (route()): a request to a path seen before skips the match and decide().
        self._routed: dict[tuple[str, str], Decision] = {}
        self._routed_by: object = None
        self._lifespan: Lifespan | None = None
        self._watching = False
        self._freeze_gc = freeze_gc
        # Endpoint keys whose failed migrated answers strangler.gateway.fallback replaces
        self._guarded = guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self.migrated(scope, receive, send)  # WSGI cannot speak websockets
            elif scope["type"] == "lifespan":
                await self._serve_lifespan(scope, receive, send)
            return

        # HTTP, the hot path: written inline, no coroutine frame of ours between the server and
        # the app (a call per step would cost more than the step).
        started = perf_counter()
        if not self._watching:
            self._watch()
        path: str = scope["path"]
        # The usual request has no root_path and is not the admin API's: within() only for
        # the others (a call costs more than the two tests).
        if scope.get("root_path") or path.startswith(self._admin_prefix):
            inside = self.within(scope)
            if inside is None:  # the admin API's
                assert self.admin is not None
                root = scope.get("root_path", "")
                # Mounted at root_path + prefix, its path starts there too, also where the
                # server left the root_path out of the path (httpx's ASGITransport does).
                if root and not (path == root or path.startswith(root + "/")):
                    path = root + path
                child = dict(scope, root_path=root + self._admin_prefix, path=path)
                await self.admin(child, receive, send)
                return
            path = inside

        # route()'s kept decision, looked up here (a call costs as much as the lookup).
        decision = None
        if self.watcher.snapshot is self._routed_by:
            decision = self._routed.get((scope["method"], path))
        if decision is None:
            decision = self.route(scope, path)
        backend, reason = decision.backend, decision.reason
        # The request's headers by name, made in C: a Python loop over them cost a request
        # 14 bytecodes a header. Names are lowercase (ASGI); a repeated one counts its last.
        named = dict(scope["headers"])
        ours = not _OUR_HEADERS.isdisjoint(named)
        request_id = named.get(self._id_header) if self._id_header is not None else None
        extra: list[tuple[bytes, bytes]] = []  # response headers of the gateway's own
        if self._id_header is not None:
            if request_id is None:  # the usual case: made here, passed to both apps, returned
                request_id = self._ids.new()
                scope["headers"] = [*scope["headers"], (self._id_header, request_id)]
            elif not RequestIds.valid(request_id):
                request_id = self._ids.new()
                scope = _with_request_id(scope, self._id_header, request_id)
            extra = [(self._id_header, request_id)]
        id_name = self._id_header
        reply = _Reply(send, self._marks[backend] + extra, id_name)
        try:
            forced = False
            if ours:
                try:
                    chosen = self._forced(scope, decision)
                except ForceRefused:
                    reply = _Reply(send, extra, id_name)  # the gateway's answer: unmarked
                    await _refuse_force(reply)
                    return
                if chosen is not None:
                    forced = True
                    backend, reason = chosen, Reason.FORCED
                    reply = _Reply(send, self._marks[backend] + extra, id_name)
                # The apps never see the admin credential.
                headers = [h for h in scope["headers"] if h[0] not in _OUR_HEADERS]
                scope = dict(scope, headers=headers)

            shadowing = None
            if self.watcher.snapshot.shadowing and self.shadow is not None and not forced:
                shadowing = self._shadowing(scope, decision.endpoint)
            legacy_scope = scope
            if backend is Backend.MIGRATED:
                app = self.migrated
                if "//" in path:  # rare: no call on the hot path
                    scope = self._for_migrated(scope, path)
            else:
                app = self.legacy
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
            self._busy[backend] += 1
            try:
                if shadowing is not None and shadowing.sampled:
                    migrated_scope = self._for_migrated(legacy_scope, path)
                    await self._serve_shadowed(
                        shadowing.key, backend, legacy_scope, migrated_scope, receive, reply
                    )
                else:
                    if self._guarded is not None and backend is Backend.MIGRATED and not forced:
                        app = self._guard(decision.endpoint, legacy_scope, send, extra, reply)
                    if shadowing is None:
                        await app(scope, receive, reply)
                    else:  # not sampled, but noted: a shadowed request it overlaps may race it
                        assert self.shadow is not None
                        await self.shadow.serve_unshadowed(
                            shadowing.key, app, scope, receive, reply
                        )
            except Exception:
                if not reply.status:
                    reply.status = 500  # what the server answers for an app that raised
                raise
            finally:
                self._busy[backend] -= 1
        finally:
            # Every answer, the gateway's own included, is told here: the one place, inline
            # (a method call here cost 16 bytecodes a request, measured by
            # tests/gateway/test_dispatch_cost.py: 464 -> 480).
            if self.observers:
                seconds = perf_counter() - started
                status = reply.status or NO_ANSWER
                for observer in self.observers:
                    try:
                        observer.request_done(
                            scope["method"], decision, backend, reason, status, seconds, request_id
                        )
                    except Exception:
                        log.exception("%r could not count or log a request", observer)

    def within(self, scope: Scope) -> str | None:
        """The request's path inside the mount (ASGI's root_path taken off when the path is
        under it, at a segment boundary), or None when it is the admin API's: the one rule, for
        the request path and for strangler.tracing."""
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and (path == root_path or path.startswith(root_path + "/")):
            path = path[len(root_path) :]
        if self.admin is not None and (
            path.startswith(self._admin_folder) or path == self._admin_prefix
        ):
            return None
        return path

    def _shadowing(self, scope: Scope, key: str | None) -> Shadowing | None:
        """Whether this request (to the endpoint `key` the routing matched) is shadowed (see
        strangler.shadow), when its endpoint has a shadow share; None when it has none."""
        assert self.shadow is not None
        if key is None:
            return None
        endpoint = self.inventory.endpoints.get(key)
        flag = self.watcher.snapshot.flags.get(key)
        if endpoint is None or flag is None or not flag.shadow or len(endpoint.backends) != 2:
            return None
        return Shadowing(endpoint.key, self.shadow.wants(endpoint.key, scope["method"], flag))

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
            self.shadow.skipped_busy(key)
            await self.shadow.serve_unshadowed(key, self.migrated, migrated_scope, receive, send)
            return
        legacy = (self.legacy, legacy_scope)
        migrated = (self.migrated, migrated_scope)
        serving, other = (migrated, legacy) if backend is Backend.MIGRATED else (legacy, migrated)
        await self.shadow.serve(key, backend, *serving, *other, receive, send)

    def _guard(
        self,
        key: str | None,
        legacy_scope: Scope,
        send: Send,
        extra: list[tuple[bytes, bytes]],
        reply: _Reply,
    ) -> ASGIApp:
        """The migrated app, or for a guarded endpoint `key` the migrated app whose failed
        answer is replaced (strangler.gateway.fallback), its status counted as migrated's in
        `reply`: an ASGI app either way, so the shadow tap can note it as any other."""
        if key is None or self._guarded is None or not self._guarded(key):
            return self.migrated
        legacy_reply = _Reply(send, self._marks[Backend.LEGACY] + extra, self._id_header)

        async def guarded(scope: Scope, receive: Receive, migrated_send: Send) -> None:
            reply.status = await fallback.serve(
                self.migrated,
                self._legacy_retry,
                scope,
                legacy_scope,
                receive,
                migrated_send,
                legacy_reply,
                self._legacy_room,
            )

        return guarded

    async def _legacy_retry(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Legacy, asked again for a guarded endpoint's failed answer: one of legacy's requests
        in flight like any other, so shedding sees it."""
        self._busy[Backend.LEGACY] += 1
        try:
            await self.legacy(scope, receive, send)
        finally:
            self._busy[Backend.LEGACY] -= 1

    def _legacy_room(self) -> bool:
        """Whether legacy may take one more request (its capacity, reckoned as __call__ does)."""
        capacity = self._capacity[Backend.LEGACY]
        if self._legacy_pool is not None:
            capacity += self._legacy_pool.limit
        return self._busy[Backend.LEGACY] < capacity

    def _for_migrated(self, scope: Scope, path: str) -> Scope:
        """The scope as the migrated app must see it: `//` merged, as legacy reads it (`path`:
        inside the mount)."""
        if "//" in path and self.inventory.merge_slashes:
            return _with_path(scope, scope.get("root_path", "") + merged_slashes(path))
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
        """Starts the gateway's threads: at lifespan startup, or at the first request for
        servers that send no lifespan."""
        self._watching = True
        if self.runtime is not None:
            self.runtime.start()

    def close(self) -> None:
        """Stops the gateway's threads and writes what they hold (at shutdown)."""
        if self.runtime is not None:
            self.runtime.close()

    def route(self, scope: Scope, path: str) -> Decision:
        """The routing decision for a request; never raises (a fault means legacy).

        A decision that does not depend on the caller (no canary bucket, no segments) is kept
        by method and path until the snapshot changes, so the next request to the same path
        skips the match; at most ROUTED_KEPT of them, of paths up to ROUTED_PATH characters (a
        scan of made-up paths empties the table, it never grows it without bound)."""
        snapshot = self.watcher.snapshot
        method: str = scope["method"]
        if snapshot is self._routed_by:
            decision = self._routed.get((method, path))
            if decision is not None:
                return decision
        else:
            self._routed = {}
            self._routed_by = snapshot
        try:
            endpoint = self.inventory.match(method, path)
            if endpoint is None:
                decision = decide(None, None, snapshot.version)
            else:
                flag = snapshot.flags.get(endpoint.key)
                decision = decide(
                    endpoint, flag, snapshot.version, lambda: self._sticky(scope), scope["headers"]
                )
                if flag is not None and flag.segments:
                    return decision  # it depends on the caller's headers: never kept
        except Exception:
            log.exception("routing failed for %s %s; sending it to legacy", method, path)
            return Decision(Backend.LEGACY, Reason.FALLTHROUGH, snapshot.version)
        if decision.bucket is None and len(path) <= ROUTED_PATH:
            if len(self._routed) >= ROUTED_KEPT:
                self._routed = {}
            self._routed[(method, path)] = decision
        return decision

    def _forced(self, scope: Scope, decision: Decision) -> Backend | None:
        """The backend the force header names, or None; ForceRefused without the credential.

        It moves only a request the routing matched to an endpoint both apps serve: anything
        else (a path or method one app serves, a preflight legacy answers) goes where a flip
        would send it, so a forced contract run sees no difference that flipping would not."""
        headers = dict(h for h in scope["headers"] if h[0] in _OUR_HEADERS)
        wanted = headers.get(FORCE_HEADER)
        if wanted is None:
            return None
        token = headers.get(_ADMIN_HEADER)
        if self._credentials.match(token.decode("latin-1") if token else None) is None:
            raise ForceRefused
        try:
            chosen = Backend(wanted.decode("latin-1").strip().lower())
        except ValueError:
            raise ForceRefused from None
        endpoint = self.inventory.endpoints.get(decision.endpoint) if decision.endpoint else None
        return chosen if endpoint is not None and len(endpoint.backends) == 2 else None

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
# The routing decisions kept (see Gateway.route): more than an app has endpoints and paths in
# common use, few enough (and short enough) to stay small in memory.
ROUTED_KEPT = 1024
ROUTED_PATH = 256
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

    def __call__(self, message: Message) -> Awaitable[None]:
        # Not a coroutine of its own: it hands back the server's, one frame fewer a message.
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self._headers:  # a new message: the app may send the same one again
                headers = _added(message.get("headers", ()), self._headers, self._id_name)
                message = {**message, "headers": headers}
        return self._send(message)


def _added(
    headers: Iterable[tuple[bytes, bytes]], ours: list[tuple[bytes, bytes]], id_name: bytes | None
) -> list[tuple[bytes, bytes]]:
    """The answer's headers, then ours. Ours end with the request id when `id_name` is given,
    left out if the app set one itself (an app that echoes it keeps its own)."""
    headers = list(headers)
    # Searched in C (map, not a loop of ours): names may be of any case from a plain ASGI app.
    if id_name is not None and id_name in map(_LOWER, map(_NAME, headers)):
        return headers + ours[:-1]
    return headers + ours


def _with_request_id(scope: Scope, name: bytes, value: bytes) -> Scope:
    """The scope with the request id header set to `value` (replacing an unsound one). The
    server made the scope for this request alone: its headers are replaced, the dict kept."""
    scope["headers"] = [*(h for h in scope["headers"] if h[0] != name), (name, value)]
    return scope
