"""A live gateway as the target: the force header picks the side; state cannot be reset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.comparison.corpus import corpus_files
from strangler.contracts import ContractSession, load_corpus, load_ledger, run_suite
from strangler.contracts.errors import TargetError
from strangler.contracts.targets import Via
from strangler.gateway.dispatch import Gateway
from strangler.settings import load_settings
from tests.contracts.conftest import PAIR, REPO
from tests.test_apps.contract_pair import shop_legacy, shop_migrated

CORPUS = PAIR / "contracts"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = create_gateway(
        shop_legacy.app, shop_migrated.app, "memory:", admin_token="admin-token"
    )
    yield gateway
    gateway.close()


def test_a_live_gateway_is_tested_through_its_force_header(gateway: Gateway) -> None:
    """Each side is reached by the force header; with no reset offered, the run says once why,
    the cases that need fresh state are skipped with that reason, and the others pass (#24)."""
    ledger = load_ledger(CORPUS / "ledger.yaml")
    files = load_corpus(corpus_files(CORPUS, CORPUS / "ledger.yaml"))
    transport = httpx.ASGITransport(app=gateway)
    with ContractSession.live("http://gateway", "admin-token", ledger, transport=transport) as s:
        run = run_suite(s, files, fuzz=False)
    assert len(run.notes) == 1
    assert run.notes[0].startswith("a live gateway (--url) without its contract reset")
    assert "contract_reset" in run.notes[0]  # the gateway's own refusal: it has none
    stateful = {c.name for f in files for c in f.cases if c.stateful}
    skipped = {c.case.name: c.skipped for c in run.cases if c.skipped}
    assert set(skipped) == stateful
    assert all("needs fresh state" in why for why in skipped.values() if why)
    assert not any(c.failed for c in run.cases)
    assert any(c.declared for c in run.cases)  # X-Api-Version: only migrated sends it


def test_a_live_gateway_that_offers_its_reset_plays_every_case_from_fresh_state() -> None:
    """Where the gateway allows POST /contract/reset, each play starts with it: the cases that
    need fresh state run and pass, none skipped (#24)."""
    gateway = create_gateway(
        shop_legacy.app,
        shop_migrated.app,
        "memory:",
        admin_token="admin-token",
        contract_reset="tests.test_apps.contract_pair.shop_store:reset",
        contract_reset_live=True,
    )
    ledger = load_ledger(CORPUS / "ledger.yaml")
    files = load_corpus(corpus_files(CORPUS, CORPUS / "ledger.yaml"))
    transport = httpx.ASGITransport(app=gateway)
    try:
        with ContractSession.live(
            "http://gateway", "admin-token", ledger, transport=transport
        ) as s:
            assert s.not_fresh() is None
            run = run_suite(s, files, fuzz=False)
    finally:
        gateway.close()
    assert run.notes == []
    assert [c.case.name for c in run.cases if c.skipped or c.failed] == []
    assert run.compared == sum(c.requests for c in run.cases) > 10


class RefusingTransport(httpx.AsyncBaseTransport):
    """The gateway in process, behind a client that refuses to send a line break in a header
    value, as h11 does (and then, so does http.client)."""

    def __init__(self, app: Gateway) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if any(b"\n" in value for _, value in request.headers.raw):
            raise httpx.LocalProtocolError("Illegal header value")
        return await self._inner.handle_async_request(request)


def test_a_case_the_live_transport_cannot_send_is_skipped_and_the_run_goes_on(
    gateway: Gateway, tmp_path: Path
) -> None:
    """A request no HTTP/1.1 client sends (a line break in a header value) skips its case with
    the reason, counted as skipped; the cases after it run (#24)."""
    (tmp_path / "login.yaml").write_text(
        "endpoint: POST /login\n"
        "compare: {patterns: {$.token: '[0-9a-f]{16}'}, ignore_headers: [x-api-version]}\n"
        "cases:\n"
        "  - {name: before, method: POST, path: /login, json: {user: ada}}\n"
        "  - name: broken-header\n"
        "    method: POST\n"
        "    path: /login\n"
        '    headers: {X-Note: "one\\r\\nInjected: two"}\n'
        "    json: {user: ada}\n"
        "  - {name: after, method: POST, path: /login, json: {user: ada}}\n"
    )
    files = load_corpus(corpus_files(tmp_path, tmp_path / "ledger.yaml"))
    transport = RefusingTransport(gateway)
    session = ContractSession.live(
        "http://gateway", "admin-token", load_ledger(None), transport=transport
    )
    with session:
        run = run_suite(session, files, fuzz=False)
    assert run.stopped is None
    verdicts = {c.case.name: (c.skipped, c.failed) for c in run.cases}
    assert verdicts["before"] == verdicts["after"] == (None, False)
    skipped, failed = verdicts["broken-header"]
    assert skipped is not None
    assert "cannot send it" in skipped, skipped
    assert not failed
    assert run.skipped == 1


def test_a_wrong_admin_token_says_how_to_fix_it(gateway: Gateway) -> None:
    """A refused force header stops the run with what to set."""
    files = load_corpus(corpus_files(CORPUS, CORPUS / "ledger.yaml"))
    transport = httpx.ASGITransport(app=gateway)
    session = ContractSession.live(
        "http://gateway", "wrong", load_ledger(None), transport=transport
    )
    with session, pytest.raises(TargetError, match="set STRANGLER_ADMIN_TOKEN"):
        session.run_case(next(c for f in files for c in f.cases if not c.stateful))


CONDUIT = REPO / "tests" / "test_apps" / "conduit"


def conduit_verdicts(via: Via) -> dict[str, set[str]]:
    """Each case of the Conduit-like pair's corpus, and where its undeclared differences are."""
    settings = load_settings(CONDUIT / "strangler.toml")
    ledger_path = CONDUIT / "contracts" / "ledger.yaml"
    files = load_corpus(corpus_files(CONDUIT / "contracts", ledger_path))
    with ContractSession.in_process(settings, load_ledger(ledger_path), via=via) as session:
        run = run_suite(session, files, fuzz=False)
    assert run.stopped is None, run.stopped
    return {c.case.name: {f"{d.step}: {d.where}" for d in c.undeclared} for c in run.cases}


def test_force_mode_and_flags_agree_on_a_port_that_serves_a_few_endpoints() -> None:
    """On the Conduit-like pair, the force header and the flag table give every case the same
    verdict: its legacy-only feed (which the port's `/api/articles/{slug}` also matches), the
    DELETE only legacy serves and an OPTIONS preflight stay on legacy in both modes (#24)."""
    forced, flagged = conduit_verdicts("force"), conduit_verdicts("flags")
    assert len(forced) >= 20
    assert forced == flagged
    statuses = {name: found for name, found in forced.items() if any("status" in f for f in found)}
    assert statuses == {}
