"""The shadow tap: which requests are shadowed, the bounded work, and the comparison.

A shadowed request runs on the other backend first, in a sandbox (strangler.sandbox), then is
served as it would be anyway:

    request ─► other backend, in a sandbox ─► (A/A, sometimes: serving backend, in a sandbox)
            ─► serving backend ─► the client's answer, unchanged
            ─► bounded queue ─► compare (the corpus's rules)

First, because the other side must see the world as the served call will: a username the
served call registers, a prediction it caches, must not be there yet for the other side (GitHub
Scientist runs its candidate in the same request for the same reason). In a sandbox, because
nothing the other side does may last: its database writes are rolled back, its outbound HTTP
calls recorded and answered, not sent (and compared with the served call's), and shared code
asked `active()` does not fill caches. The price is the sandboxed calls' time, added to the
shadowed requests alone (`shadow_timeout` bounds it); requests not shadowed pay nothing.
Unsafe methods are shadowed only where the sandbox covers their effects: a database covered
and its rollback proved at start (or an endpoint declared free of side effects).

The world can still move between the sandboxed calls and the served one: a request served
meanwhile writes what the served call then reads (a favorite counted), or fills its cache. Such
a comparison proves nothing either way; when it differs it is counted as `raced`, not as a
mismatch. The gateway notes every request it serves to an endpoint with a shadow share,
shadowed or not (`serve_unshadowed`), and strangler.shadow.races says which ones race which (a
port that is wrong is wrong on the requests nobody raced, too).

Shadow calls at once are bounded (past `concurrency`, a request is served unshadowed, counted
as busy), the comparison queue is bounded (full: dropped, counted), and a few tasks work it.
A shadow call that raises, hangs or answers late changes nothing for the client's answer; it
is counted. Shadow work takes only CPU the clients leave: while the
process is busier than `max_cpu` of a core, requests are not shadowed (counted as busy), since
on the same cores every shadow call would delay the requests that come next.

Answers are compared as `strangler contract run` compares them: the rules of the endpoint's
corpus file (`compare:`), then the ledger's accepted differences. What differs between two
answers of the serving backend to one request (A/A: the first CALIBRATE_FIRST shadowed requests
of an endpoint, then one in CALIBRATE_EVERY) is noise: timestamps, generated ids. It is learned
per endpoint, reported, and not counted as a mismatch (mismatches counted before it was learned
are taken back).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import os
import random
from collections.abc import Iterable, Mapping
from typing import Any

from strangler.comparison.cases import Rules
from strangler.comparison.compare import Answer, Difference, compare
from strangler.comparison.ledger import Ledger
from strangler.flags.model import Flag, utc_now
from strangler.flags.service import SAFE_METHODS
from strangler.sandbox.context import OutboundCall, Sandbox, recording
from strangler.sandbox.setup import SandboxStatus
from strangler.serving.cpu import CPUGauge
from strangler.shadow.exchange import Capture, Unreplayable, call, read_body, replay
from strangler.shadow.races import Races, Served, Window
from strangler.shadow.record import EndpointRecord, Mismatch, any_index, corpus_files
from strangler.shadow.redact import DEFAULT_NAMES, Redactor, SeenRequest
from strangler.types import ASGIApp, Backend, Receive, Scope, Send

log = logging.getLogger("strangler.shadow")

CALIBRATE_FIRST = 10
CALIBRATE_EVERY = 20


@dataclasses.dataclass(frozen=True)
class ShadowLimits:
    """How much shadowing may cost: calls at once, waiting, seconds, bytes."""

    concurrency: int = 4  # shadow calls in flight at once
    queue: int = 256  # comparisons waiting; past it, a shadowed request is dropped (counted)
    timeout: float = 5.0  # seconds a shadow call may take
    max_body: int = 1024 * 1024  # request or answer bodies over it are not shadowed (counted)
    # The share of a core (the GIL's ceiling) the process may be busy and still take on shadow
    # work: past it a request is not shadowed (counted as busy), so shadowing only ever uses
    # CPU the clients leave idle. Above 1.0: shadow whatever the load.
    max_cpu: float = 0.7


@dataclasses.dataclass(frozen=True)
class _Called:
    """A sandboxed call's answer and the outbound calls it tried."""

    answer: Answer
    calls: tuple[OutboundCall, ...]


@dataclasses.dataclass(frozen=True)
class _Job:
    key: str
    serving: Backend
    answer: Answer  # the served call's, which the client got
    calls: tuple[OutboundCall, ...]  # the served call's outbound calls (sent)
    other: _Called
    again: _Called | None  # the serving backend again, in a sandbox (A/A), or None
    request: SeenRequest
    raced: bool  # a request that may change what it reads was served during its window


class ShadowTap:
    """Shadows the requests the flags ask for; see the module docstring."""

    def __init__(
        self,
        rules: Mapping[str, Rules] | None = None,
        ledger: Ledger | None = None,
        limits: ShadowLimits = ShadowLimits(),
        redact: Iterable[str] = DEFAULT_NAMES,
        never_noise: Iterable[str] = (),
        base: Rules = Rules(),
        gateway_headers: Iterable[str] = (),  # request headers the gateway adds (its request id)
    ) -> None:
        self.rules = dict(rules or {})
        self.base = base  # an endpoint without a corpus file: the gateway-wide rules
        self.ledger = ledger
        self.limits = limits
        self.redactor = Redactor(redact, gateway_headers)
        self.records: dict[str, EndpointRecord] = collections.defaultdict(EndpointRecord)
        self._queue: asyncio.Queue[_Job] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._cpu = CPUGauge()
        self._published: tuple[object, str] = ((), "")
        self.sandbox: SandboxStatus | None = None  # what it covers (strangler.assembly sets it)
        # Places compared always, never learned as noise (`shadow_never_noise`).
        self.never_noise = frozenset(any_index(path) for path in never_noise)
        self._in_flight = 0  # shadowed requests running their sandboxed calls now
        # Requests being served to endpoints with a shadow share, and shadowed requests between
        # their sandboxed calls and the end of their served one (see strangler.shadow.races).
        self.races = Races()
        self._free: set[str] = set()  # endpoints declared free of side effects

    def wants(self, key: str, method: str, flag: Flag) -> bool:
        """Whether to shadow this request: its share of the flag's, a method it is safe to send
        twice (or whose effects the sandbox covers, or an endpoint declared free of side
        effects), and CPU to spare for it."""
        if flag.side_effect_free is None:  # noted for its requests' races, shadowed or not
            self._free.discard(key)
        else:
            self._free.add(key)
        if random.random() * 100 >= flag.shadow:
            return False
        if method not in SAFE_METHODS and not self.covers_writes(flag):
            return False
        if self._cpu.busy() > self.limits.max_cpu:
            self.records[key].busy += 1  # the clients need the CPU more
            return False
        return True

    def covers_writes(self, flag: Flag) -> bool:
        """Whether an unsafe method of the flag's endpoint may be sent to the other side."""
        if flag.side_effect_free is not None:
            return True
        return self.sandbox is not None and self.sandbox.covers_writes

    def skipped_busy(self, key: str) -> None:
        """Counts a request not shadowed: every legacy thread was taken by clients."""
        self.records[key].busy += 1

    async def serve_unshadowed(
        self, key: str, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serves a request to the endpoint `key` (which has a shadow share) unshadowed, noting
        it while it runs: a shadowed request on its path it overlaps may be raced. Its body is
        not read."""
        method = scope["method"]
        served = Served(method, scope.get("query_string", b""), self._writes(key, method))
        path = scope["path"]
        self.races.begin(path, served)
        try:
            await app(scope, receive, send)
        finally:
            self.races.end(path, served)

    def _writes(self, key: str, method: str) -> bool:
        """Whether a request to `key` may write: an unsafe method, not declared free of them."""
        return method not in SAFE_METHODS and key not in self._free

    async def serve(
        self,
        key: str,
        serving: Backend,
        serving_app: ASGIApp,
        scope: Scope,
        other_app: ASGIApp,
        other_scope: Scope,
        receive: Receive,
        send: Send,
        *,
        calibration_app: ASGIApp | None = None,
    ) -> None:
        """Calls `other_app` (and, to learn noise, `serving_app`, or `calibration_app` when
        given) in a sandbox, then serves the request from `serving_app` as it would be served
        anyway, and queues the comparison."""
        record = self.records[key]
        if self._in_flight >= self.limits.concurrency:
            record.busy += 1  # as many shadowed requests in their sandboxes as allowed
            await self.serve_unshadowed(key, serving_app, scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.limits.max_body)
        except Unreplayable:
            record.too_big += 1
            await self.serve_unshadowed(key, serving_app, scope, receive, send)
            return
        if body is None:
            return  # the client left before its request was whole
        # Copies taken before anything runs: Starlette writes into the scope it is given (a
        # Mount rewrites root_path), and the two scopes may be one dict.
        pristine, other_pristine = dict(scope), dict(other_scope)
        method, path, query = scope["method"], scope["path"], scope.get("query_string", b"")
        window = Window(method, query, body)  # from here to the end of the served call
        served = Served(method, query, self._writes(key, method), body, window)
        record.shadowed += 1
        calibrating = record.shadowed <= CALIBRATE_FIRST or record.shadowed % CALIBRATE_EVERY == 0
        self.races.open(path, window)
        try:
            self._in_flight += 1
            try:
                other = await self._sandboxed(record, other_app, other_pristine, body)
                again = None
                if other is not None and calibrating:
                    calibrate = calibration_app or serving_app
                    again = await self._sandboxed(record, calibrate, dict(pristine), body, False)
            finally:
                self._in_flight -= 1
            capture = Capture(send, self.limits.max_body)
            self.races.begin(path, served)
            try:
                with recording() as calls:
                    await serving_app(scope, replay(body, receive), capture.send)
            finally:
                self.races.end(path, served)
        finally:
            self.races.close(path, window)
        if other is None:
            return  # counted by _sandboxed
        if capture.too_big:
            record.too_big += 1
            return
        if not capture.complete:
            return
        job = _Job(
            key,
            serving,
            capture.answer(),
            tuple(calls),
            other,
            again,
            _seen(pristine, body),
            window.raced,
        )
        try:
            self._work_queue().put_nowait(job)
        except asyncio.QueueFull:
            record.dropped += 1

    def report(self) -> dict[str, Any]:
        """Every endpoint shadowed in this process: counts, noise, the last mismatches."""
        return {
            "process": os.getpid(),
            "limits": dataclasses.asdict(self.limits),
            "endpoints": [
                record.report(self.redactor, key)
                for key, record in sorted(list(self.records.items()))
            ],
        }

    def published(self) -> str | None:
        """This process's report for the flag store (every worker's is read from there), or
        None while it has shadowed nothing. Made again only when something was counted since
        (it runs in the flag watcher's thread every few seconds)."""
        if not self.records:
            return None
        state = tuple(
            (key, r.shadowed, r.compared, r.busy, r.dropped, r.too_big, r.failed, len(r.noise))
            for key, r in sorted(list(self.records.items()))
        )
        if state != self._published[0]:
            self._published = (state, json.dumps(self.report()))
        return self._published[1]

    def export(self, recorded: bool = False) -> dict[str, str]:
        """This process's findings as corpus files (see record.corpus_files)."""
        return corpus_files(self.report()["endpoints"], recorded)

    # --- the work, on the event loop -----------------------------------------------------------

    def _work_queue(self) -> asyncio.Queue[_Job]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            self._loop = loop
            self._queue = asyncio.Queue(self.limits.queue)
            self._workers = [
                loop.create_task(self._work(self._queue)) for _ in range(self.limits.concurrency)
            ]
        return self._queue

    async def _work(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._compare(job)
            except Exception:  # a fault in shadowing never reaches the clients
                log.exception("shadowing %s failed", job.key)

    async def _compare(self, job: _Job) -> None:
        record = self.records[job.key]
        rules = self._rules(job.key)
        if job.again is not None and job.again.answer.status == job.answer.status and not job.raced:
            # A/A: the serving backend twice on the same world (the second in a sandbox, before
            # the first), so what differs is noise, never state (a status change is a fault;
            # a race, two worlds).
            record.calibrations += 1
            noise = compare(job.answer, job.again.answer, rules)
            record.learn_noise(noise, self.never_noise)
        if job.serving is Backend.LEGACY:
            legacy, migrated = job.answer, job.other.answer
            calls = (job.calls, job.other.calls)
        else:
            legacy, migrated = job.other.answer, job.answer
            calls = (job.other.calls, job.calls)
        differences = [d for d in compare(legacy, migrated, rules) if not record.is_noise(d)]
        differences += _outbound_differences(*calls)
        record.compared += 1
        if not differences:
            record.matched += 1
            record.samples.append(job.request)
        undeclared = [d for d in differences if not self._declared(job, d, legacy, migrated)]
        if not undeclared:
            record.declared += bool(differences)
            if legacy.status >= 500:  # the same failure on both sides: not the port's (#25)
                record.shared_errors[job.serving.value] += 1
            return
        if job.raced:
            record.raced += 1  # the two sides may have seen two worlds: proves nothing
            return
        record.mismatched += 1
        record.where.update(d.where for d in undeclared)
        record.mismatches.append(
            Mismatch(utc_now(), job.request, legacy, migrated, undeclared, job.serving.value)
        )

    async def _sandboxed(
        self, record: EndpointRecord, app: ASGIApp, scope: Scope, body: bytes, counted: bool = True
    ) -> _Called | None:
        """Calls `app` in a sandbox of its own, with a timeout; None (counted) when it timed
        out, failed or was too big. The sandbox is thrown away before this returns."""
        method = scope["method"]
        async with Sandbox(
            label=f"{method} {scope['path']}", writes=method not in SAFE_METHODS
        ) as box:
            capture = await self._call(record, app, scope, body, counted)
        if capture is None:
            return None
        if box.faults:  # its database could not be held (locked, away): proves nothing
            log.warning("sandboxed %s could not hold its database: %s", box.label, box.faults)
            record.failed += counted
            return None
        return _Called(capture.answer(), tuple(box.calls))

    async def _call(
        self, record: EndpointRecord, app: ASGIApp, scope: Scope, body: bytes, counted: bool = True
    ) -> Capture | None:
        """Calls `app` with a timeout; None (counted) when it timed out, failed or was too big."""
        try:
            capture = await asyncio.wait_for(
                call(app, scope, body, self.limits.max_body), self.limits.timeout
            )
        except TimeoutError:
            record.timed_out += counted
            return None
        except Exception:
            log.warning("a shadow call to %s raised", record, exc_info=True)
            record.failed += counted
            return None
        if capture.too_big:
            record.too_big += counted
            return None
        if not capture.complete:
            record.failed += counted
            return None
        return capture

    def _rules(self, key: str) -> Rules:
        return self.rules.get(key) or self.base

    def _declared(
        self, job: _Job, difference: Difference, legacy: Answer, migrated: Answer
    ) -> bool:
        if self.ledger is None:
            return False
        entry = self.ledger.declare(
            "",
            [job.key],
            difference.where,
            request=f"{job.request.method} {job.request.path}",
            statuses=(legacy.status, migrated.status),
        )
        return entry is not None


def _outbound_differences(
    legacy: tuple[OutboundCall, ...], migrated: tuple[OutboundCall, ...]
) -> list[Difference]:
    """The outbound HTTP calls each side made (or tried, in its sandbox), compared in order:
    a port that stops sending a mail, or sends it elsewhere, differs here."""
    if [c.view() for c in legacy] == [c.view() for c in migrated]:
        return []
    return [Difference("outbound calls", [c.view() for c in legacy], [c.view() for c in migrated])]


def _seen(scope: Scope, body: bytes) -> SeenRequest:
    headers = tuple(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
    )
    return SeenRequest(
        scope["method"],
        scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        headers,
        body,
    )
