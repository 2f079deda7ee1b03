"""Whether legacy can be deleted (strangler.report.progress), as a table: each row sets the
decision's inputs (the inventory, the flags and their audit trail, the fleet's figures, the
saved contract run) and names what stands in the way; an empty row means legacy can go."""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Mapping
from typing import Any

import pytest

from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import AuditEntry, Flag
from strangler.flags.service import FlagService
from strangler.metrics.figures import Tally, Totals
from strangler.metrics.fleet import Fleet
from strangler.report.progress import DAY, Progress, gather
from strangler.routing.inventory import Endpoint, Inventory
from strangler.types import Backend, Mode

NOW = 1_750_000_000.0  # a whole second, so that "exactly 7 days" survives the ISO round trip
QUIET_DAYS = 7.0

# The endpoints the rows choose from, by the apps that serve them.
QUOTE = ("GET /quote", "both")
RATES = ("GET /rates", "both")
FAX = ("GET /fax", "legacy")  # nobody ported it
GRAPHQL = ("GET /graphql", "migrated")  # new in the port

PASSED: dict[str, Any] = {
    "format": "strangler-contracts/1",
    "at": "2025-06-15T00:00:00+00:00",
    "failed": False,
    "stopped": None,
    "compared": 12,
    "cases": [],
    "fuzz": [],
}
FAILED = {**PASSED, "failed": True}

NO_CONTRACT_RUN = "no contract run saved (`strangler contract run`)"

LEGACY = Flag(Mode.LEGACY)
MIGRATED = Flag(Mode.MIGRATED, 100.0)
OFF = Flag(Mode.OFF)


def canary(percentage: float) -> Flag:
    return Flag(Mode.CANARY, percentage)


def shadowed(flag: Flag, percentage: float = 10.0) -> Flag:
    return dataclasses.replace(flag, shadow=percentage)


@dataclasses.dataclass(frozen=True)
class Row:
    """One setting of the inputs, and the blockers `not_yet` gives for it, in order."""

    blockers: tuple[str, ...]
    endpoints: tuple[tuple[str, str], ...] = (QUOTE,)  # (key, served by)
    # Flag changes, oldest first: (endpoint, new flag, days before NOW); each is audited.
    changes: tuple[tuple[str, Flag, float], ...] = ()
    # Flags in the table with no audit entry (restored from a flag file, or past the 50 read).
    unaudited: Mapping[str, Flag] = dataclasses.field(default_factory=dict)
    # What the fleet counted: (worker, endpoint, backend, requests); None: no figures at all.
    counted: tuple[tuple[str, str, str, int], ...] | None = ()
    contracts: Mapping[str, Any] | None = dataclasses.field(default_factory=lambda: PASSED)
    quiet_days: float = QUIET_DAYS


def progress(row: Row, now: float = NOW) -> Progress:
    """What `strangler status` would gather for the row, with no server: every input built."""
    inventory = Inventory(
        Endpoint(
            key.split()[0],
            key.split()[1],
            frozenset(Backend) if served == "both" else frozenset({Backend(served)}),
        )
        for key, served in row.endpoints
    )
    flags: dict[str, Flag] = dict(row.unaudited)
    audit = []
    for number, (key, flag, days_ago) in enumerate(row.changes, start=1):
        at = datetime.datetime.fromtimestamp(now - days_ago * DAY, datetime.UTC)
        audit.append(
            AuditEntry(
                id=number,
                at=at.isoformat(timespec="milliseconds"),
                actor="ops",
                endpoint=key,
                before=flags.get(key),
                after=flag,
                reason="the row says so",
                version=number,
            )
        )
        flags[key] = flag
    store = MemoryFlagStore()
    store.load(len(audit) + 1, flags, audit)
    service = FlagService(store, inventory)
    fleet = None
    if row.counted is not None:
        totals: dict[str, Totals] = {}
        for worker, key, backend, requests in row.counted:
            totals.setdefault(worker, {}).setdefault(key, {})[backend] = Tally(requests)
        fleet = Fleet(totals, {})
    contracts = dict(row.contracts) if row.contracts is not None else None
    return gather(service, store.snapshot(), fleet, {}, contracts, None, row.quiet_days)


ROWS = {
    "all clear: ported, on migrated past the quiet days, no legacy traffic, contracts passed": Row(
        (),
        endpoints=(QUOTE, FAX, GRAPHQL),
        changes=(
            ("GET /fax", OFF, 30),
            ("GET /quote", canary(25), 20),
            ("GET /quote", MIGRATED, 10),
        ),
        counted=(
            ("w1", "GET /quote", "migrated", 100),
            ("w2", "GET /quote", "migrated", 40),
            ("w1", "GET /graphql", "migrated", 9),
        ),
    ),
    # Endpoints
    "no endpoints at all: nothing but the contract run to wait for": Row((), endpoints=()),
    "no endpoints at all and no contract run saved": Row(
        (NO_CONTRACT_RUN,), endpoints=(), contracts=None
    ),
    "an endpoint only migrated serves never stands in the way": Row((), endpoints=(GRAPHQL,)),
    "an endpoint only migrated serves, switched off, never stands in the way": Row(
        (), endpoints=(GRAPHQL,), changes=(("GET /graphql", OFF, 1),)
    ),
    "a legacy-only endpoint is not ported": Row(("GET /fax is not ported",), endpoints=(FAX,)),
    "a legacy-only endpoint with a migrated flag left from an older port is not ported": Row(
        ("GET /fax is not ported",), endpoints=(FAX,), unaudited={"GET /fax": MIGRATED}
    ),
    "a retired endpoint (legacy-only, off) is done": Row(
        (), endpoints=(FAX,), changes=(("GET /fax", OFF, 30),)
    ),
    # Switching an endpoint off starts no quiet days, and what legacy counted before is not
    # looked at: a retired endpoint is done at once.
    "a retired endpoint is done the moment it is switched off, whatever legacy counted": Row(
        (),
        endpoints=(FAX,),
        changes=(("GET /fax", OFF, 0),),
        counted=(("w1", "GET /fax", "legacy", 3),),
    ),
    # Routing
    "a ported endpoint with no flag is routed legacy": Row(("GET /quote is routed legacy",)),
    "a ported endpoint flagged legacy": Row(
        ("GET /quote is routed legacy",), changes=(("GET /quote", LEGACY, 30),)
    ),
    "a canary at 25%": Row(
        ("GET /quote is routed canary 25%",), changes=(("GET /quote", canary(25), 30),)
    ),
    "a canary at 100% is not migrated: its quiet days have not begun": Row(
        ("GET /quote is routed canary 100%",), changes=(("GET /quote", canary(100), 30),)
    ),
    "legacy with a shadow share": Row(
        ("GET /quote is routed legacy, shadow 10%",),
        changes=(("GET /quote", shadowed(LEGACY), 30),),
    ),
    "off on an endpoint both apps serve (left from before it was ported)": Row(
        ("GET /quote is routed off",), unaudited={"GET /quote": OFF}
    ),
    # Quiet days
    "on migrated for 3 days of 7": Row(
        ("GET /quote on migrated for 3.0 of 7 days",), changes=(("GET /quote", MIGRATED, 3),)
    ),
    "flipped to migrated just now": Row(
        ("GET /quote on migrated for 0.0 of 7 days",), changes=(("GET /quote", MIGRATED, 0),)
    ),
    "on migrated for exactly 7 days: quiet long enough": Row(
        (), changes=(("GET /quote", MIGRATED, 7),)
    ),
    "on migrated a second short of 7 days": Row(
        ("GET /quote on migrated for 7.0 of 7 days",),
        changes=(("GET /quote", MIGRATED, 7 - 1 / DAY),),
    ),
    "on migrated with no flip in the audit trail: counted from nothing": Row(
        ("GET /quote on migrated for 0.0 of 7 days",), unaudited={"GET /quote": MIGRATED}
    ),
    "flipped back and forth: the clock starts at the latest flip to migrated": Row(
        ("GET /quote on migrated for 2.0 of 7 days",),
        changes=(
            ("GET /quote", MIGRATED, 20),
            ("GET /quote", LEGACY, 5),
            ("GET /quote", MIGRATED, 2),
        ),
    ),
    "shadow changes while on migrated do not restart the clock": Row(
        (),
        changes=(
            ("GET /quote", MIGRATED, 10),
            ("GET /quote", shadowed(MIGRATED), 2),
            ("GET /quote", MIGRATED, 1),
        ),
    ),
    "the quiet days are the settings' legacy_quiet_days": Row(
        ("GET /quote on migrated for 0.1 of 0.5 days",),
        changes=(("GET /quote", MIGRATED, 0.1),),
        quiet_days=0.5,
    ),
    # Traffic
    "legacy requests counted on a migrated endpoint, summed over the workers": Row(
        ("GET /quote: 5 legacy requests counted",),
        changes=(("GET /quote", MIGRATED, 10),),
        counted=(
            ("w1", "GET /quote", "legacy", 2),
            ("w2", "GET /quote", "legacy", 3),
            ("w2", "GET /quote", "migrated", 50),
        ),
    ),
    "a legacy tally of no requests is no traffic": Row(
        (),
        changes=(("GET /quote", MIGRATED, 10),),
        counted=(("w1", "GET /quote", "legacy", 0),),
    ),
    "requests no endpoint matched (legacy's 404s) do not stand in the way": Row(
        (),
        changes=(("GET /quote", MIGRATED, 10),),
        counted=(("w1", "(unmatched)", "legacy", 7),),
    ),
    # The README's "no legacy traffic counted": with no worker reporting, nothing is counted,
    # and the verdict rests on the other conditions alone.
    "fleet figures missing: no legacy traffic counted": Row(
        (), changes=(("GET /quote", MIGRATED, 10),), counted=None
    ),
    # Shadow
    "on migrated past the quiet days but still shadowed to legacy": Row(
        ("GET /quote is still shadowed to legacy",),
        changes=(("GET /quote", shadowed(MIGRATED), 10),),
    ),
    "one blocker per endpoint: the quiet days before traffic and shadow": Row(
        ("GET /quote on migrated for 3.0 of 7 days",),
        changes=(("GET /quote", shadowed(MIGRATED), 3),),
        counted=(("w1", "GET /quote", "legacy", 4),),
    ),
    "one blocker per endpoint: legacy traffic before the shadow": Row(
        ("GET /quote: 4 legacy requests counted",),
        changes=(("GET /quote", shadowed(MIGRATED), 10),),
        counted=(("w1", "GET /quote", "legacy", 4),),
    ),
    # Contracts
    "no contract run saved": Row(
        (NO_CONTRACT_RUN,), changes=(("GET /quote", MIGRATED, 10),), contracts=None
    ),
    "the last contract run failed": Row(
        ("the last contract run failed",),
        changes=(("GET /quote", MIGRATED, 10),),
        contracts=FAILED,
    ),
    "a contract run that stopped early is saved failed": Row(
        ("the last contract run failed",),
        changes=(("GET /quote", MIGRATED, 10),),
        contracts={**FAILED, "stopped": "legacy could not be reached", "compared": 0},
    ),
    # Together
    "every blocker at once: endpoints in inventory order, then the contract run": Row(
        (
            "GET /fax is not ported",
            "GET /quote is routed canary 50%",
            "GET /rates on migrated for 1.0 of 7 days",
            "the last contract run failed",
        ),
        endpoints=(RATES, GRAPHQL, QUOTE, FAX),
        changes=(("GET /quote", canary(50), 3), ("GET /rates", MIGRATED, 1)),
        contracts=FAILED,
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_what_stands_in_the_way_of_deleting_legacy(row: Row) -> None:
    """Each condition of the README (ported, on migrated for the quiet days, no legacy traffic
    counted, the last contract run passed) gives its own blocker, and none of them gives none."""
    assert progress(row).not_yet(now=NOW) == list(row.blockers)


def test_the_report_says_legacy_can_be_deleted_exactly_when_nothing_stands_in_the_way() -> None:
    """The report's verdict and its list of blockers agree, on the clock of the moment."""
    now = time.time()
    clear = progress(Row((), changes=(("GET /quote", MIGRATED, 30),)), now=now).to_dict()
    blocked = progress(Row((), changes=(("GET /quote", MIGRATED, 1),)), now=now).to_dict()
    assert (clear["legacy_can_be_deleted"], clear["not_yet"]) == (True, [])
    assert blocked["legacy_can_be_deleted"] is False
    assert blocked["not_yet"] == ["GET /quote on migrated for 1.0 of 7 days"]
