"""Rollouts, metrics and request logs behind a real `strangler serve` (#14)."""

from __future__ import annotations

import collections
import datetime
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from strangler.rollout import conductor, judge
from strangler.rollout.bounds import Interval, rate_interval
from tests.support.fleet import wait_for_workers
from tests.support.servers import REPO, free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
TOKEN = "rollout-test-token"
ADMIN = {"X-Strangler-Admin-Token": TOKEN}
ENV = {"STRANGLER_ADMIN_TOKEN": TOKEN}
REQUESTS, REQUEST_COUNT = "strangler_requests_total", "strangler_request_duration_seconds_count"


def write_config(folder: Path, extra: str = "") -> Path:
    path = folder / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.rollout_pair:legacy"\n'
        'migrated = "tests.test_apps.rollout_pair:migrated"\n'
        'flags = "flags.db"\n'
        'sticky = "header:x-user"\n' + extra
    )
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    config = write_config(tmp_path)
    fail_file = tmp_path / "fail"
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--no-access-log"]
    env = {**ENV, "ROLLOUT_FAIL_FILE": str(fail_file)}
    with running(argv, port=port, ready_path="/work", env=env, timeout=60) as url:
        yield url, config, fail_file


class Load:
    """Callers with many identities, in a thread, until stopped (bounded: at most `seconds`)."""

    def __init__(self, url: str, seconds: float = 60.0) -> None:
        self.url, self.seconds = url, seconds
        self.seen: collections.Counter[tuple[str, int]] = collections.Counter()
        self.answers: list[tuple[float, str, int]] = []  # (wall clock, backend, status) each
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                user = f"user-{random.randrange(100_000)}"
                answer = client.get("/work", headers={"x-user": user})
                backend = answer.headers.get("x-strangler-backend", "?")
                self.seen[(backend, answer.status_code)] += 1
                self.answers.append((time.time(), backend, answer.status_code))
                time.sleep(0.002)  # a steady load, not a flood


def flag(url: str) -> dict[str, Any] | None:
    flags: dict[str, Any] = httpx.get(url + "/_strangler/flags", headers=ADMIN).json()["flags"]
    return flags.get("GET /work")


def strangler(*args: str, config: Path) -> str:
    done = subprocess.run(
        [STRANGLER, *args, "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, **ENV},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def breached_at(answers: list[tuple[float, str, int]], since: float, max_pt: float) -> float:
    """When the answers from `since` on (the step's start) first prove migrated's 5xx rate past
    legacy's by `max_pt` points, on the judge's own bounds: the earliest a look can see it."""
    counts: collections.Counter[tuple[str, bool]] = collections.Counter()
    for at, backend, status in answers:
        if at < since:
            continue
        counts[(backend, status >= 500)] += 1
        mine = rate_interval(
            counts[("migrated", True)],
            counts[("migrated", True)] + counts[("migrated", False)],
            judge.ALPHA / 2,
        )
        legacy = counts[("legacy", True)] + counts[("legacy", False)]
        theirs = rate_interval(counts[("legacy", True)], legacy, judge.ALPHA / 2)
        if (mine - (theirs if legacy else Interval(0.0, 0.0))).low > max_pt / 100:
            return at
    raise AssertionError("the answers never proved the port past the max")


def wall_clock(at: str) -> float:
    return datetime.datetime.fromisoformat(at).timestamp()


def test_a_port_that_starts_failing_is_rolled_back_at_the_first_look_that_proves_it(
    server: tuple[str, Path, Path],
) -> None:
    """A port that starts failing one request in ten mid-step is rolled back within one look
    of its answers proving it past the max (some 200 migrated answers, at whatever pace the
    machine serves them), without waiting for the step's interval."""
    url, config, fail_file = server
    interval = 3.0
    with Load(url) as load:
        out = strangler(
            "rollout", "start", "GET /work", "--steps", "10,50,100", "--interval", f"{interval}s",
            "--min-requests", "20", "-m", "ship the port", config=config,
        )  # fmt: skip
        assert "rollout started at 10%" in out
        wait_until(
            lambda: (flag(url) or {}).get("percentage") == 50.0, within=60, every=0.1, what="50 %"
        )
        fail_file.touch()  # the port breaks: one request in ten answers 500
        broke = time.time()
        wait_until(  # bounded by the load's answers, not the clock: at most the Load's minute
            lambda: (flag(url) or {}).get("mode") == "legacy",
            within=50,
            every=0.1,
            what="the rollback",
        )
    history = httpx.get(url + "/_strangler/history", headers=ADMIN).json()
    step = next(m for m in history if (m["after"] or {}).get("percentage") == 50.0)
    proved = breached_at(load.answers, wall_clock(step["at"]), max_pt=1.0)
    rolled_back = wall_clock(history[0]["at"])
    late = rolled_back - proved
    print(
        f"rolled back {rolled_back - broke:.2f} s after the port broke,"
        f" {late:.2f} s after its answers proved it"
    )
    # One look a second, plus what a look takes on a busy machine (it reads the metrics, judges,
    # writes the store: tens of ms when quiet), plus this client's read of the answer's clock.
    assert late <= conductor.TICK + 0.75, f"rolled back {late:.2f} s after the proof"
    # Nor before it (a plain rate would have, seconds early): the server counts an answer a
    # moment before this client has it, no more.
    assert late >= -0.5, f"rolled back {-late:.2f} s before the answers proved it"
    assert load.seen[("migrated", 500)] > 0  # it did fail, and clients saw it until the move
    newest = history[0]
    assert newest["actor"] == "strangler rollout"
    assert newest["before"]["mode"] == "canary"
    assert newest["after"]["mode"] == "legacy"
    reason = newest["reason"]
    print(reason)
    assert "rolled back at 50%" in reason
    assert "5xx rate breached" in reason
    assert "migrated" in reason
    assert "vs legacy 0.00%" in reason
    status = strangler("rollout", "status", "--url", url, config=config)
    assert "GET /work: rolled_back, step 2/3 (50%)" in status


def test_a_healthy_port_is_promoted_from_1_to_100(server: tuple[str, Path, Path]) -> None:
    url, config, _ = server
    with Load(url):
        strangler(
            "rollout", "start", "GET /work", "--steps", "1,10,50,100", "--interval", "1.5s",
            "--min-requests", "5", "-m", "ship the port", "--url", url, config=config,
        )  # fmt: skip
        wait_until(
            lambda: (
                httpx.get(url + "/_strangler/rollouts", headers=ADMIN).json()[0]["state"]
                == "completed"
            ),
            within=40,
            every=0.1,
            what="the rollout's completion",
        )
    assert flag(url) == {"mode": "migrated", "percentage": 100.0}
    moves = httpx.get(url + "/_strangler/history", headers=ADMIN).json()
    promotions = [m["reason"] for m in moves if m["actor"] == "strangler rollout"]
    assert len(promotions) == 3  # 1 -> 10 -> 50 -> 100
    assert all("healthy over" in reason and "5xx 0.00%" in reason for reason in promotions)
    assert promotions[-1].startswith("rollout step 2/4: 1% -> 10%")


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    """Sums of the request counter and histogram count by (metric, endpoint, backend)."""
    text = httpx.get(url, headers=headers or {}).text
    sums: dict[str, float] = collections.defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (REQUESTS, REQUEST_COUNT):
                labels = sample.labels
                sums[sample.name] += sample.value
                sums[f"{sample.name} {labels['endpoint']} {labels['backend']}"] += sample.value
    return sums


def test_metrics_from_two_workers_add_up_to_the_requests_sent(tmp_path: Path) -> None:
    metrics_port = free_port()
    config = write_config(
        tmp_path, f'metrics_port = {metrics_port}\nrequest_log = "{tmp_path / "requests.log"}"\n'
    )
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--workers", "2"]
    sent: collections.Counter[str] = collections.Counter()
    pids = set()
    with running(argv, port=port, ready_path="/_strangler/health", env=ENV, timeout=60) as url:
        change = httpx.post(
            url + "/_strangler/flags",
            headers=ADMIN,
            json={"endpoint": "GET /other", "mode": "migrated", "reason": "metrics test"},
        )
        change.raise_for_status()
        wait_for_workers(url, workers=2, version=change.json()["version"])
        for i in range(300):
            # A new connection each time, so both workers serve.
            path = ("/work", "/other", "/nope")[i % 3]
            answer = httpx.get(url + path, headers={"Connection": "close"})
            sent[path] += 1
            if path == "/other":
                pids.add(answer.json()["pid"])
        assert len(pids) == 2, "the test needs both workers to serve"
        admin = scrape(url + "/_strangler/metrics", ADMIN)
        assert httpx.get(url + "/_strangler/metrics").status_code == 401  # not public
        own_port = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    for sums in (admin, own_port):
        assert sums["strangler_requests_total"] == 300
        assert sums["strangler_request_duration_seconds_count"] == 300
        assert sums["strangler_requests_total GET /work legacy"] == sent["/work"]
        assert sums["strangler_requests_total GET /other migrated"] == sent["/other"]
        assert sums["strangler_requests_total (unmatched) legacy"] == sent["/nope"]
    lines = (tmp_path / "requests.log").read_text().splitlines()
    logged = [json.loads(line) for line in lines]  # never two workers' lines run together
    assert len(logged) == 300
    assert len({entry["request_id"] for entry in logged}) == 300
    assert {entry["endpoint"] for entry in logged} == {"GET /work", "GET /other", None}
    assert collections.Counter(e["backend"] for e in logged) == {"legacy": 200, "migrated": 100}
