"""The ledger: differences between legacy and migrated that were accepted on purpose, with why.

    # contract_tests/ledger.yaml
    differences:
      - endpoint: GET /health        # the corpus file's endpoint, or a request's METHOD /path
        where: "$.timestamp"         # status, header:NAME, body or a JSON path; `*` is a wildcard
        why: "Clock time; both sides send an ISO timestamp, checked by pattern."
      - case: login-*                # case names; `*` is a wildcard (fuzz cases: fuzz-*)
        where: "header:server"
        why: "..."
      - request: "GET /items/*%2F*"  # the request as sent (METHOD /path), `*` a wildcard
        why: "..."
      - request: "POST /auth/login"
        status: {legacy: 302, migrated: 302}   # only where the sides answered these (or: 302)
        where: body
        why: "Redirect pages differ in wording; clients follow the Location."

A difference that an entry covers is *declared*: reported, with the entry, but it does not fail
the run. An undeclared one fails. An entry that declared nothing in a whole run is *stale*,
whatever it is scoped by (`case:`, `endpoint:`, `request:`): the difference is gone, or the
cases, endpoint or requests it names are, so the entry should go too. Only a whole run (the
canonical one: see strangler.comparison.saved) judges staleness; a part of the corpus cannot.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from strangler.comparison.errors import CorpusError
from strangler.routing.templates import normalise_route_key
from strangler.types import Backend


def wildcard(pattern: str) -> re.Pattern[str]:
    """A pattern where only `*` is special (JSON paths are full of brackets)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One accepted difference: which cases, where in the answer, and why."""

    why: str
    case: str | None = None
    endpoint: str | None = None
    request: str | None = None
    where: str = "*"
    line: int = 0
    legacy_status: int | None = None  # only where legacy answered this status
    migrated_status: int | None = None  # only where migrated answered this status

    def applies_to(self, case: str, endpoints: Iterable[str | None]) -> bool:
        """Whether this entry is about this case at all (by name, endpoint and requests)."""
        endpoints = set(endpoints)
        if self.case is not None and not wildcard(self.case).fullmatch(case):
            return False
        if self.request is not None:
            pattern = wildcard(self.request)
            if not any(e and pattern.fullmatch(e) for e in endpoints):
                return False
        return self.endpoint is None or self.endpoint in endpoints

    def covers(
        self,
        case: str,
        endpoints: Iterable[str | None],
        where: str,
        request: str | None = None,
        statuses: tuple[int, int] | None = None,
        answered_by: Backend = Backend.MIGRATED,
    ) -> bool:
        """Whether this entry declares the difference at `where` in this case (and request),
        where legacy answered `statuses[0]` and `answered_by` answered `statuses[1]` (in a mixed
        order, legacy may have answered both: then `migrated` statuses do not match)."""
        if self.request is not None and not (request and wildcard(self.request).fullmatch(request)):
            return False
        if statuses is not None and not self._status_matches(statuses, answered_by):
            return False
        return self.applies_to(case, endpoints) and bool(wildcard(self.where).fullmatch(where))

    def _status_matches(self, statuses: tuple[int, int], answered_by: Backend) -> bool:
        legacy, other = statuses
        if self.legacy_status is not None and self.legacy_status != legacy:
            return False
        if self.migrated_status is None:
            return True
        return answered_by is Backend.MIGRATED and self.migrated_status == other

    def describe(self) -> str:
        parts = [
            f"case {self.case}" if self.case else "",
            self.endpoint or "",
            f"request {self.request}" if self.request else "",
            f"legacy {self.legacy_status}" if self.legacy_status is not None else "",
            f"migrated {self.migrated_status}" if self.migrated_status is not None else "",
            f"at {self.where}",
        ]
        return " ".join(p for p in parts if p)


class Ledger:
    """The loaded entries, counting which ones declared a difference."""

    def __init__(self, entries: Iterable[Entry] = (), path: Path | None = None) -> None:
        self.entries = list(entries)
        self.path = path
        self._used: set[int] = set()

    def declare(
        self,
        case: str,
        endpoints: Iterable[str | None],
        where: str,
        request: str | None = None,
        statuses: tuple[int, int] | None = None,
        answered_by: Backend = Backend.MIGRATED,
    ) -> Entry | None:
        """The first entry covering this difference (now counted as used), or None."""
        endpoints = list(endpoints)
        for index, entry in enumerate(self.entries):
            if entry.covers(case, endpoints, where, request, statuses, answered_by):
                self._used.add(index)
                return entry
        return None

    def stale(self) -> list[Entry]:
        """Entries that declared no difference (meaningful after a whole run only)."""
        return [e for i, e in enumerate(self.entries) if i not in self._used]


def load_ledger(path: Path | None) -> Ledger:
    """Loads the ledger file; a missing file is an empty ledger. CorpusError says what to fix."""
    if path is None or not path.exists():
        return Ledger(path=path)
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.compose(text)  # for line numbers
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: cannot read it as YAML: {exc}") from exc
    if data is None:
        return Ledger(path=path)
    if not isinstance(data, dict) or not isinstance(data.get("differences", []), list):
        raise CorpusError(
            f"{path}: expected `differences:`, a list of {{case|endpoint, where, why}}"
        )
    lines = _item_lines(document)
    entries = []
    for index, raw in enumerate(data.get("differences") or []):
        line = lines[index] if index < len(lines) else 0
        entries.append(_entry(raw, f"{path}:{line}", line))
    return Ledger(entries, path)


def _statuses(value: Any, where: str) -> tuple[int | None, int | None]:
    """`status: 302` (both sides) or `status: {legacy: 302, migrated: 200}` (either may go)."""
    if value is None:
        return None, None
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"legacy", "migrated"})
        if unknown or not value:
            raise CorpusError(
                f"{where}: `status:` takes legacy and/or migrated, e.g. {{legacy: 302}}"
            )
        return _status(value.get("legacy"), where), _status(value.get("migrated"), where)
    both = _status(value, where)
    return both, both


def _status(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise CorpusError(f"{where}: status {value!r} is not an HTTP status (100 to 599)")
    return value


def _endpoint(value: Any, where: str) -> str:
    try:
        return normalise_route_key(str(value))
    except ValueError as exc:
        raise CorpusError(f"{where}: {exc}") from None


def _entry(raw: Any, where: str, line: int) -> Entry:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: each difference is a mapping of case/endpoint, where, why")
    unknown = sorted(set(raw) - {"case", "endpoint", "request", "where", "why", "status"})
    if unknown:
        raise CorpusError(
            f"{where}: unknown key(s) {unknown}; use case, endpoint, request, status, where, why"
        )
    legacy_status, migrated_status = _statuses(raw.get("status"), where)
    if not any(raw.get(key) for key in ("case", "endpoint", "request")):
        raise CorpusError(
            f"{where}: say which cases: give `case:` (a name or glob), `endpoint:` or `request:`"
        )
    if not str(raw.get("why", "")).strip():
        raise CorpusError(f"{where}: every accepted difference needs a `why:`")
    return Entry(
        why=" ".join(str(raw["why"]).split()),
        case=str(raw["case"]) if raw.get("case") else None,
        endpoint=_endpoint(raw["endpoint"], where) if raw.get("endpoint") else None,
        legacy_status=legacy_status,
        migrated_status=migrated_status,
        request=str(raw["request"]) if raw.get("request") else None,
        where=str(raw.get("where", "*")),
        line=line,
    )


def _item_lines(document: yaml.Node | None) -> list[int]:
    if not isinstance(document, yaml.MappingNode):
        return []
    for key, value in document.value:
        if key.value == "differences" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []
