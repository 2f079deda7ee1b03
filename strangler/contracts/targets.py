"""Where a contract run sends its requests: the legacy side and the migrated side of a gateway.

Every kind of target is a gateway, so the requests take exactly the path production requests take
(the WSGI bridge, the migrated app's lifespan). The gateway is asked for one backend per side:

- `in_process(settings)`: a gateway built here around the configured apps, driven through
  httpx's ASGITransport; its migrated lifespan runs, and the reset hook can give each side
  fresh state. Where the settings register databases (`sandbox_databases`, or engines the app
  covers itself with `strangler.sandbox.sql.cover`), the sides are `sandboxed`: each play of
  a case runs in a Sandbox of its own (strangler.contracts.runner), so it starts from the
  database as it was and its writes are rolled back, with no reset hook.
  `via="force"` (the default) names the backend with the force header on every request
  (the gateway honours it where a flag could move the request, an endpoint both apps serve:
  a legacy-only path or method, or a preflight, stays where a flip would leave it);
  `via="flags"` routes by the flag table, as production does: on reset, each side sets every
  endpoint both apps serve to its backend (the legacy side: everything left on legacy; the
  migrated side: everything flipped), and each answer must carry that backend's mark.
- `live(url, token)`: a running gateway over HTTP (`X-Strangler-Force-Backend` plus
  `X-Strangler-Admin-Token`); it cannot be sandboxed from here (the sandbox lives in the
  gateway's process, and only its shadow calls use it), but where its admin API offers
  `POST /contract/reset` (its settings' contract_reset, allowed there) each play starts with
  it. Every request goes over one kept-alive connection, so the play reaches the worker its
  reset did; where the gateway has several workers and that connection was replaced during a
  stateful case's play, the case is skipped (CaseNotPlayable). A request HTTP/1.1 clients
  refuse to send (h11: a header value with trailing space) is sent as it is written over a
  plain socket; one that cannot be sent at all skips its case. Its endpoint table (the admin
  API's `/endpoints`) tells which requests the force header moves.

Both return two `Target`s; anything with the same members (a fake in a test) will do.
"""

from __future__ import annotations

import asyncio
import http.client
import http.cookiejar
import inspect
import json
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol

import httpx

from strangler.assembly import create_gateway, runtime_of
from strangler.comparison.cases import MISSING, Request
from strangler.comparison.compare import Answer
from strangler.contracts.errors import CaseNotPlayable, SideUnreachable, TargetError
from strangler.contracts.raised import Raised
from strangler.credentials import ADMIN_TOKEN_HEADER
from strangler.flags.model import Flag
from strangler.gateway.dispatch import FORCE_HEADER, Gateway
from strangler.gateway.errors import LifespanError
from strangler.gateway.lifespan import Lifespan
from strangler.routing.inventory import Endpoint, Inventory
from strangler.routing.templates import parse_route_key
from strangler.sandbox import sql
from strangler.settings import Settings, import_string
from strangler.types import ASGIApp, Backend, Receive, Scope, Send

ResetHook = Callable[[], Any]
# Whether the force header moves a request (method, path): the routing matched it to an
# endpoint both apps serve. Elsewhere the gateway routes it as a flip would, on either side.
Movable = Callable[[str, str], bool]
Via = Literal["force", "flags"]
# Long enough for a model to train on first use; a request that takes longer is a finding.
REQUEST_TIMEOUT = 60.0
_MARK = "X-Strangler-Backend"
_FORCE = FORCE_HEADER.decode()


class Target(Protocol):
    """One side of a contract run."""

    backend: Backend

    @property
    def can_reset(self) -> bool:
        """Whether `reset` gives fresh state (where it cannot, the run says so once)."""

    @property
    def sandboxed(self) -> bool:
        """Whether each play runs in a Sandbox: its database writes rolled back at its end."""

    async def reset(self) -> None:
        """Returns the side to fresh state, as far as the reset hook can."""

    async def send(self, request: Request, cookies: httpx.Cookies) -> Answer:
        """Sends a request (captures already substituted) with the cookies of its scenario, and
        returns what came back; the cookies it sets go into `cookies`."""


class GatewaySide:
    """A Target: one backend of a gateway, chosen per request by the force header."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        backend: Backend,
        *,
        token: str | None,
        reset_hook: ResetHook | None = None,
        mark: str | None = _MARK,
        raised: Raised | None = None,
        sandboxed: bool = False,
        movable: Movable | None = None,
    ) -> None:
        self.backend = backend
        self._client = client
        self._movable = movable  # None: every request must come from `backend`
        self._token = token
        self._reset_hook = reset_hook
        self._sandboxed = sandboxed
        self._mark = mark.lower() if mark else None
        self._raised = raised

    @property
    def can_reset(self) -> bool:
        return self._reset_hook is not None

    @property
    def sandboxed(self) -> bool:
        return self._sandboxed

    async def reset(self) -> None:
        if self._reset_hook is not None:
            result = self._reset_hook()
            if inspect.isawaitable(result):
                await result

    def _asking(self) -> list[tuple[str, str]]:
        """The headers that ask the gateway for this side's backend."""
        asking = [(_FORCE, self.backend.value)]
        if self._token:
            asking.append((ADMIN_TOKEN_HEADER, self._token))
        return asking

    def _expects(self, request: Request) -> Backend | None:
        """The backend that must answer `request` (None: any, as the routing decides)."""
        if self._movable is None:
            return self.backend
        # The path as the gateway matches it: decoded, as the server hands it over.
        path = urllib.parse.unquote(request.path.partition("?")[0])
        return self.backend if self._movable(request.method.upper(), path) else None

    async def send(self, request: Request, cookies: httpx.Cookies) -> Answer:
        headers = [
            (name, one)
            for name, value in request.headers.items()
            for one in (value if isinstance(value, list) else [value])
            if one is not None
        ]
        headers += self._asking()
        content, content_type = encode_body(request)
        if content_type and not any(k.lower() == "content-type" for k in request.headers):
            headers.append(("Content-Type", content_type))
        outgoing = self._client.build_request(
            request.method,
            request.path,
            params=list(_query_items(request)),
            headers=headers,
            content=content,
            timeout=REQUEST_TIMEOUT,
        )
        cookies.set_cookie_header(outgoing)
        if self._raised is not None:
            self._raised.take()  # nothing left over from an earlier request
        try:
            response, body = await self._exchange(outgoing)
        except httpx.HTTPError as exc:
            raise SideUnreachable(f"{request.target} to {self.backend}: {exc!r}") from exc
        cookies.extract_cookies(response)
        self._check_backend(request, response, body)
        kept = tuple((k, v) for k, v in response.headers.multi_items() if k.lower() != self._mark)
        raised, broken = self._raised.take() if self._raised is not None else (None, False)
        return Answer(response.status_code, kept, body, raised, broken)

    async def _exchange(self, outgoing: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Sends a built request; its answer and body."""
        response = await self._client.send(outgoing)
        return response, await response.aread()

    def _check_backend(self, request: Request, response: httpx.Response, body: bytes) -> None:
        if response.status_code == 401 and body.startswith(b'{"error":"X-Strangler-Force-Backend'):
            raise SideUnreachable(
                "the gateway refused the force header: set STRANGLER_ADMIN_TOKEN to its admin"
                " token (or run it with --dev)"
            )
        served = response.headers.get(self._mark) if self._mark else None
        expected = self._expects(request)
        if served is not None and expected is not None and served != expected.value:
            raise SideUnreachable(f"{request.target}: {self._mismatch(expected, served)}")

    def _mismatch(self, expected: Backend, served: str) -> str:
        return (
            f"asked for {expected} with the force header, but {served} answered; is this gateway"
            " older than the force header?"
        )


class LiveReset:
    """A live gateway's POST /contract/reset, and the connection both live sides share.

    `problem` says why it cannot reset (None: it can). `workers` is how many workers the
    gateway said read its flag store; `strict` (set per case: a stateful one) makes a play
    whose requests left the reset's connection on such a gateway a CaseNotPlayable.
    """

    def __init__(self, client: httpx.AsyncClient, token: str | None, admin_prefix: str) -> None:
        self._client = client
        self._url = admin_prefix.rstrip("/") + "/contract/reset"
        self._headers = {ADMIN_TOKEN_HEADER: token} if token else {}
        self.problem: str | None = "not asked yet"
        self.workers = 1
        self.strict = False
        self._stream: object = None  # the connection the last reset went over
        self._moved = False  # a request of this play went over another one
        self.last_status = 0  # of the last answer over the shared connection, either side's

    async def probe(self) -> None:
        """Asks for a reset once, to learn whether the gateway offers it here."""
        try:
            await self.run()
        except TargetError as exc:
            self.problem = str(exc)
        else:
            self.problem = None

    async def run(self) -> None:
        """Resets the worker this client's connection reaches; TargetError if it refuses."""
        body = {"reason": "strangler contract run: fresh state before a play"}
        try:
            answer = await self._client.post(
                self._url, json=body, headers=self._headers, timeout=REQUEST_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise TargetError(f"its contract reset could not be reached: {exc!r}") from exc
        if answer.status_code == 404:
            raise TargetError("it has no POST /contract/reset (a gateway older than it)")
        try:
            said = answer.json()
        except ValueError:
            said = {}
        if answer.status_code != 200 or not isinstance(said, dict):
            error = said.get("error") if isinstance(said, dict) else None
            raise TargetError(f"its contract reset answered {answer.status_code}: {error}")
        self.workers = int(said.get("workers") or 1)
        self._stream, self._moved = answer.extensions.get("network_stream"), False

    def went_over(self, response: httpx.Response) -> None:
        """Notes the connection an answer came over; raises CaseNotPlayable where a strict
        play left the reset's connection on a gateway of several workers."""
        if response.extensions.get("network_stream") is not self._stream:
            self._moved = True
        if self._moved and self.strict and self.workers > 1 and self.problem is None:
            raise CaseNotPlayable(
                f"the connection its reset went over was replaced during the play, and the"
                f" gateway has {self.workers} workers: the play may have reached one the reset"
                " did not (serve it with one worker to play stateful cases live)"
            )

    def replaced(self) -> None:
        """Notes a request sent over a connection of its own (the raw fallback)."""
        self._moved = True


class LiveSide(GatewaySide):
    """A Target: one backend of a gateway running elsewhere, reached over HTTP/1.1."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        backend: Backend,
        resets: LiveReset,
        *,
        token: str | None,
        mark: str | None,
        movable: Movable | None,
    ) -> None:
        super().__init__(client, backend, token=token, mark=mark, movable=movable)
        self.resets = resets

    @property
    def can_reset(self) -> bool:
        return self.resets.problem is None

    async def reset(self) -> None:
        if self.resets.problem is None:
            await self.resets.run()

    async def _exchange(self, outgoing: httpx.Request) -> tuple[httpx.Response, bytes]:
        try:
            response = await self._send_again_once(outgoing)
        except httpx.LocalProtocolError as exc:  # h11 refuses what the case says to send
            response = await self._send_raw(outgoing, exc)
        else:
            self.resets.went_over(response)
        body = await response.aread()
        self.resets.last_status = response.status_code
        return response, body

    async def _send_again_once(self, outgoing: httpx.Request) -> httpx.Response:
        """Sends it; once again on a new connection where the server closed the kept-alive
        one without an answer right after a 5xx (uvicorn closes a connection after an app's
        exception, and the next request may already be on its way: nothing was read of it)."""
        try:
            return await self._client.send(outgoing)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            if self.resets.last_status < 500:
                raise
        self.resets.replaced()
        return await self._client.send(outgoing)

    async def _send_raw(
        self, outgoing: httpx.Request, refused: httpx.LocalProtocolError
    ) -> httpx.Response:
        """Sends it as written over a plain socket (http.client refuses only line breaks in a
        value); CaseNotPlayable where even that cannot send it."""
        self.resets.replaced()
        try:
            status, headers, body = await asyncio.to_thread(_send_raw, outgoing)
        except ValueError as exc:
            raise CaseNotPlayable(
                f"{outgoing.method} {outgoing.url.raw_path.decode()} to {self.backend}: the live"
                f" transport cannot send it ({refused}; {exc})"
            ) from exc
        except OSError as exc:
            raise SideUnreachable(f"{outgoing.url} to {self.backend}: {exc!r}") from exc
        return httpx.Response(
            status, headers=headers, stream=httpx.ByteStream(body), request=outgoing
        )


def _send_raw(outgoing: httpx.Request) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and body of a request sent with http.client, headers as built."""
    url = outgoing.url
    kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = kind(url.host, url.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.putrequest(
            outgoing.method, url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True
        )
        for name, value in outgoing.headers.raw:
            connection.putheader(name.decode("latin-1"), value)
        connection.endheaders(outgoing.content or None)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


class FlaggedSide(GatewaySide):
    """A Target: the gateway with every endpoint both apps serve flagged to one backend.

    No force header: requests are routed by the flag table, as production routes them. Where the
    inventory knows the request's endpoint, the answer must come from this side's backend;
    anything else falls through to legacy on both sides, as it does in production.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        backend: Backend,
        gateway: Gateway,
        *,
        reset_hook: ResetHook | None = None,
        raised: Raised | None = None,
        sandboxed: bool = False,
    ) -> None:
        super().__init__(
            client,
            backend,
            token=None,
            reset_hook=reset_hook,
            raised=raised,
            sandboxed=sandboxed,
            movable=movable_by(gateway.inventory),
        )
        self._gateway = gateway

    def _flag_everything(self) -> None:
        """Puts the flag table in this side's state: every endpoint both serve on its backend."""
        store, flag = runtime_of(self._gateway).service.store, Flag.build(self.backend.value)
        reason = f"contract run, {self.backend} side"
        current = store.snapshot().flags
        changed = False
        for endpoint in self._gateway.inventory:
            if endpoint.served_by == "both" and current.get(endpoint.key) != flag:
                store.set(endpoint.key, flag, actor="contracts", reason=reason)
                changed = True
        if changed:
            self._gateway.watcher.refresh()

    async def send(self, request: Request, cookies: httpx.Cookies) -> Answer:
        # A mixed scenario sends its steps to either side in turn: the table follows.
        self._flag_everything()
        return await super().send(request, cookies)

    def _asking(self) -> list[tuple[str, str]]:
        return []

    def _mismatch(self, expected: Backend, served: str) -> str:
        return f"the flag table sends it to {expected}, but {served} answered"


def movable_by(inventory: Inventory) -> Movable:
    """Whether a flag (or the force header) moves a request: the inventory matches it to an
    endpoint both apps serve."""

    def movable(method: str, path: str) -> bool:
        endpoint = inventory.match(method, path)
        return endpoint is not None and len(endpoint.backends) == 2

    return movable


def encode_body(request: Request) -> tuple[bytes | None, str | None]:
    """The bytes a request sends, and the Content-Type its kind of body implies."""
    if request.json is not MISSING:
        return json.dumps(request.json, allow_nan=True).encode(), "application/json"
    if request.form is not None:
        return urllib.parse.urlencode(request.form).encode(), "application/x-www-form-urlencoded"
    if isinstance(request.body, str):
        return request.body.encode(), None
    return request.body, None


def _query_items(request: Request) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in request.query.items():
        for item in value if isinstance(value, list) else [value]:
            items.append((key, item))
    return items


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    """Gives each request a copy of the lifespan state, as uvicorn does."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = dict(scope, state=dict(state))
        await app(scope, receive, send)

    return wrapped


@asynccontextmanager
async def in_process(
    settings: Settings, reset_hook: ResetHook | None = None, *, via: Via = "force"
) -> AsyncIterator[tuple[Target, Target]]:
    """Both sides of a gateway built here around the configured apps, lifespan running.

    `via`: how each side asks for its backend, "force" (the force header) or "flags" (the flag
    table; see FlaggedSide).
    """
    legacy_app = import_string(settings.legacy, settings.root)
    migrated_app = import_string(settings.migrated, settings.root)
    token = secrets.token_urlsafe(16)
    raised = Raised()
    gateway = create_gateway(
        raised.wsgi(legacy_app),
        migrated_app,
        "memory:",
        admin_token=token,
        backend_header=_MARK,
        # The request ids production answers with: comparison_rules leaves that header out.
        request_id_header=settings.request_id_header,
        legacy_threads=settings.legacy_threads,
        # The engines covered here, and their rollback proved, before the first case.
        sandbox_databases=settings.sandbox_databases,
        root=settings.root,
    )
    try:
        sandboxed = _sandboxed(gateway, settings)
    except TargetError:
        _stop_bridge(gateway)
        raise
    state: dict[str, Any] = {}
    lifespan = Lifespan(gateway, state)
    try:
        await lifespan.startup()
    except LifespanError as exc:
        _stop_bridge(gateway)
        raise TargetError(f"the migrated app ({settings.migrated}) failed to start: {exc}") from exc
    # An app's exception becomes the 500 a server would answer, named in the report.
    app = raised.asgi(_with_state(gateway, state))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        with raised.watching_flask(legacy_app):
            async with _client(transport, "http://testserver") as client:
                given: dict[str, Any] = {
                    "reset_hook": reset_hook,
                    "raised": raised,
                    "sandboxed": sandboxed,
                }
                if via == "flags":
                    yield (
                        FlaggedSide(client, Backend.LEGACY, gateway, **given),
                        FlaggedSide(client, Backend.MIGRATED, gateway, **given),
                    )
                else:
                    given["movable"] = movable_by(gateway.inventory)
                    yield (
                        GatewaySide(client, Backend.LEGACY, token=token, **given),
                        GatewaySide(client, Backend.MIGRATED, token=token, **given),
                    )
    finally:
        await lifespan.shutdown()
        _stop_bridge(gateway)


def _sandboxed(gateway: Gateway, settings: Settings) -> bool:
    """Whether the plays run in sandboxes: some database is registered, and the sandbox's
    self-check proved its rollback. A database registered but not proved is a TargetError:
    played outside a sandbox, the cases would write into it for good."""
    status = runtime_of(gateway).sandbox
    if not (settings.sandbox_databases or sql.covered()):
        return False
    if not status.covers_writes:
        raise TargetError(
            f"the sandbox cannot hold the contract run's writes: {status.problem}; fix it, or"
            " leave the database out of sandbox_databases (each case then writes into it)"
        )
    return True


def _stop_bridge(gateway: Gateway) -> None:
    executor = getattr(gateway.legacy, "executor", None)
    if executor is not None:  # the bridge's pool: its threads would outlive the run
        executor.shutdown(wait=True)


def _client(
    transport: httpx.AsyncBaseTransport | None, base_url: str, limits: httpx.Limits | None = None
) -> httpx.AsyncClient:
    """A client that keeps no cookies of its own: each scenario passes its own jar, so nothing
    leaks from one case (or one side) into the next."""
    keep_none = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        transport=transport,
        base_url=base_url,
        cookies=keep_none,
        limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


@asynccontextmanager
async def live(
    url: str,
    token: str | None,
    *,
    mark: str | None = _MARK,
    transport: httpx.AsyncBaseTransport | None = None,
    admin_prefix: str = "/_strangler",
) -> AsyncIterator[tuple[Target, Target]]:
    """Both sides of a running gateway at `url`; `token` is its admin token, `admin_prefix`
    where its admin API is (its endpoint table says which requests the force header moves,
    its contract reset gives each play fresh state where it is allowed)."""
    # One connection for the whole run (it is sequential): a play goes to the worker its
    # reset went to, as long as the server keeps that connection.
    async with _client(transport, url, httpx.Limits(max_connections=1)) as client:
        movable = await _live_movable(client, token, admin_prefix)
        resets = LiveReset(client, token, admin_prefix)
        await resets.probe()
        given: dict[str, Any] = {"token": token, "mark": mark, "movable": movable}
        yield (
            LiveSide(client, Backend.LEGACY, resets, **given),
            LiveSide(client, Backend.MIGRATED, resets, **given),
        )


async def _live_movable(
    client: httpx.AsyncClient, token: str | None, admin_prefix: str
) -> Movable | None:
    """What the force header moves on a live gateway, from its endpoint table; None where the
    table cannot be read (a gateway older than it honours the force header everywhere)."""
    headers = {ADMIN_TOKEN_HEADER: token} if token else {}
    try:
        response = await client.get(
            admin_prefix.rstrip("/") + "/endpoints", headers=headers, timeout=REQUEST_TIMEOUT
        )
        rows = response.json() if response.status_code == 200 else None
        endpoints = [
            Endpoint(*parse_route_key(row["endpoint"]), _backends(row["served_by"]))
            for row in rows or ()
        ]
    except (httpx.HTTPError, ValueError, TypeError, KeyError):
        return None
    return movable_by(Inventory(endpoints)) if rows is not None else None


def _backends(served_by: str) -> frozenset[Backend]:
    """The backends of an endpoint row's `served_by` (legacy, migrated or both)."""
    return frozenset(Backend) if served_by == "both" else frozenset({Backend(served_by)})
