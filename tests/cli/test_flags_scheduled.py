"""`strangler flags set ... --at`, `flags scheduled` and `flags cancel` on the store (#25)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli import pair_cli

ENDPOINT = "GET /work"


def test_a_change_set_for_later_is_listed_and_cancelled_not_made_now(tmp_path: Path) -> None:
    """`--at +10m` keeps the change (the flag unchanged), `scheduled` lists it, `cancel` drops
    it."""
    run, invoke = pair_cli(tmp_path)
    run("flags", "init")
    out = run("flags", "set", ENDPOINT, "canary", "10", "--at", "+10m", "-m", "morning")
    found = re.search(r"scheduled change (\d+): GET /work -> canary 10% at 20", out)
    assert found, out
    assert "GET /work" not in run("flags", "list")  # not made now
    listed = run("flags", "scheduled")
    assert f"{found.group(1)}  GET /work -> canary 10% at" in listed
    assert "morning" in listed
    assert "cancelled change" in run("flags", "cancel", found.group(1), "-m", "freeze")
    assert "no changes scheduled" in run("flags", "scheduled")
    again = invoke("flags", "cancel", found.group(1), "-m", "freeze")
    assert again.exit_code != 0
    assert "no scheduled change" in again.output


def test_a_time_past_or_a_bad_change_is_refused_at_once(tmp_path: Path) -> None:
    """A time past, or a change `set` would refuse, is refused when scheduled."""
    run, invoke = pair_cli(tmp_path)
    run("flags", "init")
    past = invoke("flags", "set", ENDPOINT, "migrated", "--at", "2020-01-01T00:00Z", "-m", "x")
    assert past.exit_code != 0
    assert "is past; give a time to come" in past.output
    bad = invoke("flags", "set", "GET /nope", "migrated", "--at", "+1m", "-m", "x")
    assert bad.exit_code != 0
    assert "no changes scheduled" in run("flags", "scheduled")
