"""Shadow traffic in process (strangler.shadow.tap): the client's answer untouched, the other
backend compared (#13)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.comparison.cases import Rules
from strangler.comparison.corpus import load_file
from strangler.comparison.ledger import Entry, Ledger
from strangler.flags.errors import InvalidFlag
from strangler.flags.model import Flag
from strangler.gateway.dispatch import Gateway
from strangler.settings import import_string
from strangler.shadow.tap import ShadowLimits, ShadowTap
from strangler.types import Mode
from tests.test_apps import shadow_pair

ADMIN = {"Authorization": "Bearer t"}
# In process, the test's own client keeps the CPU busy: shadow regardless (see test_busy_...).
ANY_LOAD = float("inf")


def build(tap: ShadowTap | None = None) -> Gateway:
    shadow_pair.calls.clear()
    tap = tap or ShadowTap(limits=ShadowLimits(max_cpu=ANY_LOAD))
    return create_gateway(
        shadow_pair.legacy, shadow_pair.migrated, "memory:", admin_token="t", shadow=tap
    )


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = build()
    yield gateway
    gateway.close()


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def shadow(gateway: Gateway, key: str, percentage: float, free: str | None = None) -> None:
    gateway.runtime.service.shadow(
        key, percentage, side_effect_free=free, actor="test", reason="watch"
    )
    gateway.watcher.refresh()


async def settled(gateway: Gateway, key: str, total: int) -> dict[str, Any]:
    """The endpoint's report once `total` shadowed requests were dealt with (at most 10 s)."""
    assert gateway.shadow is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        record = gateway.shadow.records[key]
        done = record.compared + record.timed_out + record.failed + record.too_big
        if done + record.dropped + record.busy >= total:
            break
        await asyncio.sleep(0.02)
    return next(e for e in gateway.shadow.report()["endpoints"] if e["endpoint"] == key)


async def test_the_one_differing_request_is_reported_and_noise_is_learned(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """30 shadowed GETs: clients get legacy's answers; item 13 is the one mismatch, and the
    timestamp both apps stamp (different on every call) is learned as noise by A/A."""
    shadow(gateway, "GET /items/{item_id}", 100)
    answers = [await client.get(f"/items/{i}") for i in range(1, 31)]
    assert all(a.headers["x-strangler-backend"] == "legacy" for a in answers)
    assert [a.json()["name"] for a in answers] == [f"item {i}" for i in range(1, 31)]
    report = await settled(gateway, "GET /items/{item_id}", 30)
    assert (report["compared"], report["mismatched"], report["matched"]) == (30, 1, 29)
    assert report["mismatched_where"] == {"$.name": 1}
    assert "$.generated_at" in report["noise"]
    # The first ten shadowed requests are calibrated (and one in twenty after). On a machine
    # with both cores busy a calibration call can fail or time out, and is then not counted.
    assert report["calibrations"] >= 8, report
    mismatch = report["last_mismatches"][0]
    assert mismatch["request"]["path"] == "/items/13"
    assert mismatch["legacy"]["body"]["name"] == "item 13"
    assert mismatch["migrated"]["body"]["name"] == "item thirteen"
    assert mismatch["case"]["path"] == "/items/13"
    assert mismatch["case"]["method"] == "GET"
    assert shadow_pair.calls["migrated GET /items"] == 30


async def test_a_post_not_declared_free_of_side_effects_is_never_shadowed(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """The flag refuses it, and a flag that says so anyway (written around the check) still
    sends no POST twice."""
    with pytest.raises(InvalidFlag, match="free of side effects"):
        shadow(gateway, "POST /orders", 100)
    flag = Flag(Mode.LEGACY, shadow=100.0)
    gateway.watcher.store.set("POST /orders", flag, actor="test", reason="around the check")
    gateway.watcher.refresh()
    for _ in range(20):
        assert (await client.post("/orders")).status_code == 200
    # A shadowed GET after them, compared: the shadow queue's earlier jobs were taken and run
    # first, so a POST sent twice would show by now.
    shadow(gateway, "GET /items/{item_id}", 100)
    await client.get("/items/1")
    await settled(gateway, "GET /items/{item_id}", 1)
    assert shadow_pair.calls["legacy POST /orders"] == 20
    assert shadow_pair.calls["migrated POST /orders"] == 0


async def test_a_declared_post_is_replayed_to_both_with_secrets_redacted(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """POST /echo declared free: its body reaches both apps; the report hides the Authorization
    header and the `token` both answer with, and the case is pasteable."""
    shadow(gateway, "POST /echo", 100, free="echoes its input, stores nothing")
    headers = {"Authorization": "Bearer real-secret"}
    answer = await client.post("/echo", json={"ping": 1}, headers=headers)
    assert answer.json() == {"echo": {"ping": 1}, "token": "secret-from-legacy"}
    report = await settled(gateway, "POST /echo", 1)
    assert report["mismatched_where"] == {"$.token": 1}
    text = repr(report)
    assert "real-secret" not in text
    assert "secret-from" not in text
    case = report["last_mismatches"][0]["case"]
    assert case["json"] == {"ping": 1}
    assert case["headers"]["authorization"] == "Bearer ${token}"


async def test_rules_and_the_ledger_decide_as_in_the_contract_run() -> None:
    """The endpoint's corpus rules ignore what they ignore; the ledger's entries are declared,
    not mismatches."""
    rules = {"POST /echo": Rules(ignore=("$.token",))}
    ledger = Ledger([Entry(why="accepted", endpoint="GET /items/{item_id}", where="$.name")])
    gateway = build(ShadowTap(rules, ledger, ShadowLimits(max_cpu=ANY_LOAD)))
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "POST /echo", 100, free="pure")
        shadow(gateway, "GET /items/{item_id}", 100)
        await client.post("/echo", json={"a": 1})
        # Twice: `generated_at` is noise once A/A has seen it differ in two ways.
        await client.get("/items/13")
        await client.get("/items/13")
        echo = await settled(gateway, "POST /echo", 1)
        items = await settled(gateway, "GET /items/{item_id}", 2)
    gateway.close()
    assert (echo["matched"], echo["mismatched"]) == (1, 0)
    assert (items["declared"], items["mismatched"]) == (1, 0)


async def test_a_port_that_raises_or_hangs_changes_nothing_for_the_client() -> None:
    """Migrated raises on /boom and hangs on /hang: clients get legacy's answer at legacy's
    speed; the raise is a mismatch (500), the hang a timeout."""
    gateway = build(ShadowTap(limits=ShadowLimits(timeout=0.2, max_cpu=ANY_LOAD)))
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /boom", 100)
        shadow(gateway, "GET /hang", 100)
        began = time.monotonic()
        boom, hang = await client.get("/boom"), await client.get("/hang")
        took = time.monotonic() - began
        assert (boom.status_code, boom.json(), hang.status_code) == (200, {"ok": True}, 200)
        assert took < 0.5  # not the port's 10 s, nor the 0.2 s timeout twice
        boom_report = await settled(gateway, "GET /boom", 1)
        hang_report = await settled(gateway, "GET /hang", 1)
    gateway.close()
    assert boom_report["mismatched_where"].get("status") == 1
    assert hang_report["timed_out"] == 1


async def test_shadow_work_is_bounded_and_what_does_not_fit_is_served_unshadowed() -> None:
    """One shadowed request in its sandbox at a time: a burst of hanging shadows is served,
    the one shadowed times out, the rest are counted busy."""
    limits = ShadowLimits(concurrency=1, queue=2, timeout=0.3, max_cpu=ANY_LOAD)
    gateway = build(ShadowTap(limits=limits))
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /hang", 100)
        answers = await asyncio.gather(*(client.get("/hang") for _ in range(10)))
        report = await settled(gateway, "GET /hang", 10)
    gateway.close()
    assert all(a.status_code == 200 for a in answers)
    assert report["busy"] >= 6
    assert report["timed_out"] + report["busy"] == 10


async def test_a_body_over_the_limit_is_served_and_counted_not_shadowed() -> None:
    gateway = build(ShadowTap(limits=ShadowLimits(max_body=16, max_cpu=ANY_LOAD)))
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "POST /echo", 100, free="pure")
        answer = await client.post("/echo", json={"long": "x" * 100})
    gateway.close()
    assert answer.json()["echo"] == {"long": "x" * 100}
    assert gateway.shadow is not None
    assert gateway.shadow.records["POST /echo"].too_big == 1
    assert shadow_pair.calls["migrated POST /echo"] == 0


async def test_after_the_cutover_legacy_is_the_shadow(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """Flipping an endpoint keeps its shadow share: migrated serves, legacy is watched."""
    shadow(gateway, "GET /items/{item_id}", 100)
    gateway.runtime.service.set("GET /items/{item_id}", "migrated", actor="t", reason="cut over")
    gateway.watcher.refresh()
    assert gateway.watcher.snapshot.flags["GET /items/{item_id}"].shadow == 100
    answer = await client.get("/items/13")
    assert answer.json()["name"] == "item thirteen"  # the client gets the serving answer
    report = await settled(gateway, "GET /items/{item_id}", 1)
    assert report["last_mismatches"][0]["served_by"] == "migrated"
    assert shadow_pair.calls["legacy GET /items"] >= 1


async def test_shadow_over_the_admin_api_is_audited_and_exported(
    gateway: Gateway, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = {"endpoint": "GET /items/{item_id}", "percentage": 100, "reason": "watch it"}
    changed = await client.post("/_strangler/shadow", json=body, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    assert changed.json()["after"]["shadow"] == 100
    refused = await client.post(
        "/_strangler/shadow",
        json={"endpoint": "POST /orders", "percentage": 5, "reason": "x"},
        headers=ADMIN,
    )
    assert refused.status_code == 422
    assert "free of side effects" in refused.json()["error"]
    await client.get("/items/13")
    await settled(gateway, "GET /items/{item_id}", 1)
    report = (await client.get("/_strangler/shadow", headers=ADMIN)).json()
    assert report["flags"]["GET /items/{item_id}"]["shadow"] == 100
    assert report["endpoints"][0]["mismatched"] == 1
    files = (await client.get("/_strangler/shadow/export", headers=ADMIN)).json()["files"]
    assert list(files) == ["shadow_get_items_item_id.yaml"]
    assert "path: /items/13" in files["shadow_get_items_item_id.yaml"]
    path = tmp_path / "shadow_get_items_item_id.yaml"
    path.write_text(files["shadow_get_items_item_id.yaml"])
    corpus = load_file(path)  # a corpus file as it is: the contract run takes it
    assert corpus.endpoint == "GET /items/{item_id}"
    assert corpus.cases[0].steps[0].request.path == "/items/13"
    history = (await client.get("/_strangler/history", headers=ADMIN)).json()
    assert history[0]["reason"] == "watch it"
    assert (await client.get("/_strangler/shadow")).status_code == 401


async def test_a_busy_cpu_is_left_to_the_clients_and_the_skips_counted() -> None:
    """Past `max_cpu`, a request that would be shadowed is not (the next clients would wait
    behind its shadow call on the same core): counted as busy."""
    gateway = build(ShadowTap(limits=ShadowLimits(max_cpu=-1)))  # always "too busy"
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /items/{item_id}", 100)
        for i in range(5):
            assert (await client.get(f"/items/{i}")).status_code == 200
    gateway.close()
    assert gateway.shadow is not None
    record = gateway.shadow.records["GET /items/{item_id}"]
    assert (record.busy, record.shadowed) == (5, 0)
    assert shadow_pair.calls["migrated GET /items"] == 0


async def test_the_health_timestamp_is_learned_as_noise_not_counted() -> None:
    """No corpus rules here: /health's timestamp differs between any two answers, so A/A
    learns it, and 20 shadowed requests give no mismatch."""
    legacy = import_string("legacy.app:app")
    migrated = import_string("migrated.app:app")
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf")))
    gateway = create_gateway(legacy, migrated, "memory:", shadow=tap)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /health", 100)
        for _ in range(20):
            assert (await client.get("/health")).status_code == 200
        report = await settled(gateway, "GET /health", 20)
    gateway.close()
    assert report["noise"] == ["$.timestamp"]
    assert (report["compared"], report["mismatched"]) == (20, 0)


async def test_an_identical_request_served_meanwhile_makes_a_difference_raced() -> None:
    """Two identical requests shadowed at once: the one served second reads the cache the
    first filled, which its sandboxed call had not seen; that difference is counted as raced,
    not as a mismatch, and the first matches (#23)."""
    from fastapi import FastAPI
    from flask import Flask, jsonify

    from strangler.sandbox.context import active

    cache: dict[str, int] = {}
    release = asyncio.Event()
    both_waiting = asyncio.Event()
    waiting: list[None] = []
    legacy = Flask("cached")

    @legacy.get("/double/<int:n>")
    def legacy_double(n: int) -> Any:
        hit = str(n) in cache
        if not hit and not active():
            cache[str(n)] = 2 * n
        return jsonify(value=2 * n, cached=hit)

    migrated = FastAPI()

    @migrated.get("/double/{n}")
    async def migrated_double(n: int) -> dict[str, Any]:
        waiting.append(None)
        if len(waiting) == 2:
            both_waiting.set()
        await release.wait()  # both sandboxed calls run before either request is served
        return {"value": 2 * n, "cached": str(n) in cache}

    tap = ShadowTap(limits=ShadowLimits(max_cpu=ANY_LOAD, timeout=10))
    gateway = create_gateway(legacy, migrated, "memory:", admin_token="t", shadow=tap)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /double/{n}", 100)
        both = asyncio.gather(client.get("/double/4"), client.get("/double/4"))
        await asyncio.wait_for(both_waiting.wait(), 10)
        release.set()
        answers = await both
        report = await settled(gateway, "GET /double/{n}", 2)
    gateway.close()
    assert sorted(a.json()["cached"] for a in answers) == [False, True]
    assert (report["matched"], report["raced"], report["mismatched"]) == (1, 1, 0), report


def first_then_never(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tap's draw: 0 for the first request, 99 out of 100 after it, so at a share of 50 %
    the first request is shadowed and the others are not."""
    from types import SimpleNamespace

    from strangler.shadow import tap

    draws = iter([0.0])
    monkeypatch.setattr(tap, "random", SimpleNamespace(random=lambda: next(draws, 0.99)))


@pytest.mark.parametrize(
    ("meanwhile", "counted"),
    [("/n/1", "raced"), ("/n/1?page=2", "mismatched"), ("/n/2", "mismatched")],
)
async def test_an_unshadowed_request_served_meanwhile_races_only_the_same_request(
    monkeypatch: pytest.MonkeyPatch, meanwhile: str, counted: str
) -> None:
    """A shadowed GET /n/1 that the port answers wrong, and an unshadowed request served while
    its sandboxed call runs: the same request (it may fill a cache the served call reads)
    makes the difference raced; one of another query or path leaves it a mismatch (#23)."""
    from fastapi import FastAPI
    from flask import Flask, jsonify

    from strangler.sandbox.context import active
    from tests.support.waiting import wait_until_async

    legacy = Flask("numbers")

    @legacy.get("/n/<int:n>")
    def legacy_n(n: int) -> Any:
        return jsonify(n=n)

    migrated = FastAPI()
    reached, release = asyncio.Event(), asyncio.Event()

    @migrated.get("/n/{n}")
    async def migrated_n(n: int) -> dict[str, int]:
        if active():  # the sandboxed call: wait while the other request is served
            reached.set()
            await release.wait()
        return {"n": n + 1}  # wrong

    first_then_never(monkeypatch)
    tap = ShadowTap(limits=ShadowLimits(max_cpu=ANY_LOAD, timeout=10))
    gateway = create_gateway(legacy, migrated, "memory:", admin_token="t", shadow=tap)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /n/{n}", 50)
        held = asyncio.create_task(client.get("/n/1"))
        await wait_until_async(reached.is_set, what="the sandboxed call")
        assert (await client.get(meanwhile)).status_code == 200
        release.set()
        assert (await held).json() == {"n": 1}
        report = await settled(gateway, "GET /n/{n}", 1)
    gateway.close()
    assert report["shadowed"] == 1
    assert (report["raced"], report["mismatched"]) == ((1, 0) if counted == "raced" else (0, 1)), (
        report
    )


async def test_requests_to_an_endpoint_without_a_shadow_share_never_reach_the_tap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While one endpoint is shadowed, requests to another at 0 % are served as if nothing
    were shadowed: the tap is neither asked nor told of them; at a share, those not drawn for
    shadowing are noted."""
    from types import SimpleNamespace

    from strangler.shadow import tap

    monkeypatch.setattr(tap, "random", SimpleNamespace(random=lambda: 0.99))  # never drawn
    noted: list[str] = []

    class Noting(ShadowTap):
        async def serve_unshadowed(self, key: str, *args: Any) -> None:
            noted.append(key)
            await super().serve_unshadowed(key, *args)

    gateway = build(Noting(limits=ShadowLimits(max_cpu=ANY_LOAD)))
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /boom", 100)
        shadow(gateway, "GET /items/{item_id}", 0)
        assert (await client.get("/items/1")).status_code == 200
        assert noted == []
        shadow(gateway, "GET /items/{item_id}", 50)
        assert (await client.get("/items/1")).status_code == 200
    gateway.close()
    assert gateway.shadow is not None
    assert gateway.shadow.records["GET /items/{item_id}"].shadowed == 0
    assert noted == ["GET /items/{item_id}"]


async def test_the_same_5xx_from_both_sides_is_counted_as_shared_by_the_serving_backend() -> None:
    """#25: a request both apps answer with the same 500 is a match, counted in shared_errors
    under the backend that served it (the rollout judge excuses it); a 500 the port alone gives
    is a mismatch, not shared."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from flask import Flask

    legacy, migrated = Flask("shared_legacy"), FastAPI()

    @legacy.get("/f/<value>")
    def legacy_f(value: str) -> Any:
        return ({"error": "not a number"}, 500) if value == "s" else {"value": value}

    @migrated.get("/f/{value}")
    async def migrated_f(value: str) -> Any:
        if value in ("s", "t"):
            return JSONResponse({"error": "not a number"}, status_code=500)
        return {"value": value}

    tap = ShadowTap(limits=ShadowLimits(max_cpu=ANY_LOAD))
    gateway = create_gateway(legacy, migrated, "memory:", admin_token="t", shadow=tap)
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            await client.get("/f/1")  # starts the gateway's threads
            shadow(gateway, "GET /f/{value}", 100)
            for value in ("s", "1", "s", "t"):
                await client.get(f"/f/{value}")
            gateway.runtime.service.set("GET /f/{value}", "migrated", actor="t", reason="go")
            gateway.watcher.refresh()
            await client.get("/f/s")
            report = await settled(gateway, "GET /f/{value}", 5)
    finally:
        gateway.close()
    assert (report["compared"], report["mismatched"]) == (5, 1)
    assert report["shared_errors"] == {"legacy": 2, "migrated": 1}
