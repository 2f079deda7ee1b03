"""The example alert rules of docs/alerts.yml: valid for Prometheus (`promtool check rules`),
firing as their unit test says (`promtool test rules`, tests/rollout/alerts_test.yml), and on
metrics the gateway exposes (strangler.rollout.gauges) (#25)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "docs" / "alerts.yml"
UNIT_TEST = Path(__file__).with_name("alerts_test.yml")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing on CI: scripts/setup installs Debian's prometheus")
        pytest.skip("promtool is not installed (scripts/setup installs Debian's prometheus)")
    return found


def test_the_alert_rules_are_valid() -> None:
    """`promtool check rules docs/alerts.yml` accepts every rule."""
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_the_alert_rules_fire_as_their_unit_test_says() -> None:
    """A rollback alerts within minutes; an approval wait only after 30 minutes."""
    result = subprocess.run(
        [promtool(), "test", "rules", UNIT_TEST.name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=UNIT_TEST.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_use_metrics_the_gateway_exposes() -> None:
    """Every metric the rules name is one strangler.rollout.gauges documents."""
    gauges = (REPO / "strangler" / "rollout" / "gauges.py").read_text(encoding="utf-8")
    named = set(re.findall(r"strangler_[a-z_]+", RULES.read_text(encoding="utf-8")))
    assert named == {"strangler_rollout_events_total", "strangler_rollout_state"}
    assert all(name in gauges for name in named)
