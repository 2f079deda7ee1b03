"""The composition root (strangler.assembly): what it checks in the settings before it builds,
and what a gateway it built does as it starts (its endpoints published in the flag store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from strangler.cli.main import main
from strangler.flags.errors import FlagStoreError
from strangler.flags.store import MemoryFlagStore, open_store
from tests.support.waiting import wait_until_async
from tests.test_apps import pair

PAIR = 'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'


def strangler(config: Path, *args: str) -> Result:
    """Runs `strangler ARGS --config CONFIG` in process."""
    return CliRunner().invoke(main, [*args, "--config", str(config)], catch_exceptions=False)


def test_settings_refuse_a_guard_without_metrics_and_a_bad_request_id_header(
    tmp_path: Path,
) -> None:
    from strangler.assembly import check_settings
    from strangler.errors import ConfigError
    from strangler.settings import load_settings

    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.rollout_pair:legacy"\n'
        'migrated = "tests.test_apps.rollout_pair:migrated"\n'
    )
    with pytest.raises(ConfigError, match="guard needs metrics = true"):
        check_settings(load_settings(config, guard=["GET /work"], metrics=False))
    with pytest.raises(ConfigError, match="request_id_header = 'X Request ID'"):
        check_settings(load_settings(config, request_id_header="X Request ID"))
    with pytest.raises(ConfigError, match="guard names 'GET /nowhere'"):
        check_settings(load_settings(config, guard=["GET /nowhere"]))
    check_settings(load_settings(config, guard=["*"], request_log="logs/requests.log"))


async def test_a_gateway_publishes_its_endpoints_when_it_starts(tmp_path: Path) -> None:
    """A gateway's startup records both apps' endpoints in its store (a restart with the same
    endpoints rewrites nothing), and the CLI then checks names against them."""
    from strangler.assembly import create_gateway
    from strangler.gateway.lifespan import Lifespan

    store = open_store(tmp_path / "flags.db", create=True)
    store.version()
    for _ in range(2):
        gateway = create_gateway(pair.legacy, pair.migrated, tmp_path / "flags.db")
        lifespan = Lifespan(gateway, {})
        await lifespan.startup()
        try:
            record = await wait_until_async(store.inventory, what="the inventory published")
        finally:
            await lifespan.shutdown()
        assert store.inventory() == record  # the second start found it the same
    config = tmp_path / "strangler.toml"
    config.write_text(PAIR + 'flags = "flags.db"\n')
    changed = strangler(config, "flags", "set", "GET /items/<id>", "migrated", "-m", "ported")
    assert changed.exit_code == 0, changed.output
    assert "GET /items/{item_id}: (unset) -> migrated" in changed.output


class RefusingStore(MemoryFlagStore):
    """A store that refuses to keep an inventory."""

    def save_inventory(self, doc: str) -> None:
        raise FlagStoreError("the disk is full")


async def test_a_gateway_serves_when_its_inventory_cannot_be_published(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store that refuses the inventory costs only the record: the gateway starts and
    serves, and the fault is logged."""
    import httpx

    from strangler.assembly import create_gateway
    from strangler.gateway.lifespan import Lifespan

    gateway = create_gateway(pair.legacy, pair.migrated, RefusingStore())
    lifespan = Lifespan(gateway, {})
    await lifespan.startup()
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            assert (await client.get("/hello")).json()["app"] == "legacy"
    finally:
        await lifespan.shutdown()  # joins the publishing thread
    assert "could not publish the endpoint inventory" in caplog.text
    assert "the disk is full" in caplog.text


def test_a_weak_admin_token_is_refused_outside_development_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """STRANGLER_ADMIN_TOKEN=a stops a gateway before it starts, unless in development mode
    (#22)."""
    from strangler.assembly import build_gateway, check_settings
    from strangler.errors import ConfigError
    from strangler.settings import Settings

    settings = Settings(
        legacy="tests.test_apps.pair:legacy",
        migrated="tests.test_apps.pair:migrated",
        flags="memory:",
        freeze_gc=False,
    )
    monkeypatch.setenv("STRANGLER_ADMIN_TOKEN", "a")
    for start in (check_settings, build_gateway):
        with pytest.raises(ConfigError, match="shorter than 16 characters"):
            start(settings)
    monkeypatch.setenv("STRANGLER_DEV", "1")
    check_settings(settings)


def test_contracts_and_shadowing_leave_out_the_volatile_and_the_gateway_s_own_headers(
    tmp_path: Path,
) -> None:
    """Both start from one set of rules: every header but `volatile_headers` and the gateway's
    backend mark and request id under the names the settings give them (#24)."""
    from strangler.assembly import comparison_rules, shadow_tap
    from strangler.settings import load_settings

    config = tmp_path / "strangler.toml"
    config.write_text(PAIR)
    settings = load_settings(
        config, volatile_headers=["Date", "ETag"], request_id_header="X-Trace", backend_header=""
    )
    rules = comparison_rules(settings)
    assert rules.headers == "all"
    assert rules.ignore_headers == ("date", "etag", "x-trace")
    assert shadow_tap(settings).base == rules
    assert comparison_rules(load_settings(config)).ignore_headers[-2:] == (
        "x-strangler-backend",
        "x-request-id",
    )
