"""A live gateway as the target: the force header picks the side; state cannot be reset."""

from __future__ import annotations

from collections.abc import Iterator

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
    """Each side is reached by the force header; with no reset, every case still runs, the run
    says once that state is not reset, and only cases that need fresh state can differ."""
    ledger = load_ledger(CORPUS / "ledger.yaml")
    files = load_corpus(corpus_files(CORPUS, CORPUS / "ledger.yaml"))
    transport = httpx.ASGITransport(app=gateway)
    with ContractSession.live("http://gateway", "admin-token", ledger, transport=transport) as s:
        run = run_suite(s, files, fuzz=False)
    assert [note.split(":")[0] for note in run.notes] == [
        "a live gateway (--url) can be neither reset nor sandboxed from here"
    ]
    assert not any(c.skipped for c in run.cases)
    assert run.compared == sum(c.requests for c in run.cases) > 10
    stateful = {c.name for f in files for c in f.cases if c.stateful}
    assert {c.case.name for c in run.cases if c.failed} <= stateful
    assert any(c.declared for c in run.cases)  # X-Api-Version: only migrated sends it


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
