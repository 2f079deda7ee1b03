"""The contract run's live progress (strangler.contracts.progress): a bar in a terminal, plain
lines in CI and logs, from the run's first second (#24)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from strangler.comparison.cases import Case, Request, Step
from strangler.comparison.results import CaseResult, Found, FuzzResult
from strangler.contracts.fuzz import UNSTEADY
from strangler.contracts.progress import (
    HEARTBEAT,
    Bar,
    Lines,
    fuzz_verdict,
    in_ci,
    live_progress,
)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def case(name: str) -> Case:
    return Case(name=name, steps=(Step(Request("GET", "/x")),), file=Path("x.yaml"))


def test_lines_say_the_plan_then_each_case_with_counts_and_time() -> None:
    """A log gets the plan at once, then `[elapsed] case i/n name: verdict (seconds)`."""
    out, clock = io.StringIO(), Clock()
    live = Lines(out, clock, budget="; time budget 60s in all")
    live.opening("in process, via force")
    live.planned(2, 1)
    live.case_started(case("a"), 0)
    clock.now += 1.5
    live.case_done(CaseResult(case("a"), compared=1, seconds=1.5), 0)
    failed = CaseResult(case("b"), errors=["boom"], seconds=0.25)
    live.case_done(failed, 1)
    assert out.getvalue().splitlines() == [
        "contracts: opening legacy and migrated (in process, via force)",
        "contracts: 2 cases, 1 endpoints to fuzz; time budget 60s in all",
        "[    1.5s] case 1/2 a: passed (1.50s)",
        "[    1.5s] case 2/2 b: FAILED (0.25s)",
    ]


def test_a_quiet_log_says_what_it_is_still_on() -> None:
    """After HEARTBEAT seconds without a line, a log says which endpoint it is on, and how far."""
    out, clock = io.StringIO(), Clock()
    live = Lines(out, clock)
    live.planned(0, 2)
    live.fuzz_started("POST /items", 300, 0)
    live.example_done("POST /items", 41)
    clock.now += HEARTBEAT - 1
    live.tick()
    assert "still on" not in out.getvalue()
    clock.now += 1
    live.tick()
    last = out.getvalue().splitlines()[-1]
    assert (
        last
        == f"[{HEARTBEAT:7.1f}s] still on fuzz 1/2 POST /items ({HEARTBEAT:.0f}s, 41/300 requests)"
    )
    live.fuzz_done(
        FuzzResult(
            "POST /items",
            examples=41,
            wanted=300,
            cut_short="the run's time budget (60s)",
            seconds=10,
        ),
        0,
    )
    assert (
        out.getvalue()
        .splitlines()[-1]
        .endswith("fuzz 1/2 POST /items: cut short after 41 of 300 requests (10.0s)")
    )


def test_the_bar_redraws_one_line_and_prints_failures_above_it() -> None:
    """A terminal gets one line redrawn in place, with counts and time; a failure stays above."""
    out, clock = Terminal(), Clock()
    live = Bar(out, clock)
    live.planned(2, 0)
    live.case_started(case("a"), 0)
    clock.now += 3
    live.tick()
    assert out.getvalue().endswith("\r\x1b[2Kcontracts [" + "-" * 24 + "] 0/2  3s  case 1/2 a (3s)")
    bad = CaseResult(case("a"), differences=[Found("a", "", "GET /x", "status", 200, 500)])
    live.case_done(bad, 0)
    assert "\r\x1b[2Kcase 1/2 a: FAILED (0.00s)\n" in out.getvalue()
    assert out.getvalue().endswith("] 1/2  3s")
    live.finish()
    assert out.getvalue().endswith("\r\x1b[2K")


def test_ci_or_a_pipe_gets_lines_a_terminal_gets_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar only where the stream is a terminal and no CI variable is set."""
    monkeypatch.delenv("CI", raising=False)
    assert isinstance(live_progress(Terminal()), Bar)
    assert isinstance(live_progress(io.StringIO()), Lines)
    monkeypatch.setenv("CI", "true")
    assert isinstance(live_progress(Terminal()), Lines)
    assert in_ci({"CI": "1"})
    assert not in_ci({"CI": "false"})
    assert not in_ci({})


def test_a_fuzz_difference_gone_on_replay_says_so_in_its_line() -> None:
    """An endpoint whose difference did not come back on replay fails its progress line, which
    says so (#24)."""
    request = Request("POST", "/2/delete")
    found = Found("fuzz", "", request.target, "status", 302, 404)
    play = CaseResult(Case("fuzz", (Step(request),)), differences=[found])
    result = FuzzResult(
        "POST /{id}/delete", examples=12, failure=play, minimal=request, unsteady=UNSTEADY
    )
    assert fuzz_verdict(result) == (
        "FAILED: a request differed (after 12 requests), not when replayed: it may depend on state"
    )
