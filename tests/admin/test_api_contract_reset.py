"""POST /contract/reset: the settings' contract_reset run in the serving worker, for a contract
run through a live gateway (#24), and refused where it would wipe real users' state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from strangler.assembly import create_gateway
from tests.support.pair_gateway import ADMIN, ADMIN_TOKEN
from tests.test_apps import pair

RESETS: list[str] = []
HOOK = f"{__name__}:record"
RESET = "/_strangler/contract/reset"


def record() -> None:
    """The reset hook of these tests: notes that it ran."""
    RESETS.append("reset")


@pytest.fixture(autouse=True)
def no_resets_yet() -> None:
    RESETS.clear()


@pytest.fixture
async def reach() -> AsyncIterator[Any]:
    """Opens a client on a gateway built with the given settings (closed at the end)."""
    opened: list[tuple[httpx.AsyncClient, Any]] = []

    async def open_with(**settings: Any) -> httpx.AsyncClient:
        settings.setdefault("admin_token", ADMIN_TOKEN)
        gateway = create_gateway(pair.legacy, pair.migrated, "memory:", **settings)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://gateway"
        )
        opened.append((client, gateway))
        return client

    yield open_with
    for client, gateway in opened:
        await client.aclose()
        gateway.close()


async def test_the_reset_runs_the_hook_where_the_settings_allow_it(reach: Any) -> None:
    """With contract_reset_live, the hook runs in the worker, which names itself and the
    number of workers reading its store."""
    client = await reach(contract_reset=HOOK, contract_reset_live=True)
    answer = await client.post(RESET, json={"reason": "contract run"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert RESETS == ["reset"]
    body = answer.json()
    assert body["reset"] == HOOK
    assert body["worker"]
    assert isinstance(body["workers"], int)


async def test_the_reset_is_refused_on_a_gateway_serving_real_traffic(reach: Any) -> None:
    """Without contract_reset_live (and outside --dev), the hook never runs: 409 says how to
    allow it."""
    client = await reach(contract_reset=HOOK)
    answer = await client.post(RESET, json={"reason": "contract run"}, headers=ADMIN)
    assert answer.status_code == 409
    assert "contract_reset_live = true" in answer.json()["error"]
    assert RESETS == []


async def test_a_gateway_in_development_mode_resets_without_the_setting(reach: Any) -> None:
    """--dev (no credential, never production) allows the reset by itself."""
    client = await reach(contract_reset=HOOK, admin_token=None, dev_mode=True)
    answer = await client.post(RESET, json={"reason": "contract run"})
    assert answer.status_code == 200, answer.text
    assert RESETS == ["reset"]


async def test_the_reset_is_refused_where_no_hook_is_configured(reach: Any) -> None:
    """No contract_reset: 409 names the setting to write."""
    client = await reach(contract_reset_live=True)
    answer = await client.post(RESET, json={"reason": "contract run"}, headers=ADMIN)
    assert answer.status_code == 409
    assert "contract_reset" in answer.json()["error"]


async def test_the_reset_needs_the_admin_credential(reach: Any) -> None:
    """Like every change, the reset is refused without the credential, and the hook never runs."""
    client = await reach(contract_reset=HOOK, contract_reset_live=True)
    answer = await client.post(RESET, json={"reason": "contract run"})
    assert answer.status_code == 401
    assert RESETS == []


def on_the_loop() -> None:
    """A reset hook that notes whether it runs on the worker's event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        RESETS.append("in a thread")
    else:
        RESETS.append("on the loop")


async def reset_async() -> None:
    """An async reset hook: awaited on the worker's loop."""
    asyncio.get_running_loop()
    RESETS.append("awaited")


async def test_a_sync_hook_runs_in_a_thread_not_on_the_workers_loop(reach: Any) -> None:
    """A plain function (a database wipe, blocking) never stalls the worker's other requests."""
    client = await reach(contract_reset=f"{__name__}:on_the_loop", contract_reset_live=True)
    answer = await client.post(RESET, json={"reason": "contract run"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert RESETS == ["in a thread"]


async def test_an_async_hook_is_awaited(reach: Any) -> None:
    """A coroutine function is awaited on the worker's loop, as the in-process run does."""
    client = await reach(contract_reset=f"{__name__}:reset_async", contract_reset_live=True)
    answer = await client.post(RESET, json={"reason": "contract run"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert RESETS == ["awaited"]


async def test_a_reset_without_a_reason_is_refused(reach: Any) -> None:
    """Like every change, the reset says why: a blank reason is a 422, and the hook never runs."""
    client = await reach(contract_reset=HOOK, contract_reset_live=True)
    answer = await client.post(RESET, json={"reason": "  "}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "say why" in answer.json()["error"]
    assert RESETS == []
