"""Shadow findings that last, behind a real `strangler serve` restarted on its store (#23)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.cli.common import local
from strangler.cli.operations import LocalOperations
from strangler.shadow.record import FRESH
from tests.e2e.test_shadow_server import (
    STRANGLER,
    _cli,
    config,
    features,
    predict_all,
    report_when,
    shadow_predict,
)
from tests.support.fleet import wait_for_workers
from tests.support.servers import free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

PREDICT = "POST /predict"


def serve(path: Path, workers: int) -> Any:
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(path), "--port", str(port), "--dev"]
    return running([*argv, "--workers", str(workers)], port=port, ready_path="/health", timeout=60)


def slipping(count: int, slips: int) -> list[list[float]]:
    """`count` rows, `slips` of them with the first feature (7) this port answers wrongly."""
    return [features(7 if i < slips else None) for i in range(count)]


def kept(ops: LocalOperations, compared: int, seconds: float = 90) -> dict[str, Any]:
    """The endpoint's findings as the store keeps them (no gateway asked), once `compared`
    comparisons are folded in."""
    deadline = time.monotonic() + seconds
    while True:
        report = ops.shadow_report()
        entry = next((e for e in report["endpoints"] if e["endpoint"] == PREDICT), None)
        if entry is not None and entry["compared"] >= compared:
            return entry
        assert time.monotonic() < deadline, report
        time.sleep(0.2)


def test_findings_survive_a_restart_and_are_acknowledged_then_cleared(tmp_path: Path) -> None:
    """Two workers find 3 mismatches in 30 requests; after a restart the gateway still reports
    30 compared and the 3 mismatches (and adds what it finds next); `shadow ack` marks them
    seen, `shadow clear` forgets them."""
    path = config(tmp_path, "tests.test_apps.predict_slip:app")
    with serve(path, 2) as url:
        # The change reaches the other worker by its watcher: a request it served before would
        # not be shadowed (29 of 30 on a loaded CI machine).
        wait_for_workers(url, 2, shadow_predict(url))
        assert {a.status_code for a in predict_all(url, slipping(30, 3))} == {200}
        ops = local(path, None)
        # Each worker folds its counts into the store with its heartbeat (every 2 s): on a busy
        # machine the two may take a while, and a worker reports the other's only once folded.
        kept(ops, 30)
        entry = report_when(url, 30)
        assert (entry["compared"], entry["mismatched"]) == (30, 3)
        store = ops.store
        before = set(store.published("shadow", FRESH))
        assert before  # the workers published their reports, as they did before #23
    with serve(path, 1) as url:
        # What the stopped workers published ages out: the report is the store's own.
        wait_until(
            lambda: not before & set(store.published("shadow", FRESH)),
            within=FRESH + 20,
            every=0.2,
            what="the stopped workers' reports aging out",
        )
        (entry,) = httpx.get(url + "/_strangler/shadow").json()["endpoints"]
        assert (entry["compared"], entry["mismatched"]) == (30, 3)
        assert len(entry["last_mismatches"]) == 3
        assert entry["last_mismatches"][0]["case"]["json"]["features"][0] == 7
        assert {a.status_code for a in predict_all(url, slipping(10, 1))} == {200}
        entry = report_when(url, 40)
        assert (entry["compared"], entry["mismatched"]) == (40, 4)
        assert kept(ops, 40)["mismatched"] == 4  # folded in by the worker's heartbeat
        acked = _cli("shadow", "ack", PREDICT, "-m", "known slip", "--url", url)
        assert "4 mismatch(es) acknowledged" in acked.stdout, acked.stderr
        (entry,) = httpx.get(url + "/_strangler/shadow").json()["endpoints"]
        assert (entry["unacknowledged"], entry["acknowledged"]["reason"]) == (0, "known slip")
        cleared = _cli("shadow", "clear", "-m", "port fixed", "--url", url)
        assert f"{PREDICT}: findings cleared" in cleared.stdout, cleared.stderr
        assert httpx.get(url + "/_strangler/shadow").json()["endpoints"] == []
    store.close()
