"""The gate in front of the admin app: who may send it a body, and how large.

A request's credential is checked on its headers, before a byte of its body is read: FastAPI
reads and parses a JSON body before any dependency runs, so a check in the app would let anyone
make the gateway hold the largest body the server accepts, as often as it has connections. Then
the body is read here, whole and at most `max_body` bytes (past it: 413, and no more is read),
and handed to the app.

    health, the API's docs (and /metrics when public)   open; bodies of OPEN_MAX_BODY at most
    /ui/login                                           open (the login form); OPEN_MAX_BODY
    /ui/... other pages                                 a change (not GET) needs a session
    everything else                                     the admin credential; a change `write`

A wrong credential is logged (the client and the path, never what it tried) and counted against
its client (strangler.credentials.Tries): past its allowance, 429 until it may try again. The
dashboard's login form counts its wrong tries against the same allowance.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Collection

from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from strangler.admin.errors import AdminUnauthorized
from strangler.credentials import Credential, Credentials, Role, Tries, client_of, presented_token
from strangler.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("strangler.admin")

# A login form or a health probe: a token and a few fields at most.
OPEN_MAX_BODY = 4096
UI = "/ui"
LOGIN = "/ui/login"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate(credentials: Credentials, headers: Headers) -> Credential:
    """The credential a request's headers present; AdminUnauthorized if none does."""
    given = presented_token(headers.get("authorization"), headers.get("x-strangler-admin-token"))
    if not credentials.configured and not credentials.dev_mode:
        raise AdminUnauthorized(
            "the admin API is disabled: set STRANGLER_ADMIN_TOKENS (or STRANGLER_ADMIN_TOKEN)"
            " for the gateway (or start it with --dev on a development machine)"
        )
    credential = credentials.match(given)
    if credential is None:
        raise AdminUnauthorized(
            "missing or wrong admin credential: send 'Authorization: Bearer TOKEN'"
            " or 'X-Strangler-Admin-Token: TOKEN'"
        )
    return credential


class AdminGate:
    """The admin app behind the checks of the module docstring; a plain ASGI callable.

    open_paths: the paths below the admin prefix that need no credential. session: whether a
    dashboard session cookie's value is a live session.
    """

    def __init__(
        self,
        app: ASGIApp,
        credentials: Credentials,
        *,
        max_body: int,
        open_paths: Collection[str],
        session: Callable[[str | None], bool],
        tries: Tries,
        session_cookie: str = "strangler_session",
    ) -> None:
        self.app = app
        self._credentials = credentials
        self._max_body = max_body
        self._open = frozenset(open_paths)
        self._session = session
        self._tries = tries
        self._cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        headers = Headers(scope=scope)
        change = scope["method"] not in _SAFE
        limit = self._max_body
        if path in self._open or path == LOGIN:
            limit = OPEN_MAX_BODY
        elif path == UI or path.startswith(UI + "/"):
            cookie = cookie_parser(headers.get("cookie", "")).get(self._cookie)
            if change and not self._session(cookie):
                await _answer(send, 401, "log in first", "Unauthorized", _closing(headers))
                return
        elif await self._refused(scope, headers, path, change, send):
            return
        await self._within(limit, scope, headers, receive, send)

    async def _refused(
        self, scope: Scope, headers: Headers, path: str, change: bool, send: Send
    ) -> bool:
        """Whether the admin API refuses this request before reading it (having answered)."""
        client = client_of(scope)
        tried = presented_token(
            headers.get("authorization"), headers.get("x-strangler-admin-token")
        )
        if tried and self._credentials.configured and (wait := self._tries.wait(client)):
            retry = str(math.ceil(wait))
            error = f"too many wrong admin credentials from {client}: try again in {retry} s"
            retry_after = [(b"retry-after", retry.encode()), *_closing(headers)]
            await _answer(send, 429, error, "TooManyTries", retry_after)
            return True
        try:
            credential = authenticate(self._credentials, headers)
        except AdminUnauthorized as exc:
            if tried and self._credentials.configured:
                self._tries.failed(client)
                log.warning("wrong admin credential from %s on %s", client, scope["path"])
            challenge = [(b"www-authenticate", b"Bearer"), *_closing(headers)]
            await _answer(send, 401, str(exc), "Unauthorized", challenge)
            return True
        if change and not credential.may(Role.WRITE):
            error = f"the credential {credential.name!r} may read, not change flags (role read)"
            await _answer(send, 403, error, "Forbidden", _closing(headers))
            return True
        return False

    async def _within(
        self, limit: int, scope: Scope, headers: Headers, receive: Receive, send: Send
    ) -> None:
        """Calls the app with the request's body read first, if it is at most `limit` bytes;
        else answers 413, having read no more than `limit` of it."""
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        body: list[Message] = []
        size = 0
        while True:
            message = await receive()
            body.append(message)
            if message["type"] != "http.request":
                break  # the client left: the app will find out at its first read
            size += len(message.get("body", b""))
            if size > limit:  # a body without a length (chunked), longer than it may be
                await _too_large(send, limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return body.pop(0) if body else await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    error = f"an admin request body may have {limit} bytes at most (admin_max_body)"
    await _answer(send, 413, error, "TooLarge", [(b"connection", b"close")])


def _closing(headers: Headers) -> list[tuple[bytes, bytes]]:
    """`Connection: close` for a refusal that leaves a body unread: the server then stops
    reading it, instead of taking in (and throwing away) megabytes nobody will use."""
    length = headers.get("content-length", "0")
    unread = "transfer-encoding" in headers or (length.isdigit() and int(length) > 0)
    return [(b"connection", b"close")] if unread else []


async def _answer(
    send: Send,
    status: int,
    error: str,
    kind: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": error, "type": kind}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
