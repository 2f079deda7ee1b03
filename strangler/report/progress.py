"""The migration's progress, endpoint by endpoint: what is ported, how it is routed, what the
contract run and shadowing found, how much traffic each backend takes, and whether legacy can
be deleted yet.

Traffic figures are what the gateway workers reading the store have counted since they started
(published with their heartbeats: strangler.metrics.fleet).
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Any

from strangler.comparison.ledger import Ledger, load_ledger
from strangler.comparison.saved import load_adhoc, load_results
from strangler.errors import StranglerError
from strangler.flags.model import FlagSnapshot
from strangler.flags.service import FlagService
from strangler.metrics.figures import Tally
from strangler.metrics.fleet import Fleet, FleetReader
from strangler.rollout.plan import Rollout
from strangler.rollout.service import RolloutService
from strangler.settings import Settings
from strangler.types import Backend, Mode

DAY = 86_400.0


@dataclasses.dataclass
class EndpointProgress:
    endpoint: str
    served_by: str  # legacy, migrated, both
    routing: str  # as operators read it: legacy, canary 25%, migrated, shadow...
    migrated_share: float | None  # of this endpoint's counted requests, 0..1
    requests: dict[str, int]  # backend -> requests counted
    error_rates: dict[str, float | None]  # backend -> 5xx share
    p99: dict[str, float | None]  # backend -> seconds
    shadow: tuple[int, int]  # compared, mismatched
    cases: int = 0  # that ran
    failed_cases: int = 0
    skipped_cases: int = 0
    fuzzed: int = 0  # examples
    fuzz_failed: bool = False
    ledger: int = 0  # entries naming this endpoint
    rollout: str | None = None
    on_migrated_since: float | None = None  # when its flag last became `migrated`

    @property
    def ported(self) -> bool:
        return self.served_by in ("both", "migrated")

    @property
    def retired(self) -> bool:
        """A legacy-only endpoint switched off: nobody serves it any more, on purpose."""
        return self.served_by == "legacy" and self.routing.startswith("off")

    @property
    def done(self) -> bool:
        """On migrated (whatever its shadow share), or retired."""
        return self.retired or self.routing.startswith("migrated")

    @property
    def mismatch_rate(self) -> float | None:
        compared, mismatched = self.shadow
        return mismatched / compared if compared else None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ported"] = self.ported
        data["mismatch_rate"] = self.mismatch_rate
        return data


@dataclasses.dataclass
class Progress:
    endpoints: list[EndpointProgress]
    contracts_at: str | None  # when the last whole contract run finished
    contracts_failed: bool | None
    quiet_days: float
    unmatched_legacy: int  # requests no endpoint matched (legacy answered them: 404s)
    workers: int  # gateway workers whose counts are in
    # The last ad-hoc run (-k, another --corpus, --no-fuzz): shown, never counted.
    adhoc: dict[str, Any] | None = None

    @property
    def legacy_endpoints(self) -> list[EndpointProgress]:
        return [e for e in self.endpoints if e.served_by != "migrated"]

    @property
    def endpoints_migrated(self) -> float | None:
        """The share of the endpoints legacy serves that are routed to migrated."""
        legacy = self.legacy_endpoints
        return sum(1 for e in legacy if e.done) / len(legacy) if legacy else None

    @property
    def traffic_migrated(self) -> float | None:
        migrated = sum(e.requests.get("migrated", 0) for e in self.endpoints)
        total = sum(sum(e.requests.values()) for e in self.endpoints)
        return migrated / total if total else None

    def not_yet(self, now: float | None = None) -> list[str]:
        """Why legacy cannot be deleted yet (empty: it can)."""
        now = now or time.time()
        reasons = []
        for e in self.legacy_endpoints:
            if e.retired:
                continue
            if not e.ported:
                reasons.append(f"{e.endpoint} is not ported")
            elif not e.routing.startswith("migrated"):
                reasons.append(f"{e.endpoint} is routed {e.routing}")
            elif e.on_migrated_since is None or now - e.on_migrated_since < self.quiet_days * DAY:
                since = (now - e.on_migrated_since) / DAY if e.on_migrated_since else 0.0
                reasons.append(
                    f"{e.endpoint} on migrated for {since:.1f} of {self.quiet_days:g} days"
                )
            elif e.requests.get("legacy", 0):
                reasons.append(f"{e.endpoint}: {e.requests['legacy']} legacy requests counted")
            elif "shadow" in e.routing:  # shadow calls still go to legacy
                reasons.append(f"{e.endpoint} is still shadowed to legacy")
        if self.contracts_failed is None:
            reasons.append("no contract run saved (`strangler contract run`)")
        elif self.contracts_failed:
            reasons.append("the last contract run failed")
        return reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoints": [e.to_dict() for e in self.endpoints],
            "endpoints_migrated": self.endpoints_migrated,
            "traffic_migrated": self.traffic_migrated,
            "contracts_at": self.contracts_at,
            "contracts_failed": self.contracts_failed,
            "unmatched_legacy": self.unmatched_legacy,
            "adhoc_contracts": _adhoc_summary(self.adhoc),
            "workers": self.workers,
            "legacy_can_be_deleted": not self.not_yet(),
            "not_yet": self.not_yet(),
        }


def progress_of(
    settings: Settings, service: FlagService, rollouts: RolloutService, fleet: FleetReader
) -> Progress:
    """The progress with what the settings name: the saved contract run, the ledger."""
    ledger = None
    if settings.ledger_path.is_file():
        try:
            ledger = load_ledger(settings.ledger_path)
        except StranglerError:
            ledger = None  # a broken ledger is the contract run's to report
    return gather(
        service,
        service.store.snapshot(),
        fleet.try_read(),
        rollouts.load(),
        load_results(settings.contract_results_path),
        ledger,
        settings.legacy_quiet_days,
        load_adhoc(settings.contract_results_path),
    )


def gather(
    service: FlagService,
    snapshot: FlagSnapshot,
    fleet: Fleet | None,
    rollouts: dict[str, Rollout],
    contracts: dict[str, Any] | None,
    ledger: Ledger | None,
    quiet_days: float,
    adhoc: dict[str, Any] | None = None,
) -> Progress:
    """The progress of every endpoint of the inventory, from the canonical contract run
    (`contracts`); the last ad-hoc one (`adhoc`) is only named."""
    totals = _summed(fleet)
    shadow = _shadow(fleet)
    cases, fuzz = _contracts(service, contracts)
    rows = []
    for row in service.table(snapshot):
        key = row["endpoint"]
        sides = totals.get(key, {})
        requests = {b: t.requests for b, t in sides.items()}
        counted = sum(requests.values())
        rollout = rollouts.get(key)
        rows.append(
            EndpointProgress(
                endpoint=key,
                served_by=row["served_by"],
                routing=str(row["routing"]),
                migrated_share=requests.get("migrated", 0) / counted if counted else None,
                requests=requests,
                error_rates={b: t.error_rate for b, t in sides.items()},
                p99={b: t.quantile(0.99) for b, t in sides.items()},
                shadow=shadow.get(key, (0, 0)),
                cases=sum(1 for c in cases.get(key, []) if not c.get("skipped")),
                failed_cases=sum(
                    1 for c in cases.get(key, []) if c["failed"] and not c.get("skipped")
                ),
                skipped_cases=sum(1 for c in cases.get(key, []) if c.get("skipped")),
                fuzzed=sum(f["examples"] for f in fuzz.get(key, [])),
                fuzz_failed=any(f["failed"] for f in fuzz.get(key, [])),
                ledger=sum(1 for e in (ledger.entries if ledger else []) if e.endpoint == key),
                rollout=(f"{rollout.state.value} at {rollout.percentage:g}%" if rollout else None),
                on_migrated_since=_on_migrated_since(service, key, snapshot),
            )
        )
    unmatched = totals.get("(unmatched)", {}).get(Backend.LEGACY.value, Tally()).requests
    return Progress(
        endpoints=rows,
        contracts_at=contracts.get("at") if contracts else None,
        contracts_failed=bool(contracts["failed"]) if contracts else None,
        quiet_days=quiet_days,
        unmatched_legacy=unmatched,
        workers=len(fleet.totals) if fleet else 0,
        adhoc=adhoc,
    )


def _adhoc_summary(adhoc: dict[str, Any] | None) -> dict[str, Any] | None:
    if adhoc is None:
        return None
    return {key: adhoc.get(key) for key in ("at", "adhoc", "failed")}


def _summed(fleet: Fleet | None) -> dict[str, dict[str, Tally]]:
    summed: dict[str, dict[str, Tally]] = {}
    for totals in fleet.totals.values() if fleet else []:
        for key, sides in totals.items():
            for backend, tally in sides.items():
                into = summed.setdefault(key, {})
                into[backend] = into.get(backend, Tally()) + tally
    return summed


def _shadow(fleet: Fleet | None) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for counts in fleet.shadow.values() if fleet else []:
        for key, (compared, mismatched, *_) in counts.items():
            c, m = found.get(key, (0, 0))
            found[key] = (c + compared, m + mismatched)
    return found


def _contracts(
    service: FlagService, contracts: dict[str, Any] | None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """The saved run's cases and fuzzing, by the endpoint each exercised."""
    cases: dict[str, list[dict[str, Any]]] = {}
    fuzz: dict[str, list[dict[str, Any]]] = {}
    for case in (contracts or {}).get("cases", []):
        keys = set()
        if case.get("endpoint"):
            keys.add(_key(service, case["endpoint"]))
        else:
            for request in case.get("requests", []):
                method, _, path = request.partition(" ")
                endpoint = service.inventory.match(method, path.split("?")[0])
                if endpoint is not None:
                    keys.add(endpoint.key)
        for key in keys - {None}:
            cases.setdefault(str(key), []).append(case)
    for entry in (contracts or {}).get("fuzz", []):
        key = _key(service, entry["endpoint"])
        if key:
            fuzz.setdefault(key, []).append(entry)
    return cases, fuzz


def _key(service: FlagService, name: str) -> str | None:
    try:
        endpoint = service.inventory.get(name)
    except ValueError:
        return None
    return endpoint.key if endpoint else None


def _on_migrated_since(service: FlagService, key: str, snapshot: FlagSnapshot) -> float | None:
    flag = snapshot.flags.get(key)
    if flag is None or flag.mode is not Mode.MIGRATED:
        return None
    for entry in service.store.history(key, 50):  # newest first
        if entry.after.mode is Mode.MIGRATED and (
            entry.before is None or entry.before.mode is not Mode.MIGRATED
        ):
            return datetime.datetime.fromisoformat(entry.at).timestamp()
    return None
