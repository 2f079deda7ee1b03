"""`strangler rollout …` on the store (strangler.cli.rollout)."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import pair_cli

ENDPOINT = "GET /work"


def test_the_cli_starts_reads_pauses_resumes_and_aborts_on_the_store(tmp_path: Path) -> None:
    run, invoke = pair_cli(tmp_path)
    run("flags", "init")
    out = run("rollout", "start", ENDPOINT, "--steps", "5,100", "--interval", "2m", "-m", "go")
    assert "GET /work: rollout started at 5%" in out
    assert "steps 5,100, every 2m, at least 100 migrated requests a step" in out
    status = run("rollout", "status")
    assert "GET /work: running, step 1/2 (5%), judged in 1" in status
    assert "this step so far (0 worker(s) reporting): migrated 0 requests" in status
    assert "rollout paused at 5%" in run("rollout", "pause", ENDPOINT, "-m", "wait")
    assert "rollout running at 5%" in run("rollout", "resume", ENDPOINT, "-m", "go on")
    assert "rollout aborted at 5%" in run("rollout", "abort", ENDPOINT, "-m", "stop")
    assert "legacy" in run("flags", "list")
    refused = invoke("rollout", "start", ENDPOINT, "--interval", "soon", "-m", "x")
    assert refused.exit_code == 2
    assert "interval 'soon': give a duration such as 30s, 5m or 1h" in refused.output


def test_status_prints_who_and_why_with_control_characters_escaped(tmp_path: Path) -> None:
    """An actor and a reason holding terminal escape sequences are shown escaped by `rollout
    status`, so they cannot rewrite the operator's screen (#22)."""
    run, _ = pair_cli(tmp_path)
    run("flags", "init")
    run("rollout", "start", ENDPOINT, "-m", "go\x1b[2J", "--actor", "eve\x1b]0;owned\x07")
    status = run("rollout", "status")
    assert "\x1b" not in status
    assert "started by eve\\x1b]0;owned\\x07" in status
    assert "go\\x1b[2J" in status


def test_the_cli_gates_a_step_promotes_and_approves(tmp_path: Path) -> None:
    """`--approve-at` is kept in the plan, `promote` moves a step by hand, and `approve` is
    refused while nothing waits (#25)."""
    run, invoke = pair_cli(tmp_path)
    run("flags", "init")
    out = run("rollout", "start", ENDPOINT, "--steps", "5,50,100", "--approve-at", "50", "-m", "go")
    assert "approval before 50%" in out
    refused = invoke("rollout", "approve", ENDPOINT, "-m", "ok")
    assert refused.exit_code != 0
    assert "not awaiting approval" in refused.output
    assert "rollout running at 50%" in run("rollout", "promote", ENDPOINT, "-m", "by hand")
    assert "canary 50%" in run("flags", "list")


def test_the_cli_refuses_to_cut_a_migrated_endpoint_back_unless_told(tmp_path: Path) -> None:
    """`rollout start` on an endpoint on migrated refuses, naming --from-start; with it (or
    --yes) it starts at the first step (#25)."""
    run, invoke = pair_cli(tmp_path)
    run("flags", "init")
    run("flags", "set", ENDPOINT, "migrated", "-m", "ported")
    refused = invoke("rollout", "start", ENDPOINT, "-m", "again")
    assert refused.exit_code != 0
    assert "sends 100% to migrated now" in refused.output
    assert "--from-start" in refused.output
    assert "migrated" in run("flags", "list")
    assert "rollout started at 1%" in run("rollout", "start", ENDPOINT, "--yes", "-m", "again")
