"""What shadowing found, per endpoint: counts, learned noise, the last mismatches, samples.

Each worker records its own requests, and publishes its report in the flag store with its
heartbeat (strangler.flags.watcher); `gather` joins every worker's into one.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
from collections.abc import Iterable
from typing import Any

from strangler.comparison.compare import Answer, Difference
from strangler.shadow import replay
from strangler.shadow.redact import Exchange, Redactor, SeenRequest, slug

KEEP = 20  # mismatches and recorded samples kept per endpoint
MAX_NOISE = 100  # noise places learned per endpoint
NEVER_NOISE = frozenset({"status", "body", "$"})


def any_index(where: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", where)


@dataclasses.dataclass
class Mismatch:
    """One shadowed request whose two answers differ outside the noise and the ledger."""

    at: str
    request: SeenRequest
    legacy: Answer
    migrated: Answer
    differences: list[Difference]
    served_by: str
    # As a report shows it (secrets out), made once for these differences' places: reports
    # are made every few seconds, a mismatch shown costs milliseconds.
    shown: tuple[tuple[str, ...], dict[str, Any]] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    def wheres(self) -> list[str]:
        return [d.where for d in self.differences]

    def report(self, redactor: Redactor, name: str) -> dict[str, Any]:
        """This mismatch as a report shows it, its case called `name` (a copy each time: the
        readers of a report add to it)."""
        wheres = tuple(self.wheres())
        if self.shown is None or self.shown[0] != wheres:
            self.shown = (
                wheres,
                _shown(redactor.exchange(self.request, self.legacy, self.migrated), self),
            )
        shown = self.shown[1]
        return {**shown, "case": {**shown["case"], "name": name}}


@dataclasses.dataclass
class EndpointRecord:
    """Counts of one endpoint's shadowing, what it learned, and what it kept."""

    shadowed: int = 0  # sent to the other backend
    compared: int = 0  # both answers in hand and compared
    matched: int = 0
    mismatched: int = 0
    declared: int = 0  # differed only where the ledger accepts it
    # Differed, but the same request was being served meanwhile (the world the other side saw
    # may not be the one the served call saw: a cache filled between them): not a mismatch.
    raced: int = 0
    dropped: int = 0  # the queue was full
    timed_out: int = 0
    failed: int = 0  # the shadow call raised, or an answer was cut off
    too_big: int = 0  # a body over the limit: not shadowed, or not compared
    busy: int = 0  # not shadowed: the process's CPU was busy with clients
    calibrations: int = 0  # A/A: the serving backend asked a second time
    # Compared alike, both 5xx, by the backend that served: legacy's own failure, which the
    # rollout judge does not hold against the port (#25)
    shared_errors: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    noise: set[str] = dataclasses.field(default_factory=set)
    # A/A differences per place, by the pair of values seen (a few, hashed): a place whose two
    # answers differ in more than one way varies (noise); one that always differs the same way
    # (`cached: false` then `true`) is state, never learned: reported as systematic.
    calibrated: dict[str, set[int]] = dataclasses.field(default_factory=dict)
    systematic: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    where: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    mismatches: collections.deque[Mismatch] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=KEEP)
    )
    samples: collections.deque[SeenRequest] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=KEEP)
    )
    # The samples as cases (secrets out), by id: made once each, as the mismatches' `shown`.
    _cases: dict[int, tuple[SeenRequest, dict[str, Any]]] = dataclasses.field(
        default_factory=dict, repr=False
    )

    def learn_noise(
        self, differences: Iterable[Difference], never: frozenset[str] = frozenset()
    ) -> None:
        """Adds A/A differences to the noise, and takes back the mismatches that were only it.

        A place is noise once its two answers have differed in two ways (a timestamp, an id);
        one that differs the same way every time is counted as systematic instead. Never the
        status or a whole body (a fault in one answer, not noise), nor a place in `never`
        (`shadow_never_noise`), and list items by any index (`$.items[*].id`: the next list may
        be longer). At most MAX_NOISE places."""
        places = set()
        for difference in differences:
            place = any_index(difference.where)
            if difference.where in NEVER_NOISE:
                continue
            if place in never:
                self.systematic[place] += 1
                continue
            if place not in self.calibrated and len(self.calibrated) >= 2 * MAX_NOISE:
                continue
            ways = self.calibrated.setdefault(place, set())
            if len(ways) < 2:
                ways.add(hash(repr((difference.legacy, difference.migrated))))
            if len(ways) >= 2:
                places.add(place)
                self.systematic.pop(place, None)
            else:
                self.systematic[place] += 1
        self.adopt_noise(places)

    def adopt_noise(self, places: Iterable[str]) -> None:
        """Takes `places` as noise (learned here, or before a restart: strangler.shadow.findings)
        and takes back the mismatches that were only it. At most MAX_NOISE places."""
        new = set(places) - self.noise
        if not new or len(self.noise) >= MAX_NOISE:
            return
        self.noise |= set(sorted(new)[: MAX_NOISE - len(self.noise)])
        kept: collections.deque[Mismatch] = collections.deque(maxlen=KEEP)
        for mismatch in self.mismatches:
            left = [d for d in mismatch.differences if not self.is_noise(d)]
            if left:
                mismatch.differences = left
                kept.append(mismatch)
            else:
                self.mismatched -= 1
                self.matched += 1
        self.mismatches = kept
        for where in list(self.where):
            if any_index(where) in self.noise:
                del self.where[where]

    def is_noise(self, difference: Difference) -> bool:
        return any_index(difference.where) in self.noise

    def report(self, redactor: Redactor, key: str) -> dict[str, Any]:
        """This endpoint's findings as JSON-ready data. Called from the flag watcher's thread
        too, while the loop records: every collection is copied first (one C-level step)."""
        mismatches, samples = list(self.mismatches), list(self.samples)
        rate = self.mismatched / self.compared if self.compared else None
        return {
            "endpoint": key,
            "shadowed": self.shadowed,
            "compared": self.compared,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "declared": self.declared,
            "raced": self.raced,
            "mismatch_rate": rate,
            "dropped": self.dropped,
            "timed_out": self.timed_out,
            "failed": self.failed,
            "too_big": self.too_big,
            "busy": self.busy,
            "calibrations": self.calibrations,
            "shared_errors": dict(self.shared_errors),
            "noise": sorted(set(self.noise)),
            "systematic": dict(collections.Counter(dict(self.systematic)).most_common()),
            "mismatched_where": dict(collections.Counter(dict(self.where)).most_common()),
            "last_mismatches": [
                m.report(redactor, f"shadow-{slug(key)}-{i + 1}")
                for i, m in enumerate(reversed(mismatches))
            ],
            "recorded": self._recorded(redactor, key, samples),
        }

    def _recorded(
        self, redactor: Redactor, key: str, samples: list[SeenRequest]
    ) -> list[dict[str, Any]]:
        cases = {}
        for request in samples:
            made = self._cases.get(id(request))
            if made is None or made[0] is not request:
                made = (request, redactor.exchange(request).case("", request))
            cases[id(request)] = made
        self._cases = cases  # the samples gone are forgotten
        return [
            {**cases[id(request)][1], "name": f"recorded-{slug(key)}-{i + 1}"}
            for i, request in enumerate(samples)
        ]


def _shown(exchange: Exchange, m: Mismatch) -> dict[str, Any]:
    """One mismatch as a report shows it: every part of it with the exchange's secrets out."""
    return {
        "at": m.at,
        "served_by": m.served_by,
        "request": exchange.request(m.request),
        "differences": [
            {
                "where": exchange.where(d.where),
                "legacy": exchange.difference(d.where, d.legacy),
                "migrated": exchange.difference(d.where, d.migrated),
            }
            for d in m.differences
        ],
        "legacy": exchange.answer(m.legacy),
        "migrated": exchange.answer(m.migrated),
        "case": exchange.case("", m.request, "differs at " + ", ".join(m.wheres())),
    }


COUNTS = (
    "shadowed",
    "compared",
    "matched",
    "mismatched",
    "declared",
    "raced",
    "dropped",
    "timed_out",
    "failed",
    "too_big",
    "busy",
    "calibrations",
)


def merge(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several workers' endpoint reports as one: counts summed, noise and mismatch places
    joined, the latest KEEP mismatches and samples of all."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for entry in report.get("endpoints", []):
            into = merged.setdefault(entry["endpoint"], _empty(entry["endpoint"]))
            for name in COUNTS:
                into[name] += entry.get(name, 0)
            into["noise"] = sorted(set(into["noise"]) | set(entry.get("noise", [])))
            for places in ("mismatched_where", "systematic"):
                counted = collections.Counter(into[places])
                counted.update(entry.get(places, {}))
                into[places] = dict(counted.most_common())
            into["last_mismatches"] += entry.get("last_mismatches", [])
            into["recorded"] += entry.get("recorded", [])
    for entry in merged.values():
        entry["mismatch_rate"] = (
            entry["mismatched"] / entry["compared"] if entry["compared"] else None
        )
        latest = sorted(entry["last_mismatches"], key=lambda m: m["at"], reverse=True)[:KEEP]
        for i, mismatch in enumerate(latest):  # names unique across the workers' cases
            mismatch["case"] = {
                **mismatch["case"],
                "name": f"shadow-{slug(entry['endpoint'])}-{i + 1}",
            }
        entry["last_mismatches"] = latest
        entry["recorded"] = [
            {**case, "name": f"recorded-{slug(entry['endpoint'])}-{i + 1}"}
            for i, case in enumerate(entry["recorded"][-KEEP:])
        ]
    return [merged[key] for key in sorted(merged)]


def _empty(key: str) -> dict[str, Any]:
    entry: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    entry.update(
        endpoint=key,
        noise=[],
        mismatched_where={},
        systematic={},
        last_mismatches=[],
        recorded=[],
    )
    return entry


def corpus_files(endpoints: list[dict[str, Any]], recorded: bool) -> dict[str, str]:
    """Corpus files (name -> YAML) of the endpoints' last mismatches, and with `recorded` of
    the live requests sampled, each request once. A file whose cases send a value no step of
    it captures (`Bearer ${token}`) says so: `strangler shadow export` adds the corpus's login
    (strangler.shadow.replay)."""
    files = {}
    for entry in endpoints:
        cases = [m["case"] for m in entry["last_mismatches"]]
        if recorded:
            cases += entry["recorded"]
        if cases:
            exported = replay.document(entry["endpoint"], replay.fold(cases), None)
            files[exported.name] = exported.text
    return files


# A worker's report older than this is from a worker gone (they publish every 2 s).
FRESH = 10.0


def gather(
    published: dict[str, str], live: tuple[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Every worker's findings as one report: those the workers published in the flag store,
    and `live` (this worker's own, fresher than its published copy)."""
    reports: dict[str, dict[str, Any]] = {}
    for worker, payload in published.items():
        try:
            reports[worker] = json.loads(payload)
        except ValueError:
            continue  # a report cut short: the next heartbeat replaces it
    if live is not None:
        reports[live[0]] = live[1]
    return {"workers": sorted(reports), "endpoints": merge(list(reports.values()))}
