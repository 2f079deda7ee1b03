"""How busy the process keeps its CPU (strangler.serving.cpu), on a clock moved by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler.serving import cpu


class Clock:
    """Stands for the `time` module in strangler.serving.cpu: wall and CPU time moved by hand."""

    def __init__(self) -> None:
        self.wall = 1000.0
        self.cpu = 10.0

    def monotonic(self) -> float:
        return self.wall

    def process_time(self) -> float:
        return self.cpu

    def advance(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The hand-moved clock, with no cgroup quota (one core is the ceiling)."""
    fake = Clock()
    monkeypatch.setattr(cpu, "time", fake)
    monkeypatch.setattr(cpu, "cpu_quota", lambda: float("inf"))
    return fake


def test_busy_is_cpu_time_over_wall_time(clock: Clock) -> None:
    """Half a second of CPU in one second reads 0.5; the next reading measures from there."""
    gauge = cpu.CPUGauge()
    clock.advance(wall=1.0, cpu=0.5)
    assert gauge.read() == pytest.approx(0.5)
    clock.advance(wall=2.0, cpu=2.0)
    assert gauge.read() == pytest.approx(1.0)


@pytest.mark.parametrize(("quota", "busy"), [(0.5, 1.0), (0.25, 2.0), (2.0, 0.5)])
def test_busy_is_measured_against_the_quota_up_to_one_core(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, quota: float, busy: float
) -> None:
    """Under a quota of half a CPU, half a core is fully busy; a quota over one CPU changes
    nothing (one Python process uses one core at a time)."""
    monkeypatch.setattr(cpu, "cpu_quota", lambda: quota)
    gauge = cpu.CPUGauge()
    clock.advance(wall=1.0, cpu=0.5)
    assert gauge.read() == pytest.approx(busy)


def test_a_restart_leaves_out_what_came_before(clock: Clock) -> None:
    """An idle stretch before a restart does not count in the next reading."""
    gauge = cpu.CPUGauge()
    clock.advance(wall=10.0, cpu=0.0)
    gauge.restart()
    clock.advance(wall=1.0, cpu=1.0)
    assert gauge.read() == pytest.approx(1.0)


def test_busy_reads_again_only_once_the_window_has_passed(clock: Clock) -> None:
    """Within the window `busy` gives the last figure; once it has passed, a fresh one."""
    gauge = cpu.CPUGauge(window=0.25)
    clock.advance(wall=1.0, cpu=1.0)
    assert gauge.busy() == pytest.approx(1.0)
    clock.advance(wall=0.125, cpu=0.0)
    assert gauge.busy() == pytest.approx(1.0)
    clock.advance(wall=0.125, cpu=0.0)
    assert gauge.busy() == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("content", "quota"),
    [
        ("max 100000\n", float("inf")),
        ("50000 100000\n", 0.5),
        ("200000 100000\n", 2.0),
        ("garbled\n", float("inf")),
        (None, float("inf")),
    ],
    ids=["unbounded", "half", "two", "garbled", "missing"],
)
def test_the_quota_is_read_from_the_cgroup_s_cpu_max(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None, quota: float
) -> None:
    """cgroup v2's `cpu.max` gives the CPUs this process may use; `max`, a garbled file or none
    (no cgroup v2) means unbounded."""
    limits = tmp_path / "cpu.max"
    if content is not None:
        limits.write_text(content)
    real_open = open
    monkeypatch.setattr(cpu, "open", lambda _name: real_open(limits), raising=False)
    assert cpu.cpu_quota() == quota
