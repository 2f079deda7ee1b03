"""Shadow findings that last (strangler.shadow.findings): folded into the flag store by every
worker, kept across restarts until acknowledged or cleared, bounded (#23)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.assembly import create_gateway, runtime_of
from strangler.flags.errors import InvalidFlag, UnknownEndpoint
from strangler.flags.model import MAX_TEXT
from strangler.flags.store import MemoryFlagStore, open_store
from strangler.gateway.dispatch import Gateway
from strangler.shadow import findings
from strangler.shadow.record import KEEP, MAX_NOISE
from strangler.shadow.tap import ShadowLimits, ShadowTap
from tests.shadow.test_tap import settled, shadow
from tests.test_apps import shadow_pair

ITEM = "GET /items/{item_id}"


def mismatch(at: str, path: str = "/items/13", where: str = "$.name", size: int = 0) -> Any:
    return {
        "at": at,
        "served_by": "legacy",
        "request": {"method": "GET", "path": path},
        "differences": [{"where": where, "legacy": "a", "migrated": "b"}],
        "legacy": {"status": 200, "headers": {}, "body": "x" * size},
        "migrated": {"status": 200, "headers": {}, "body": {}},
        "case": {"name": "", "method": "GET", "path": path},
    }


def worker_report(
    compared: int, mismatches: list[Any], noise: list[str] = (), **counts: int
) -> dict[str, Any]:
    found = dict.fromkeys(findings.COUNTS, 0)
    found.update(counts, compared=compared, mismatched=len(mismatches))
    found.update(
        endpoint=ITEM,
        noise=list(noise),
        systematic={},
        mismatched_where={"$.name": len(mismatches)} if mismatches else {},
        last_mismatches=mismatches,
        recorded=[],
    )
    return found


def folded(store: MemoryFlagStore, now: dict[str, Any], before: dict[str, Any] | None) -> None:
    change = findings.delta(now, before)
    assert change is not None
    store.update_findings(ITEM, lambda doc: findings.fold(doc, change, ITEM))


def reported(store: MemoryFlagStore) -> dict[str, Any]:
    (entry,) = findings.report(store.findings())["endpoints"]
    return entry


def test_two_workers_folding_their_counts_are_summed_and_each_mismatch_kept_once() -> None:
    """Each worker folds only what it counted since its last fold: the store has the sum."""
    store = MemoryFlagStore()
    first = worker_report(10, [mismatch("2024-01-01T00:00:01")])
    folded(store, first, None)
    later = worker_report(20, [mismatch("2024-01-01T00:00:01"), mismatch("2024-01-01T00:00:02")])
    folded(store, later, first)
    folded(store, worker_report(5, [mismatch("2024-01-01T00:00:03", "/items/7")]), None)
    assert findings.delta(later, later) is None  # nothing new: nothing written
    entry = reported(store)
    assert (entry["compared"], entry["mismatched"]) == (25, 3)
    assert [m["at"] for m in entry["last_mismatches"]] == [
        "2024-01-01T00:00:03",
        "2024-01-01T00:00:02",
        "2024-01-01T00:00:01",
    ]


def test_a_document_is_bounded_in_mismatches_noise_and_bytes() -> None:
    """At most KEEP mismatches (the latest), MAX_NOISE noise places, a big mismatch without its
    bodies, and the whole document under MAX_DOC_BYTES."""
    store = MemoryFlagStore()
    many = [mismatch(f"2024-01-01T00:00:{i:02}", f"/items/{i}") for i in range(KEEP + 15)]
    noise = [f"$.n{i}" for i in range(MAX_NOISE + 50)]
    folded(store, worker_report(100, many, noise), None)
    huge = [mismatch(f"2024-01-02T00:00:{i:02}", size=200_000) for i in range(KEEP)]
    folded(store, worker_report(100, huge), None)
    (document,) = store.findings().values()
    assert len(document) <= findings.MAX_DOC_BYTES
    entry = reported(store)
    assert len(entry["noise"]) == MAX_NOISE
    assert len(entry["last_mismatches"]) == KEEP
    assert entry["last_mismatches"][0]["at"] == f"2024-01-02T00:00:{KEEP - 1:02}"
    assert entry["last_mismatches"][0]["legacy"]["body"].startswith("(not kept")
    assert entry["mismatched"] == KEEP + 15 + KEEP  # counted, though not all kept


def test_noise_learned_later_takes_back_the_kept_mismatches_that_were_only_it() -> None:
    """A place learned as noise after its mismatches were kept removes them from the store."""
    store = MemoryFlagStore()
    first = worker_report(3, [mismatch("2024-01-01T00:00:01", where="$.at")])
    folded(store, first, None)
    later = worker_report(4, [], ["$.at"], matched=4)
    folded(store, later, first)
    entry = reported(store)
    assert entry["noise"] == ["$.at"]
    assert (entry["mismatched"], entry["last_mismatches"]) == (0, [])


def test_acknowledged_findings_stay_and_only_new_mismatches_count_as_unacknowledged() -> None:
    """An acknowledgement names who, when and why; mismatches after it are new."""
    store = MemoryFlagStore()
    first = worker_report(10, [mismatch("2000-01-01T00:00:01")])
    folded(store, first, None)
    mark = findings.acknowledge(store, ITEM, actor="ann", reason="known: ticket 12")
    assert mark["acknowledged"]["actor"] == "ann"
    entry = reported(store)
    assert entry["unacknowledged"] == 0
    assert entry["acknowledged"]["reason"] == "known: ticket 12"
    assert entry["last_mismatches"][0]["acknowledged"] is True
    folded(store, worker_report(11, [*first["last_mismatches"], mismatch("2999-01-01")]), first)
    entry = reported(store)
    assert (entry["mismatched"], entry["unacknowledged"]) == (2, 1)
    assert [m["acknowledged"] for m in entry["last_mismatches"]] == [False, True]
    assert entry["log"][0]["action"] == "acknowledged"


def test_cleared_findings_are_gone_but_the_clearing_is_logged() -> None:
    """`clear` forgets the counts and mismatches, keeps who cleared them and why; what workers
    count afterwards starts a new document."""
    store = MemoryFlagStore()
    first = worker_report(10, [mismatch("2024-01-01T00:00:01")])
    folded(store, first, None)
    assert findings.clear(store, None, actor="bob", reason="port fixed")["cleared"] == [ITEM]
    assert findings.report(store.findings())["endpoints"] == []
    (document,) = store.findings().values()
    assert json.loads(document)["log"][0]["actor"] == "bob"
    folded(store, worker_report(12, first["last_mismatches"]), first)
    entry = reported(store)
    assert (entry["compared"], entry["mismatched"], entry["last_mismatches"]) == (2, 0, [])
    assert entry["log"][0]["action"] == "cleared"


def test_ack_and_clear_refuse_an_endpoint_with_nothing_kept_and_an_unbounded_reason() -> None:
    """Nothing kept for the endpoint: UnknownEndpoint naming what is kept; a reason past the
    audit's bound, or none: InvalidFlag; nothing written."""
    store = MemoryFlagStore()
    folded(store, worker_report(1, [mismatch("2024-01-01")]), None)
    with pytest.raises(UnknownEndpoint, match="kept for: GET /items"):
        findings.acknowledge(store, "GET /nope", actor="ann", reason="x")
    with pytest.raises(UnknownEndpoint):
        findings.clear(store, "GET /nope", actor="ann", reason="x")
    with pytest.raises(InvalidFlag):
        findings.clear(store, ITEM, actor="ann", reason="x" * (MAX_TEXT + 1))
    with pytest.raises(InvalidFlag):
        findings.acknowledge(store, ITEM, actor="ann", reason=" ")
    assert reported(store)["mismatched"] == 1


# --- a gateway restarted on its store ------------------------------------------------------------


def build(flags: Path) -> Gateway:
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf")))
    return create_gateway(
        shadow_pair.legacy, shadow_pair.migrated, flags, admin_token="t", shadow=tap
    )


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.db"
    created = open_store(path, create=True)
    created.version()  # (a store is made on its first use)
    created.close()
    return path


async def shadowed(gateway: Gateway, paths: list[str]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for path in paths:
            assert (await client.get(path)).status_code == 200
    return await settled(gateway, ITEM, len(paths))


async def test_findings_survive_a_restart_and_the_next_run_adds_to_them(store_file: Path) -> None:
    """Shadowed on a gateway that is then closed, the mismatch, counts and noise are reported
    by the next gateway on the store, which adds its own (#23: they were lost)."""
    before = build(store_file)
    try:
        shadow(before, ITEM, 100)
        await shadowed(before, [f"/items/{i}" for i in range(1, 21)])
    finally:
        before.close()
    after = build(store_file)
    try:
        runtime = runtime_of(after)
        assert after.shadow is not None
        assert "$.generated_at" in after.shadow.records[ITEM].noise  # learned before: kept
        (entry,) = runtime.shadow_findings()["endpoints"]
        assert (entry["compared"], entry["mismatched"]) == (20, 1)
        assert entry["last_mismatches"][0]["request"]["path"] == "/items/13"
        assert "$.generated_at" in entry["noise"]
        await shadowed(after, ["/items/1", "/items/13"])
        (entry,) = runtime.shadow_findings()["endpoints"]  # kept, plus not folded yet
        assert (entry["compared"], entry["mismatched"]) == (22, 2)
        assert runtime.keeper is not None
        runtime.keeper.fold()
        (entry,) = runtime.shadow_findings()["endpoints"]  # folded: counted once
        assert (entry["compared"], entry["mismatched"]) == (22, 2)
    finally:
        after.close()
