"""The Sandbox: one sandboxed call, and how code running inside it knows.

A context variable carries the sandbox into everything the call runs: the migrated app's
coroutines and its thread-pool endpoints (Starlette copies the context into them), and the
legacy app's thread (the WSGI bridge runs each request in a copy of the gateway's context).
Shared code asks `active()`, and skips what must not be read or filled from a sandbox, such
as a cache of answers::

    from strangler.sandbox.context import active

    def cached_prediction(key):
        if active():        # compared, not served: compute, never remember
            return None
        return CACHE.get(key)
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

log = logging.getLogger("strangler.sandbox")

T = TypeVar("T")

_CURRENT: ContextVar[Sandbox | None] = ContextVar("strangler_sandbox", default=None)


def active() -> bool:
    """True while the code runs inside a sandbox (a shadow call, an A/A call, a contract case
    run with a sandbox): its effects are thrown away, so it must not fill shared caches."""
    return _CURRENT.get() is not None


def current() -> Sandbox | None:
    """The sandbox the code runs in, or None."""
    return _CURRENT.get()


_RECORDING: ContextVar[list[OutboundCall] | None] = ContextVar("strangler_recording", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[OutboundCall]]:
    """Notes the outbound calls of the served call of a shadowed request, which are sent as
    always: the sandboxed side's are compared with them."""
    calls: list[OutboundCall] = []
    token = _RECORDING.set(calls)
    try:
        yield calls
    finally:
        _RECORDING.reset(token)


def recorded() -> list[OutboundCall] | None:
    """Where the served call's outbound calls are noted, or None when nobody asked."""
    return _RECORDING.get()


@dataclass(frozen=True)
class OutboundCall:
    """An HTTP call an app tried to make from a sandbox: recorded and answered, never sent."""

    method: str
    url: str
    body: bytes = b""

    def view(self) -> dict[str, str]:
        """What a comparison sees of it: method, URL and the body as text."""
        return {
            "method": self.method,
            "url": self.url,
            "body": self.body.decode("utf-8", "replace"),
        }


@dataclass
class _Held:
    value: Any
    release: Callable[[Any], None]
    arelease: Callable[[Any], Awaitable[None]] | None = None  # for parts that must be awaited


@dataclass
class Sandbox:
    """One sandboxed call. Use it as a context manager around the call: what the call opened in
    it (a database transaction per engine) is held until the end and then thrown away; the
    outbound calls it tried are in `calls`, in order.

    The parts it holds are kept per key (one per database engine) and opened on first use, from
    whichever thread the app runs in; `close` releases them all, newest first, and logs (never
    raises) what fails to release, so one broken part cannot keep the others open.
    """

    label: str = ""
    # Whether the call is expected to write (an unsafe method): a database that locks whole
    # (SQLite) is then locked for writing at the start, not on the first write (see sql.py).
    writes: bool = False
    calls: list[OutboundCall] = field(default_factory=list)
    _held: dict[object, _Held] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _token: Token[Sandbox | None] | None = None
    closed: bool = False
    # Entered with `async with`: parts that must be awaited to release (an async database
    # engine's connection) may be held; a sandbox entered with `with` refuses them.
    awaited: bool = False
    # What kept the sandbox from holding a part (a database it could not begin on: locked,
    # away): the call then ran on a broken sandbox, and its answer proves nothing.
    faults: list[str] = field(default_factory=list)

    def hold(
        self,
        key: object,
        open: Callable[[], T],
        release: Callable[[T], None],
        arelease: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        """The part held for `key` in this sandbox, opened now if it is the first use.
        `arelease`: how to release it from `async with` (else `release` is called)."""
        with self._lock:
            if self.closed:
                raise RuntimeError(f"sandbox {self.label!r} is closed")
            held = self._held.get(key)
            if held is None:
                held = self._held[key] = _Held(open(), release, arelease)
            value: T = held.value
            return value

    def record(self, call: OutboundCall) -> None:
        with self._lock:
            self.calls.append(call)

    def close(self) -> None:
        """Throws away what the call did: every held part released (rolled back), newest first."""
        for key, part in self._closing():
            try:
                part.release(part.value)
            except Exception:  # one failing part must not keep the rest open
                log.exception("sandbox %r: could not release %r", self.label, key)

    async def aclose(self) -> None:
        """`close`, awaiting the parts that must be awaited."""
        for key, part in self._closing():
            try:
                if part.arelease is not None:
                    await part.arelease(part.value)
                else:
                    part.release(part.value)
            except Exception:  # one failing part must not keep the rest open
                log.exception("sandbox %r: could not release %r", self.label, key)

    def _closing(self) -> list[tuple[object, _Held]]:
        with self._lock:
            if self.closed:
                return []
            self.closed = True
            held = list(self._held.items())
            self._held.clear()
        return list(reversed(held))

    async def __aenter__(self) -> Sandbox:
        self.awaited = True
        self._token = _CURRENT.set(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None
        await self.aclose()

    def __enter__(self) -> Sandbox:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None
        self.close()
