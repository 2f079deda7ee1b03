"""A contract session: both sides opened once, usable from plain (sync) code.

The CLI, pytest items and Hypothesis all call in synchronously, while the targets are async
(httpx, the gateway, the migrated app's lifespan). The session runs one event loop in a thread
of its own and hands it each call, with a time limit, so nothing waits forever.

    with ContractSession.in_process(settings, ledger) as session:
        result = session.run_case(case)
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, TypeVar

import httpx

from strangler.comparison.cases import Case, Request
from strangler.comparison.ledger import Ledger
from strangler.comparison.results import CaseResult
from strangler.contracts.errors import CaseNotPlayable, TargetError
from strangler.contracts.reset_guard import check_reset
from strangler.contracts.runner import Primed, prime, run_case
from strangler.contracts.targets import LiveSide, ResetHook, Target, Via, in_process, live
from strangler.settings import Settings, import_string

T = TypeVar("T")

# A whole case (every step on both sides) must finish within this; a model may train first.
CALL_TIMEOUT = 300.0


class Portal:
    """An event loop in a daemon thread that runs coroutines for synchronous callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="strangler-contracts", daemon=True
        )
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Runs `coroutine` on the loop and returns its result (TargetError after `timeout`)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TargetError(f"no answer within {timeout:g}s; is a handler stuck?") from None

    def close(self) -> None:
        """Stops the loop after it finished what it was doing, and closes it."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()


class ContractSession:
    """Both sides of a run, opened on enter and closed on exit; runs cases against them."""

    def __init__(
        self,
        opener: AbstractAsyncContextManager[tuple[Target, Target]],
        ledger: Ledger,
        *,
        openapi: Any = None,
        live: bool = False,
    ) -> None:
        self.ledger = ledger
        self._live = live
        self._opener = opener
        self._openapi = openapi
        self._portal: Portal | None = None
        self._stack = AsyncExitStack()
        self.legacy: Target | None = None
        self.migrated: Target | None = None

    @classmethod
    def in_process(
        cls,
        settings: Settings,
        ledger: Ledger,
        *,
        reset: str | None = None,
        via: Via = "force",
        force_reset: bool = False,
    ) -> ContractSession:
        """A session on a gateway built here around the configured apps (`via`: see targets).

        A reset hook is refused (ResetRefused) while a gateway reads the same flag store,
        unless `force_reset` or `contract_reset_force` (see reset_guard)."""
        spec = reset if reset is not None else settings.contract_reset
        hook: ResetHook | None = import_string(spec, settings.root) if spec else None
        if hook is not None and not callable(hook):
            raise TargetError(f"contract_reset {spec!r} is not callable; name a function")
        if spec:
            check_reset(settings, spec, force=force_reset)

        def openapi() -> Any:
            app = import_string(settings.migrated, settings.root)
            schema = getattr(app, "openapi", None)
            return schema() if callable(schema) else None

        return cls(in_process(settings, hook, via=via), ledger, openapi=openapi)

    @classmethod
    def live(
        cls,
        url: str,
        token: str | None,
        ledger: Ledger,
        *,
        mark: str | None = "X-Strangler-Backend",
        transport: httpx.AsyncBaseTransport | None = None,
        admin_prefix: str = "/_strangler",
    ) -> ContractSession:
        """A session on a running gateway, through its force header (its admin API, under
        `admin_prefix`, says which requests that header moves)."""
        opener = live(url, token, mark=mark, transport=transport, admin_prefix=admin_prefix)
        return cls(opener, ledger, openapi="fetch", live=True)

    def __enter__(self) -> ContractSession:
        self._portal = Portal()
        try:
            self.legacy, self.migrated = self._portal.call(self._open())
        except BaseException:
            self._portal.close()
            raise
        return self

    async def _open(self) -> tuple[Target, Target]:
        return await self._stack.enter_async_context(self._opener)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._portal is not None:
            try:
                self._portal.call(self._stack.aclose())
            finally:
                self._portal.close()
                self._portal = None

    def _sides(self) -> tuple[Portal, Target, Target]:
        if self._portal is None or self.legacy is None or self.migrated is None:
            raise RuntimeError("use the session in a `with` block")
        return self._portal, self.legacy, self.migrated

    @property
    def can_reset(self) -> bool:
        """Whether both sides can be returned to fresh state before each play."""
        _, legacy, migrated = self._sides()
        return legacy.can_reset and migrated.can_reset

    @property
    def sandboxed(self) -> bool:
        """Whether each play runs in a sandbox (its database writes rolled back at its end)."""
        _, legacy, migrated = self._sides()
        return legacy.sandboxed and migrated.sandboxed

    def not_fresh(self) -> str | None:
        """Why plays do not start from fresh state (said once by the reports), or None when a
        reset hook or a sandbox gives each play fresh state."""
        if self.can_reset or self.sandboxed:
            return None
        if self._live:
            return (
                f"a live gateway (--url) without its contract reset ({self._live_problem()}):"
                " cases that need fresh state are skipped, the others start from the state the"
                " last one left"
            )
        return (
            "no reset hook (contract_reset) and no sandbox (sandbox_databases): every case"
            " starts from the state the last one left"
        )

    def run_case(
        self,
        case: Case,
        *,
        seed: int = 0,
        timeout: float = CALL_TIMEOUT,
        primed: Primed | None = None,
    ) -> CaseResult:
        """Plays `case` on both sides and compares; differences are declared by the ledger.
        TargetError when it takes longer than `timeout` (a time budget may make it shorter).
        With `primed` (from `prime`), each play starts from what a `once` setup left."""
        portal, legacy, migrated = self._sides()
        if self._live and case.stateful and not self.can_reset:
            why = f"it needs fresh state, and the live gateway cannot reset: {self._live_problem()}"
            return CaseResult(case, skipped=why)
        for side in (legacy, migrated):
            if isinstance(side, LiveSide):  # a stateful play must stay on its reset's worker
                side.resets.strict = case.stateful
        played = run_case(case, legacy, migrated, self.ledger, seed=seed, primed=primed)
        try:
            return portal.call(played, timeout)
        except CaseNotPlayable as exc:  # skipped, never passed; the run goes on
            return CaseResult(case, skipped=f"not playable here: {exc}")

    def _live_problem(self) -> str:
        """Why a live gateway cannot reset (see targets.LiveReset)."""
        _, legacy, _ = self._sides()
        return legacy.resets.problem or "" if isinstance(legacy, LiveSide) else "not live"

    def prime(self, setup: Case, *, timeout: float = CALL_TIMEOUT) -> Primed:
        """Plays a `once` setup on each side (see runner.prime) for later plays to start from."""
        portal, legacy, migrated = self._sides()
        return portal.call(prime(setup, legacy, migrated), timeout)

    def openapi(self) -> dict[str, Any] | None:
        """The migrated app's OpenAPI document, or None if it has none."""
        portal, _, migrated = self._sides()
        if self._openapi == "fetch":
            answer = portal.call(migrated.send(Request("GET", "/openapi.json"), httpx.Cookies()))
            if answer.status != 200:
                return None
            try:
                document = json.loads(answer.body)
            except ValueError:
                return None
            return document if isinstance(document, dict) else None
        if callable(self._openapi):
            document = self._openapi()
            return document if isinstance(document, dict) else None
        return None
