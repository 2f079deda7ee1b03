"""Outbound HTTP from a sandbox: recorded and answered, never sent.

A sandboxed call must not charge a card or send a mail twice, so `install()` puts a check in
front of the two clients apps use, httpx (sync and async transports) and requests (its HTTP
adapter). Outside a sandbox the check is one context-variable read and the call goes out as
before (noted, when the served call of a shadowed request is `recording()`). Inside, the call
is recorded in the sandbox (`Sandbox.calls`: method, URL, body; what the comparison sees of
it) and answered at once with `503` and the header `X-Strangler-Sandbox: not-sent`, so the app
takes its own path for a service that is down.

Other clients (urllib, aiohttp, a gRPC stub) are not covered: an app that uses them must not
have its unsafe methods shadowed.
"""

from __future__ import annotations

import threading
from typing import Any

from strangler.sandbox.context import OutboundCall, current, recorded

NOT_SENT_HEADER = "X-Strangler-Sandbox"
NOT_SENT = "not-sent"
STATUS = 503
_lock = threading.Lock()
_installed: set[str] = set()


def install() -> list[str]:
    """Puts the check in front of every client library that is installed; returns their names.
    Installing twice does nothing more."""
    done = []
    with _lock:
        for name, patch in (("httpx", _patch_httpx), ("requests", _patch_requests)):
            if name in _installed:
                done.append(name)
                continue
            try:
                patch()
            except ImportError:
                continue
            _installed.add(name)
            done.append(name)
    return done


def _patch_httpx() -> None:
    import httpx

    sync_send = httpx.HTTPTransport.handle_request
    async_send = httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        box = current()
        if box is None:
            if (served := recorded()) is not None:
                served.append(OutboundCall(request.method, str(request.url), request.read()))
            return sync_send(self, request)
        box.record(OutboundCall(request.method, str(request.url), request.read()))
        return httpx.Response(STATUS, headers={NOT_SENT_HEADER: NOT_SENT}, request=request)

    async def handle_async_request(
        self: httpx.AsyncHTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        box = current()
        if box is None:
            if (served := recorded()) is not None:
                served.append(OutboundCall(request.method, str(request.url), await request.aread()))
            return await async_send(self, request)
        box.record(OutboundCall(request.method, str(request.url), await request.aread()))
        return httpx.Response(STATUS, headers={NOT_SENT_HEADER: NOT_SENT}, request=request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def _patch_requests() -> None:
    import requests
    import requests.adapters

    send = requests.adapters.HTTPAdapter.send

    def sandbox_aware_send(
        self: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):  # a file or a generator: named, not read
            body = b"<stream>"
        call = OutboundCall(request.method or "GET", request.url or "", body)
        box = current()
        if box is None:
            if (served := recorded()) is not None:
                served.append(call)
            return send(self, request, **kwargs)
        box.record(call)
        response = requests.Response()
        response.status_code = STATUS
        response.headers[NOT_SENT_HEADER] = NOT_SENT
        response.request = request
        response.url = request.url or ""
        response._content = b""
        return response

    requests.adapters.HTTPAdapter.send = sandbox_aware_send  # type: ignore[method-assign,assignment]
