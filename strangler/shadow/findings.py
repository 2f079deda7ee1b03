"""Shadow findings that last: kept in the flag store across restarts and workers, until an
operator acknowledges or clears them.

Each worker counts in memory (strangler.shadow.record) and, with its heartbeat, folds what it
counted since its last fold into one document per endpoint in the flag store
(`FlagStore.update_findings`: atomic, so workers folding at once lose nothing):

    {"endpoint", "counts": {shadowed, compared, mismatched...}, "noise": [...],
     "systematic": {place: n}, "mismatched_where": {place: n}, "mismatches": [the last KEEP],
     "since", "updated", "acknowledged": {actor, at, reason, mismatched}?, "log": [...]}

A report is the documents plus what this worker counted since its last fold; a restarted worker
starts from zero and adds to them, and takes the noise kept there as learned. The documents
are bounded: KEEP mismatches (each at most MAX_MISMATCH_BYTES, else its bodies are left out),
MAX_NOISE places, MAX_DOC_BYTES in all (the oldest mismatches go first). `acknowledge` marks an
endpoint's findings as seen (new mismatches are counted apart), `clear` forgets them; both are
written in the document's log (the last LOG_KEEP, with who, when and why).
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from strangler.flags.errors import FlagStoreError, InvalidFlag, UnknownEndpoint
from strangler.flags.model import bounded, utc_now
from strangler.flags.store import FlagStore
from strangler.shadow.record import (
    COUNTS,
    KEEP,
    MAX_NOISE,
    NEVER_NOISE,
    any_index,
    gather,
    merge,
)
from strangler.shadow.tap import ShadowTap

log = logging.getLogger("strangler.shadow")

MAX_MISMATCH_BYTES = 64 * 1024  # one mismatch kept; past it, its two answers' bodies are not
MAX_DOC_BYTES = 1024 * 1024  # one endpoint's document
LOG_KEEP = 20  # acknowledgements and clearings kept per endpoint

Entry = dict[str, Any]  # an endpoint's findings as a report shows them (record.EndpointRecord)


def _identity(mismatch: Mapping[str, Any]) -> str:
    """What tells one mismatch from another across two reports of a worker: when, and what."""
    return json.dumps([mismatch.get("at"), mismatch.get("request")], sort_keys=True, default=str)


def _counted(now: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    changed = {place: n - before.get(place, 0) for place, n in now.items()}
    changed.update({place: -n for place, n in before.items() if place not in now})
    return {place: n for place, n in changed.items() if n}


def delta(now: Entry, before: Entry | None) -> Entry | None:
    """What one worker counted for an endpoint between two of its reports (`before`: the one
    last folded, None for none), as a fold takes it; None when nothing changed."""
    before = before or {}
    counts = {name: now.get(name, 0) - before.get(name, 0) for name in COUNTS}
    seen = {_identity(m) for m in before.get("last_mismatches", [])}
    found: Entry = {
        "counts": {name: n for name, n in counts.items() if n},
        "systematic": _counted(now.get("systematic", {}), before.get("systematic", {})),
        "mismatched_where": _counted(
            now.get("mismatched_where", {}), before.get("mismatched_where", {})
        ),
        "mismatches": [m for m in now.get("last_mismatches", []) if _identity(m) not in seen],
    }
    new_noise = set(now.get("noise", [])) - set(before.get("noise", []))
    if not new_noise and not any(found.values()):
        return None
    # The whole noise, not only the new places: after a `clear`, the worker still applies it.
    found["noise"] = sorted(now.get("noise", []))
    return found


def fold(document: str | None, change: Entry, endpoint: str) -> str:
    """The endpoint's document with `change` (a `delta`) added, bounded (module docstring)."""
    doc = _loaded(document, endpoint)
    at = utc_now()
    doc["updated"] = at
    doc.setdefault("since", at)
    counts = doc["counts"]
    for name, n in change.get("counts", {}).items():
        if name in COUNTS:  # noise learned later takes mismatches back: never below zero
            counts[name] = max(0, int(counts.get(name, 0)) + int(n))
    noise = list(doc["noise"])
    for place in change.get("noise", []):
        if place not in noise and len(noise) < MAX_NOISE:
            noise.append(place)
    doc["noise"] = sorted(noise)
    quiet = set(noise)
    for places in ("systematic", "mismatched_where"):
        counted = collections.Counter(doc[places])
        counted.update(change.get(places, {}))
        doc[places] = {
            place: n
            for place, n in counted.most_common(MAX_NOISE)
            if n > 0 and any_index(place) not in quiet
        }
    kept = []
    for mismatch in doc["mismatches"] + change.get("mismatches", []):
        small = _bounded(mismatch)
        left = _without(small, quiet) if small is not None else None
        if left is not None:
            kept.append(left)
    doc["mismatches"] = sorted(kept, key=lambda m: str(m.get("at", "")))[-KEEP:]
    return _capped(doc)


def _fold_into(change: Entry, endpoint: str, document: str | None) -> str:
    return fold(document, change, endpoint)


def _loaded(document: str | None, endpoint: str) -> dict[str, Any]:
    """A document as kept, or an empty one (also for one that is not ours: it is replaced)."""
    try:
        doc = json.loads(document) if document else {}
    except ValueError:
        log.warning("the shadow findings kept for %s are not JSON; starting them again", endpoint)
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    doc["endpoint"] = endpoint
    for name, empty in (
        ("counts", {}),
        ("noise", []),
        ("systematic", {}),
        ("mismatched_where", {}),
        ("mismatches", []),
        ("log", []),
    ):
        if not isinstance(doc.get(name), type(empty)):
            doc[name] = empty
    return doc


def _bounded(mismatch: Any) -> dict[str, Any] | None:
    """A mismatch as kept: whole if small, else without its two answers' bodies (the
    differences, the request and its case stay), else not at all."""
    if not isinstance(mismatch, dict):
        return None
    size = len(json.dumps(mismatch, default=str))
    if size <= MAX_MISMATCH_BYTES:
        return mismatch
    cut = dict(mismatch)
    for side in ("legacy", "migrated"):
        if isinstance(cut.get(side), dict):
            cut[side] = {**cut[side], "body": f"(not kept: the mismatch was {size:,} bytes)"}
    return cut if len(json.dumps(cut, default=str)) <= MAX_MISMATCH_BYTES else None


def _without(mismatch: dict[str, Any], noise: set[str]) -> dict[str, Any] | None:
    """The mismatch without its differences at noise places; None if nothing else differed."""
    differences = mismatch.get("differences", [])
    left = [d for d in differences if any_index(str(d.get("where", ""))) not in noise]
    if not left:
        return None
    return mismatch if len(left) == len(differences) else {**mismatch, "differences": left}


def _capped(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, default=str)
    while len(text) > MAX_DOC_BYTES and doc["mismatches"]:
        doc["mismatches"] = doc["mismatches"][1:]  # the oldest first
        text = json.dumps(doc, default=str)
    if len(text) > MAX_DOC_BYTES:  # places of absurd length: counted, not named
        doc["systematic"], doc["mismatched_where"] = {}, {}
        text = json.dumps(doc, default=str)
    return text


def entry(document: str, endpoint: str) -> Entry | None:
    """A kept document as a report's endpoint entry (record.merge joins it with others), or
    None when it holds nothing (cleared, and nothing counted since)."""
    doc = _loaded(document, endpoint)
    counts = doc["counts"]
    if not any(counts.values()) and not doc["mismatches"] and not doc["noise"]:
        return None
    found: Entry = {name: int(counts.get(name, 0)) for name in COUNTS}
    acknowledged = doc.get("acknowledged")
    mismatches = [{**m, "case": dict(m.get("case", {}))} for m in doc["mismatches"]]
    if isinstance(acknowledged, dict):
        for mismatch in mismatches:
            mismatch["acknowledged"] = str(mismatch.get("at", "")) <= str(acknowledged["at"])
    found.update(
        endpoint=endpoint,
        noise=doc["noise"],
        systematic=doc["systematic"],
        mismatched_where=doc["mismatched_where"],
        last_mismatches=mismatches,
        recorded=[],
    )
    return found


def report(
    kept: Mapping[str, str],
    pending: Iterable[Entry] = (),
    published: Mapping[str, str] | None = None,
    live: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every worker's findings as one report: those kept in the store, this worker's not yet
    folded (`pending`), and the samples of the workers heard from lately (`published`,
    `live`: their reports, strangler.shadow.record.gather)."""
    fresh = gather(dict(published or {}), live)
    entries = [e for key, doc in kept.items() if (e := entry(doc, key)) is not None]
    joined = merge([{"endpoints": entries + list(pending)}])
    samples = {e["endpoint"]: e["recorded"] for e in fresh["endpoints"]}
    for found in joined:
        found["recorded"] = samples.get(found["endpoint"], [])
        doc = _loaded(kept.get(found["endpoint"]), found["endpoint"])
        found["since"] = doc.get("since")
        found["log"] = doc["log"]
        acknowledged = doc.get("acknowledged")
        found["acknowledged"] = acknowledged
        seen = int(acknowledged["mismatched"]) if isinstance(acknowledged, dict) else 0
        found["unacknowledged"] = max(0, found["mismatched"] - seen)
    return {"workers": fresh["workers"], "endpoints": joined}


# --- what operators do with them ----------------------------------------------------------------


def acknowledge(store: FlagStore, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
    """Marks the findings kept for `endpoint` as seen: mismatches counted from now on are new.
    Returns the mark; UnknownEndpoint when nothing is kept for it."""
    _checked(actor, reason)
    mark: dict[str, Any] = {}

    def change(document: str | None) -> str | None:
        if document is None:
            return None
        doc = _loaded(document, endpoint)
        mark.clear()
        mark.update(
            actor=actor,
            at=utc_now(),
            reason=reason,
            mismatched=int(doc["counts"].get("mismatched", 0)),
        )
        doc["acknowledged"] = dict(mark)
        doc["log"] = (doc["log"] + [{"action": "acknowledged", **mark}])[-LOG_KEEP:]
        return _capped(doc)

    if store.update_findings(endpoint, change) is None:
        raise _nothing_kept(store, endpoint)
    log.info("shadow findings of %s acknowledged by %s: %s", endpoint, actor, reason)
    return {"endpoint": endpoint, "acknowledged": mark}


def clear(store: FlagStore, endpoint: str | None, *, actor: str, reason: str) -> dict[str, Any]:
    """Forgets the findings kept for `endpoint` (None: for every endpoint); what was cleared,
    who, when and why stay in the document's log. Workers add what they count from now on."""
    _checked(actor, reason)
    kept = store.findings()
    if endpoint is not None and endpoint not in kept:
        raise _nothing_kept(store, endpoint, kept)
    at = utc_now()
    cleared = []
    for key in [endpoint] if endpoint is not None else sorted(kept):

        def change(document: str | None, key: str = key) -> str | None:
            doc = _loaded(document, key)
            event = {
                "action": "cleared",
                "actor": actor,
                "at": at,
                "reason": reason,
                "mismatched": int(doc["counts"].get("mismatched", 0)),
            }
            return json.dumps(
                {"endpoint": key, "cleared": event, "log": (doc["log"] + [event])[-LOG_KEEP:]}
            )

        store.update_findings(key, change)
        cleared.append(key)
    log.info("shadow findings of %s cleared by %s: %s", ", ".join(cleared), actor, reason)
    return {"cleared": cleared, "actor": actor, "at": at, "reason": reason}


def _checked(actor: str, reason: str) -> None:
    bounded(actor, "actor")
    bounded(reason, "reason")
    if not reason.strip():
        raise InvalidFlag("say why (a reason is required: it goes in the findings' log)")


def _nothing_kept(
    store: FlagStore, endpoint: str, kept: Mapping[str, str] | None = None
) -> UnknownEndpoint:
    known = sorted(kept if kept is not None else store.findings())
    return UnknownEndpoint(
        f"no shadow findings are kept for {endpoint!r}"
        + (f" (kept for: {', '.join(known)})" if known else " (none are kept)"),
        endpoint=endpoint,
    )


# --- a worker's side -----------------------------------------------------------------------------


class Keeper:
    """Folds this worker's findings into the store (`fold`, with the heartbeat), and reads
    them back with what is not folded yet (`read`)."""

    def __init__(self, store: FlagStore, tap: ShadowTap) -> None:
        self.store = store
        self.tap = tap
        self._folded: dict[str, Entry] = {}  # endpoint -> the report entry last folded
        # A fold and a read, one at a time: a read between a fold's write and its note of it
        # would count the fold twice.
        self._lock = threading.Lock()

    def restore(self) -> None:
        """Takes the noise kept in the store as learned (call before serving: it writes the
        tap's records). A store that cannot be read costs only that: noise is learned again."""
        try:
            kept = self.store.findings()
        except FlagStoreError as exc:
            log.warning("cannot read the shadow findings kept (%s): noise is learned anew", exc)
            return
        never = self.tap.never_noise | NEVER_NOISE
        for key, document in kept.items():
            places = [p for p in _loaded(document, key)["noise"] if p not in never]
            if places:
                self.tap.records[key].adopt_noise(places)

    def fold(self) -> None:
        """Adds what this worker counted since its last fold to the store's documents; what
        cannot be written now is folded next time (never twice)."""
        with self._lock:
            for found in self.tap.report()["endpoints"]:
                key = found["endpoint"]
                change = delta(found, self._folded.get(key))
                if change is None:
                    continue
                try:
                    self.store.update_findings(key, functools.partial(_fold_into, change, key))
                except FlagStoreError as exc:
                    log.debug("cannot keep the shadow findings of %s now: %s", key, exc)
                    return
                self._folded[key] = found

    def published(self) -> str | None:
        """The heartbeat's shadow payload (strangler.flags.watcher), after a fold."""
        self.fold()
        return self.tap.published()

    def read(self) -> tuple[dict[str, str], list[Entry]]:
        """The documents kept, and this worker's findings not folded into them yet (as entries
        of a report)."""
        with self._lock:
            kept = self.store.findings()
            pending = []
            for found in self.tap.report()["endpoints"]:
                change = delta(found, self._folded.get(found["endpoint"]))
                if change is not None:
                    pending.append(_as_entry(found["endpoint"], change))
            return kept, pending


def _as_entry(key: str, change: Entry) -> Entry:
    counts = change.get("counts", {})
    return {
        **{name: int(counts.get(name, 0)) for name in COUNTS},
        "endpoint": key,
        "noise": change.get("noise", []),
        "systematic": change.get("systematic", {}),
        "mismatched_where": change.get("mismatched_where", {}),
        "last_mismatches": [{**m, "case": dict(m.get("case", {}))} for m in change["mismatches"]],
        "recorded": [],
    }
