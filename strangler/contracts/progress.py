"""The live progress of a contract run: a bar in a terminal, plain lines in a log.

Both say at once what the run will do, then follow each case and fuzzed endpoint with counts and
elapsed time. A log (CI, or output that is not a terminal) gets one line per case and endpoint,
and a "still on ..." line when a case or an endpoint has said nothing for `HEARTBEAT` seconds, so
a job's log never looks dead; a terminal gets one line redrawn every half second, with failures
printed above it as they come.

    with live_progress(sys.stderr) as watch:
        run_suite(session, files, watch=watch)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TextIO

from strangler.comparison.cases import Case
from strangler.comparison.results import CaseResult, FuzzResult

HEARTBEAT = 10.0  # seconds of silence before a log says what it is still doing
REDRAW = 0.5  # seconds between two drawings of the terminal's bar
BAR = 24  # characters


def in_ci(environ: dict[str, str] | None = None) -> bool:
    """Whether a CI system runs us (its `CI` variable set, as GitHub, GitLab and most set it)."""
    value = (environ if environ is not None else dict(os.environ)).get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def case_verdict(result: CaseResult) -> str:
    """A case's outcome in a word or a few."""
    if result.skipped:
        return result.skipped
    if result.failed:
        return "FAILED"
    return "passed, with declared differences" if result.declared else "passed"


def fuzz_verdict(result: FuzzResult) -> str:
    """A fuzzed endpoint's outcome, with its requests."""
    if result.error:
        return f"FAILED: {result.error}"
    if result.cut_short:
        found = ", a difference found" if result.failure else ""
        return f"cut short after {result.examples} of {result.wanted} requests{found}"
    if result.failure and result.unsteady:
        return (
            f"FAILED: a request differed (after {result.examples} requests),"
            " not when replayed: it may depend on state"
        )
    if result.failure:
        return f"FAILED: a request differs (after {result.examples} requests, shrunk)"
    return f"clean, {result.examples} requests"


class Live:
    """What both displays share: the plan, where the run is, the clock, one lock, one ticker."""

    def __init__(
        self, stream: TextIO, clock: Callable[[], float] = time.monotonic, *, budget: str = ""
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.budget = budget  # said with the plan: "; time budget 60s"
        self.started = clock()
        self.cases = 0
        self.endpoints = 0
        self.now_doing = ""  # "case 3/10 name" or "fuzz 1/2 METHOD /path"
        self.doing_since = self.started
        self.examples = (0, 0)  # of the endpoint being fuzzed: done, asked for
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Live:
        self._ticker = threading.Thread(target=self._tick, name="strangler-progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        with self._lock:
            self.finish()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def _tick(self) -> None:
        while not self._stop.wait(self.period):
            with self._lock:
                self.tick()

    # What each display does; called under the lock.
    period = 1.0

    def say(self, text: str) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        pass

    def finish(self) -> None:
        pass

    def _doing(self, what: str) -> None:
        self.now_doing, self.doing_since = what, self.clock()

    # The Watcher (strangler.contracts.suite) and the CLI's first word.
    def opening(self, where: str) -> None:
        with self._lock:
            self.say(f"contracts: opening legacy and migrated ({where})")
            self._doing("opening legacy and migrated")

    def planned(self, cases: int, endpoints: int) -> None:
        with self._lock:
            self.cases, self.endpoints = cases, endpoints
            fuzzing = f"{endpoints} endpoints to fuzz" if endpoints else "no fuzzing"
            self.say(f"contracts: {cases} cases, {fuzzing}{self.budget}")

    def case_started(self, case: Case, index: int) -> None:
        with self._lock:
            self._doing(f"case {index + 1}/{self.cases} {case.name}")

    def case_done(self, result: CaseResult, index: int) -> None:
        with self._lock:
            self.done_line(
                f"case {index + 1}/{self.cases} {result.case.name}: {case_verdict(result)}"
                f" ({result.seconds:.2f}s)",
                result.failed,
            )

    def fuzz_started(self, endpoint: str, examples: int, index: int) -> None:
        with self._lock:
            self.examples = (0, examples)
            self._doing(f"fuzz {index + 1}/{self.endpoints} {endpoint}")
            self.started_line(f"{self.now_doing}: up to {examples} requests")

    def example_done(self, endpoint: str, examples: int) -> None:
        with self._lock:
            self.examples = (examples, self.examples[1])

    def fuzz_done(self, result: FuzzResult, index: int) -> None:
        with self._lock:
            self.done_line(
                f"fuzz {index + 1}/{self.endpoints} {result.endpoint}: {fuzz_verdict(result)}"
                f" ({result.seconds:.1f}s)",
                result.failed,
            )
            self.now_doing, self.examples = "", (0, 0)

    def started_line(self, text: str) -> None:
        pass

    def done_line(self, text: str, failed: bool) -> None:
        raise NotImplementedError


class Lines(Live):
    """Plain lines, for logs: `[  12.3s] case 3/10 name: passed (0.41s)`."""

    def __init__(
        self, stream: TextIO, clock: Callable[[], float] = time.monotonic, *, budget: str = ""
    ) -> None:
        super().__init__(stream, clock, budget=budget)
        self.last_said = self.started

    def say(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self.last_said = self.clock()

    def stamped(self, text: str) -> None:
        self.say(f"[{self.elapsed():7.1f}s] {text}")

    def started_line(self, text: str) -> None:
        self.stamped(text)

    def done_line(self, text: str, failed: bool) -> None:
        self.stamped(text)
        self.now_doing = ""

    def tick(self) -> None:
        if not self.now_doing or self.clock() - self.last_said < HEARTBEAT:
            return
        done, wanted = self.examples
        examples = f", {done}/{wanted} requests" if wanted else ""
        since = self.clock() - self.doing_since
        self.stamped(f"still on {self.now_doing} ({since:.0f}s{examples})")


class Bar(Live):
    """One line redrawn in place, for a terminal; failures are printed above it."""

    period = REDRAW

    def __init__(
        self, stream: TextIO, clock: Callable[[], float] = time.monotonic, *, budget: str = ""
    ) -> None:
        super().__init__(stream, clock, budget=budget)
        self.steps_done = 0

    def say(self, text: str) -> None:
        self.stream.write("\r\x1b[2K" + text + "\n")
        self.draw()

    def done_line(self, text: str, failed: bool) -> None:
        self.steps_done += 1
        self.now_doing = ""
        if failed:
            self.say(text)
        else:
            self.draw()

    def tick(self) -> None:
        self.draw()

    def draw(self) -> None:
        total = self.cases + self.endpoints
        done, wanted = self.examples
        fraction = (self.steps_done + (done / wanted if wanted else 0)) / total if total else 0
        filled = round(BAR * min(fraction, 1.0))
        doing = ""
        if self.now_doing:
            examples = f" {done}/{wanted}" if wanted else ""
            doing = f"  {self.now_doing}{examples} ({self.clock() - self.doing_since:.0f}s)"
        line = (
            f"contracts [{'#' * filled}{'-' * (BAR - filled)}] {self.steps_done}/{total}"
            f"  {self.elapsed():.0f}s{doing}"
        )
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


def live_progress(stream: TextIO, *, budget: str = "") -> Live:
    """A bar where `stream` is a terminal (and not in CI), else plain lines."""
    if stream.isatty() and not in_ci():
        return Bar(stream, budget=budget)
    return Lines(stream, budget=budget)
