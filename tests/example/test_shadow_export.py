"""An exported shadow mismatch replays (#23): the worked example shadowed over a port that
slips on one kind of /predict, `strangler shadow export` writes the mismatches with the corpus's
login, and `strangler contract run` on that export fails on the slipping port and passes on the
faithful one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from click.testing import CliRunner, Result

from strangler.assembly import create_gateway
from strangler.cli.main import main
from strangler.flags.model import Flag
from strangler.flags.sqlite import SQLiteFlagStore
from strangler.gateway.dispatch import Gateway
from strangler.settings import import_string
from strangler.shadow.tap import ShadowLimits, ShadowTap
from tests.support.servers import REPO

SLIPPING = "tests.test_apps.predict_slip:app"
# Four requests, two of them the one kind the port gets wrong, one of those sent twice.
ROWS = [[7, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1] * 10, [7, 0, 0, 0, 0, 0, 0, 0, 0, 1], [2] * 10]
SENT = [*ROWS, ROWS[0]]


def configured(folder: Path, flags: str) -> Path:
    """The worked example's settings, with a flag store of this test's own."""
    path = folder / f"{flags}.toml"
    path.write_text(
        'legacy = "legacy.app:app"\n'
        f'migrated = "{SLIPPING}"\n'
        f'flags = "{flags}.db"\n'
        f'contracts = "{REPO / "contract_tests"}"\n'
        f'ledger = "{REPO / "contract_tests" / "ledger.yaml"}"\n'
        'contract_reset = "migrated.domain:prediction_cache.clear"\n'
    )
    return path


async def shadow_the_slips(flags: Path) -> dict[str, Any]:
    """Legacy serves /predict, the slipping port shadows every request; the gateway's report
    is published in the flag store as its heartbeat would, and returned."""
    store = SQLiteFlagStore(flags, create=True)
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf"), timeout=30))
    gateway: Gateway = create_gateway(
        import_string("legacy.app:app"), import_string(SLIPPING), store, shadow=tap
    )
    migrated_app = import_string("migrated.app:app")  # the port's own, under the wrapper
    try:
        service = gateway.runtime.service
        service.store.set("POST /predict", Flag.build("legacy"), actor="t", reason="serve")
        service.shadow(
            "POST /predict", 100, side_effect_free="pure", actor="test", reason="compare"
        )
        gateway.watcher.refresh()
        async with (
            migrated_app.router.lifespan_context(migrated_app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://g"
            ) as client,
        ):
            login = await client.post("/login", json={"username": "admin", "password": "password"})
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            for row in SENT:
                answer = await client.post("/predict", json={"features": row}, headers=auth)
                assert answer.status_code == 200
            record = tap.records["POST /predict"]
            deadline = time.monotonic() + 30
            while record.compared + record.failed + record.timed_out < len(SENT):
                assert time.monotonic() < deadline, tap.report()
                await asyncio.sleep(0.02)
        published = tap.published()
        assert published is not None
        store.publish(gateway.watcher.reader, "shadow", published)  # as its heartbeat does
    finally:
        gateway.close()
    return next(e for e in tap.report()["endpoints"] if e["endpoint"] == "POST /predict")


def strangler(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_an_exported_mismatch_fails_on_the_slipping_port_and_passes_on_the_faithful_one(
    tmp_path: Path,
) -> None:
    """Three mismatches of two distinct inputs are exported as two cases logged in by the
    corpus's login; the contract run on them fails at `$.prediction` on the slipping port and
    passes on the real one, with no `${token}` left unset."""
    config = configured(tmp_path, "gateway")
    report = asyncio.run(shadow_the_slips(tmp_path / "gateway.db"))
    assert (report["compared"], report["mismatched"]) == (len(SENT), 3)
    found = tmp_path / "found"
    export = strangler("shadow", "export", str(found), "--config", str(config))
    assert export.exit_code == 0, export.output
    assert "logged in by the `before:` of" in export.output
    assert [p.name for p in found.iterdir()] == ["shadow_post_predict.yaml"]
    written = yaml.safe_load((found / "shadow_post_predict.yaml").read_text())
    assert [s["path"] for s in written["before"]] == ["/login"]
    assert sorted(c["json"]["features"] for c in written["cases"]) == sorted([ROWS[0], ROWS[2]])
    assert all("x-request-id" not in c.get("headers", {}) for c in written["cases"])
    # A flag store no gateway reads: the run resets the prediction cache between its plays.
    runs = configured(tmp_path, "contracts")
    run = ("contract", "run", "--config", str(runs), "--corpus", str(found), "--no-fuzz")
    slipping = strangler(*run)
    assert slipping.exit_code == 1, slipping.output
    assert "$.prediction" in slipping.output
    assert "is not set" not in slipping.output
    faithful = strangler(*run, "--migrated", "migrated.app:app")
    assert faithful.exit_code == 0, faithful.output
    assert "is not set" not in faithful.output
