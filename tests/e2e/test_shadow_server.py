"""Shadow traffic on the worked example behind a real server (#13)."""

from __future__ import annotations

import collections
import concurrent.futures
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.comparison.corpus import load_file
from tests.support.fleet import wait_for_workers
from tests.support.servers import REPO, free_port, running

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")


def config(folder: Path, migrated: str) -> Path:
    path = folder / "strangler.toml"
    path.write_text(
        'legacy = "legacy.app:app"\n'
        f'migrated = "{migrated}"\n'
        'flags = "flags.db"\n'
        f'contracts = "{REPO / "contract_tests"}"\n'
        "shadow_max_cpu = 100.0\n"  # the test's load saturates the server: shadow regardless
        # A worker's first calls load the model: on a busy machine longer than the default 5 s,
        # and a shadow call that times out is not compared.
        "shadow_timeout = 60.0\n"
    )
    return path


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    migrated, _, workers = request.param.partition(" --workers ")
    path = config(tmp_path, migrated)
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(path), "--port", str(port), "--dev"]
    argv += ["--workers", workers or "1"]
    with running(argv, port=port, ready_path="/health", timeout=60) as url:
        yield url, path


def shadow_predict(url: str) -> int:
    """Shadows every /predict; returns the flag version that says so."""
    answer = httpx.post(
        url + "/_strangler/shadow",
        json={
            "endpoint": "POST /predict",
            "percentage": 100,
            "side_effect_free": "a pure function of its features (the cache only remembers)",
            "reason": "watch the port on live traffic",
        },
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["version"])


def predict_all(url: str, rows: list[list[float]], workers: int = 4) -> list[httpx.Response]:
    token = httpx.post(url + "/login", json={"username": "admin", "password": "password"})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=30) as client,
        concurrent.futures.ThreadPoolExecutor(workers) as pool,
    ):
        return list(pool.map(lambda r: client.post("/predict", json={"features": r}), rows))


def report_when(url: str, done: int, seconds: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        report = httpx.get(url + "/_strangler/shadow").json()
        entry = next((e for e in report["endpoints"] if e["endpoint"] == "POST /predict"), None)
        handled = entry and sum(
            entry[k] for k in ("compared", "dropped", "timed_out", "failed", "too_big")
        )
        if entry and (handled >= done or time.monotonic() > deadline):
            return entry
        assert time.monotonic() < deadline, report
        time.sleep(0.1)


def features(first: float | None = None) -> list[float]:
    row = [round(random.uniform(-3, 3), 4) for _ in range(10)]
    if first is not None:
        row[0] = first
    return row


@pytest.mark.parametrize("served", ["tests.test_apps.predict_slip:app"], indirect=True)
def test_a_port_that_slips_on_one_kind_of_request_is_caught_with_a_case(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """40 live /predict requests, 3 of them with a first feature of 7 (where this port answers
    one too high): clients get legacy's answers; the shadow reports those 3, each as a case."""
    url, _ = served
    shadow_predict(url)
    rows = [features(7 if i % 13 == 5 else None) for i in range(40)]
    answers = predict_all(url, rows)
    assert all(a.status_code == 200 for a in answers)
    assert {a.headers["x-strangler-backend"] for a in answers} == {"legacy"}
    entry = report_when(url, 40)
    assert (entry["compared"], entry["mismatched"]) == (40, 3)
    assert entry["mismatched_where"] == {"$.prediction": 3}
    case = entry["last_mismatches"][0]["case"]
    assert case["json"]["features"][0] == 7
    assert case["headers"]["authorization"] == "Bearer ${token}"
    report = _cli("shadow", "report", "--url", url, "--full")
    assert "POST /predict" in report.stdout, report.stderr
    assert "$.prediction: legacy" in report.stdout
    export = tmp_path / "found"
    result = _cli("shadow", "export", str(export), "--url", url)
    assert "wrote" in result.stdout, result.stderr
    corpus = load_file(export / "shadow_post_predict.yaml")
    assert len(corpus.cases) == 3


@pytest.mark.timeout(300)
@pytest.mark.parametrize("served", ["migrated.app:app"], indirect=True)
def test_the_real_port_gives_no_mismatch_over_many_requests(served: tuple[str, Path]) -> None:
    """10,000 shadowed /predict requests against the real port: none differs. 200 distinct
    rows, each asked 50 times: misses and cache hits (a miss costs legacy's model ~7 ms)."""
    url, _ = served
    shadow_predict(url)
    distinct = [features() for _ in range(200)]
    rows = [row for row in distinct for _ in range(50)]
    random.shuffle(rows)
    answers = predict_all(url, rows, workers=2)
    statuses = collections.Counter(a.status_code for a in answers)
    assert statuses == {200: 10_000}, [a.text for a in answers if a.status_code != 200][:3]
    entry = report_when(url, 10_000)
    assert entry["mismatched"] == 0, entry["last_mismatches"][:1]
    assert entry["compared"] >= 9_000, entry  # what the bounded queue had room for
    assert entry["compared"] + entry["dropped"] == 10_000


def _cli(*args: str) -> Any:
    import subprocess

    return subprocess.run([STRANGLER, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("served", ["tests.test_apps.predict_slip:app --workers 2"], indirect=True)
def test_every_worker_s_findings_are_reported_together(served: tuple[str, Path]) -> None:
    """Two workers shadow their own requests and publish what they found in the flag store:
    `strangler shadow report` (from the store, no --url) and the admin API (whichever worker
    answers) count all 40 requests and the 3 slips."""
    url, path = served
    wait_for_workers(url, workers=2, version=shadow_predict(url))
    rows = [features(7 if i % 13 == 5 else None) for i in range(40)]
    assert all(a.status_code == 200 for a in predict_all(url, rows))
    # Generous: each worker publishes every 2 s, and the command alone may take seconds when
    # both cores are busy; the loop ends as soon as both views count everything.
    deadline = time.monotonic() + 90
    while True:
        result = _cli("shadow", "report", "--config", str(path))
        report = httpx.get(url + "/_strangler/shadow").json()
        entry = next((e for e in report["endpoints"] if e["endpoint"] == "POST /predict"), {})
        # Both views: the command reads what the workers last published (every 2 s).
        lines = [x for x in result.stdout.splitlines() if x.startswith("POST /predict")]
        published = lines[0].split()[2:4] if lines else []
        if entry.get("compared") == 40 and published == ["40", "40"]:
            break
        assert time.monotonic() < deadline, (entry, result.stdout)
        time.sleep(0.5)  # between two looks (the command takes a while itself)
    assert len(report["workers"]) == 2, report["workers"]
    assert (entry["compared"], entry["mismatched"]) == (40, 3)
    assert "2 worker(s) reporting" in result.stdout, result.stderr
    assert lines[0].split()[2:5] == ["40", "40", "3"]  # shadowed, compared, mismatched
