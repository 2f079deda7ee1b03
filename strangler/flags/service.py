"""Flag changes checked against the endpoints: what the admin API and the CLI call.

The endpoints are the apps' own in a gateway (strangler.routing.inventory), and the ones it
published in the store for the CLI (strangler.flags.inventory): anything that is `Endpoints`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from strangler.flags.errors import (
    BadFlagRow,
    FlagChangeError,
    FlagStoreError,
    InvalidFlag,
    NoLegacyHandler,
    NoMigratedHandler,
    UnknownEndpoint,
)
from strangler.flags.inventory import Endpoints, Route
from strangler.flags.model import AuditEntry, Flag, FlagSnapshot, bounded
from strangler.flags.store import FlagStore
from strangler.flags.views import Changed, EndpointRow, Unchanged
from strangler.sandbox.setup import SandboxStatus
from strangler.types import Backend, Mode


class FlagEntry(NamedTuple):
    """A flag as a file or a backup gives it: routing, and a shadow share if it says one."""

    mode: str
    percentage: float | None = None
    shadow: float | None = None  # None: keep the endpoint's shadow share as it is
    side_effect_free: str | None = None
    segments: Sequence[str] | None = None  # None: keep the endpoint's (see Flag.routed_as)


# Methods that change nothing (RFC 9110 9.2.1): shadowed without a declaration.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SANDBOX_HEARD_WITHIN = 60.0  # seconds: a gateway's sandbox status older than this is not trusted

# "Recently", for the workers that read a store: a few of their reports (every 2 s).
RECENT = 10.0
# How long a change waits for the workers heard from lately to take it. They poll every 0.2 s
# and report a version as soon as they take it (strangler.flags.watcher), so a live worker
# answers well within this; one that stopped (killed) never does, and is not counted.
FOLLOW_WAIT = 2.0


class FlagService:
    """Validates an operator's change, then writes it; a refused change writes nothing."""

    def __init__(
        self, store: FlagStore, inventory: Endpoints, *, follow_wait: float | None = None
    ) -> None:
        self.store = store
        self.inventory = inventory
        self.follow_wait = FOLLOW_WAIT if follow_wait is None else follow_wait
        # What this process's sandbox covers (a gateway sets it); None: ask the store what the
        # running gateways published (the CLI, which never loads the apps).
        self.sandbox: SandboxStatus | None = None

    def writes_problem(self) -> str | None:
        """Why an unsafe method may not be shadowed, or None: a sandbox covers its writes (a
        database covered and its rollback proved at start), here or in a running gateway."""
        if self.sandbox is not None:
            return self.sandbox.problem or None
        try:
            published = self.store.published("sandbox", SANDBOX_HEARD_WITHIN)
        except FlagStoreError:
            published = {}
        problems = []
        for payload in published.values():
            try:
                status = json.loads(payload)
            except ValueError:
                continue
            if status.get("covers_writes"):
                return None
            problems.append(str(status.get("problem", "")))
        if problems:
            return problems[0]
        return f"no running gateway reported a sandbox in the last {SANDBOX_HEARD_WITHIN:g} s"

    def endpoint(self, key: str) -> Route:
        try:
            endpoint = self.inventory.get(key)
        except ValueError as exc:
            raise UnknownEndpoint(str(exc), endpoint=key) from None
        if endpoint is None:
            raise UnknownEndpoint(
                f"no endpoint {key!r} in either app; `strangler endpoints` lists them",
                endpoint=key,
            )
        return endpoint

    def check(
        self,
        key: str,
        mode: str,
        percentage: float | None = None,
        segments: Sequence[str] | None = None,
    ) -> tuple[Route, Flag]:
        """Validates a change without writing it; raises FlagChangeError saying what is wrong.
        `segments`: KIND:NAME=VALUE->BACKEND rules routed first (strangler.routing.segments)."""
        endpoint = self.endpoint(key)
        try:
            flag = Flag.build(mode, percentage)
            if segments:
                flag = flag.with_segments(segments)
                if len(endpoint.backends) != 2:
                    raise InvalidFlag(
                        f"{endpoint.key} is served by one app only: segments choose between two"
                    )
        except InvalidFlag as exc:
            exc.endpoint = endpoint.key
            raise
        if flag.mode is Mode.OFF:
            if len(endpoint.backends) != 1:
                raise InvalidFlag(
                    f"{endpoint.key} is served by both apps: route it with legacy, migrated or"
                    " canary (`off` hides an endpoint only one app serves)",
                    endpoint=endpoint.key,
                )
            return endpoint, flag
        wants_migrated = flag.mode in (Mode.MIGRATED, Mode.CANARY)
        if wants_migrated and Backend.MIGRATED not in endpoint.backends:
            raise NoMigratedHandler(
                f"{endpoint.key} has no migrated handler yet; port it before routing to it",
                endpoint=endpoint.key,
            )
        if flag.mode in (Mode.LEGACY, Mode.CANARY) and Backend.LEGACY not in endpoint.backends:
            raise NoLegacyHandler(
                f"{endpoint.key} exists only in migrated; it cannot be routed to legacy",
                endpoint=endpoint.key,
            )
        return endpoint, flag

    def set(
        self,
        key: str,
        mode: str,
        percentage: float | None = None,
        *,
        actor: str,
        reason: str,
        segments: Sequence[str] | None = None,
    ) -> AuditEntry | None:
        """Writes the change and returns its audit entry; None when the flag is already so (a
        change that changes nothing makes no new version and no audit row). `segments` None
        keeps the endpoint's, but a change to legacy drops them (see Flag.routed_as); a list
        (maybe empty) replaces them."""
        endpoint, flag = self.check(key, mode, percentage, segments)
        reason = _audited(endpoint, actor, reason)
        current = self._current(endpoint)
        if current is not None:
            # flipping an endpoint keeps its shadowing, and its segments unless told
            flag = current.routed_as(flag, segments_given=segments is not None)
        if current == flag:
            return None
        return self.store.set(endpoint.key, flag, actor=actor, reason=reason)

    def _current(self, endpoint: Route) -> Flag | None:
        """The endpoint's flag now. A table with a bad row (written behind the store's back)
        cannot be read whole, yet setting that row again is how an operator repairs it: the
        bad row is then taken as no flag."""
        try:
            return self.store.snapshot().flags.get(endpoint.key)
        except BadFlagRow as exc:
            if exc.endpoint != endpoint.key:
                raise
            return None

    def shadow(
        self,
        key: str,
        percentage: float,
        *,
        side_effect_free: str | None = None,
        actor: str,
        reason: str,
    ) -> AuditEntry | None:
        """Shadows `percentage` of the endpoint's requests to the backend not serving them;
        None when it is already so. A method that is not safe needs `side_effect_free`: why
        sending its requests twice harms nothing."""
        endpoint, flag = self.check_shadow(key, percentage, side_effect_free)
        reason = _audited(endpoint, actor, reason)
        if self.store.snapshot().flags.get(endpoint.key) == flag:
            return None
        return self.store.set(endpoint.key, flag, actor=actor, reason=reason)

    def check_shadow(
        self, key: str, percentage: float, side_effect_free: str | None = None
    ) -> tuple[Route, Flag]:
        """Validates a shadow change without writing it (see `shadow`)."""
        endpoint = self.endpoint(key)
        current = self.store.snapshot().flags.get(endpoint.key) or Flag(Mode.LEGACY)
        return endpoint, self._shadowed(endpoint, current, percentage, side_effect_free)

    def _shadowed(
        self, endpoint: Route, flag: Flag, percentage: float, side_effect_free: str | None
    ) -> Flag:
        try:
            flag = flag.with_shadow(percentage, side_effect_free)
        except InvalidFlag as exc:
            exc.endpoint = endpoint.key
            raise
        if flag.shadow and len(endpoint.backends) != 2:
            raise InvalidFlag(
                f"{endpoint.key} is served by one app only: there is no other answer to compare",
                endpoint=endpoint.key,
            )
        if flag.shadow and endpoint.method not in SAFE_METHODS and not flag.side_effect_free:
            problem = self.writes_problem()
            if problem is not None:
                raise InvalidFlag(
                    f"{endpoint.key}: {endpoint.method} may change state, and no sandbox covers"
                    f" it ({problem}). Cover the app's database (sandbox_databases, see"
                    " docs/sandbox.md), declare the endpoint free of side effects with the"
                    " reason (--side-effect-free 'a pure function of its input'), or shadow a"
                    " safe method",
                    endpoint=endpoint.key,
                )
        return flag

    def changed(self, entry: AuditEntry) -> Changed:
        """What the admin API and the CLI answer for a change made: who took it (once every
        worker heard from lately has, or after `follow_wait` seconds)."""
        taken, lagging = self.followers(entry.version)
        return {"changed": True, **entry.to_dict(), "readers": taken, "lagging": lagging}

    def unchanged(
        self,
        key: str,
        mode: str,
        percentage: float | None = None,
        segments: Sequence[str] | None = None,
    ) -> Unchanged:
        """What the admin API and the CLI answer for a change that changes nothing: the flag."""
        endpoint, flag = self.check(key, mode, percentage, segments)
        current = self._current(endpoint)
        if current is not None:
            flag = current.routed_as(flag, segments_given=segments is not None)
        return {"changed": False, "endpoint": endpoint.key, "flag": flag.to_dict()}

    def shadow_unchanged(
        self, key: str, percentage: float, side_effect_free: str | None = None
    ) -> Unchanged:
        """What the admin API and the CLI answer for a shadow change that changes nothing."""
        endpoint, flag = self.check_shadow(key, percentage, side_effect_free)
        return {"changed": False, "endpoint": endpoint.key, "flag": flag.to_dict()}

    def apply(
        self,
        wanted: Mapping[str, FlagEntry],
        *,
        actor: str,
        reason: str,
        source: str = "",
    ) -> list[AuditEntry]:
        """Sets every flag in `wanted` that differs from the store, after checking them all:
        one bad entry and nothing is written. An entry without a shadow share keeps the one the
        endpoint has, one without segments its segments (see Flag.routed_as). `source` names
        where they came from, for the errors."""
        checked = []
        bounded(actor, "actor")
        bounded(reason, "reason")
        for key, entry in wanted.items():
            try:
                endpoint, flag = self.check(key, entry.mode, entry.percentage, entry.segments)
                if entry.shadow is not None:
                    flag = self._shadowed(endpoint, flag, entry.shadow, entry.side_effect_free)
                checked.append((endpoint, flag, entry))
            except FlagChangeError as exc:
                where = f"{source}: " if source else ""
                raise type(exc)(f"{where}{exc}", endpoint=exc.endpoint) from None
        current = self.store.snapshot().flags
        changes = []
        for endpoint, flag, entry in checked:
            now = current.get(endpoint.key)
            new = flag
            if now is not None:
                new = now.routed_as(flag, segments_given=entry.segments is not None)
                if entry.shadow is not None:  # the entry's own shadow share
                    new = dataclasses.replace(
                        new, shadow=flag.shadow, side_effect_free=flag.side_effect_free
                    )
            if now != new:
                changes.append(self.store.set(endpoint.key, new, actor=actor, reason=reason))
        return changes

    def followers(self, version: int, within: float = RECENT) -> tuple[int, int]:
        """(the workers that route by `version` or a later one, the workers heard from in the
        last `within` seconds that do not), waiting up to `follow_wait` seconds for the latter
        to report it. Only a report of `version` itself counts: a report made before the
        change says nothing of it, and a worker that stopped never makes one."""
        deadline = time.monotonic() + self.follow_wait
        while True:
            try:
                seen = self.store.readers(within)
            except FlagStoreError:
                return 0, 0
            taken = sum(1 for routed_by in seen.values() if routed_by >= version)
            if taken == len(seen) or time.monotonic() >= deadline:
                return taken, len(seen) - taken
            time.sleep(0.05)  # a worker reports within its poll (0.2 s) of the change

    def readers(self, within: float = RECENT) -> int:
        """How many gateway workers read this store in the last `within` seconds: a change
        nobody reads is a change made to the wrong store."""
        try:
            return len(self.store.readers(within))
        except FlagStoreError:
            return 0

    def history(self, key: str | None = None, limit: int = 50) -> list[AuditEntry]:
        return self.store.history(self.endpoint(key).key if key else None, limit)

    def table(self, snapshot: FlagSnapshot) -> list[EndpointRow]:
        """Every endpoint with its flag and where its requests go, as operators see them."""
        rows: list[EndpointRow] = []
        for endpoint in self.inventory:
            flag = snapshot.flags.get(endpoint.key)
            if len(endpoint.backends) == 1:
                only = next(iter(endpoint.backends)).value
                off = flag is not None and flag.mode is Mode.OFF
                routing = f"off (the other app answers 404; on: {only})" if off else only
            else:
                routing = flag.describe() if flag else "legacy"
            rows.append(
                {
                    "endpoint": endpoint.key,
                    "served_by": endpoint.served_by,
                    "flag": flag.to_dict() if flag else None,
                    "routing": routing,
                }
            )
        return rows


def _audited(endpoint: Route, actor: str, reason: str) -> str:
    """The reason of a change, stripped, once it and the actor are fit for the audit trail."""
    reason = reason.strip()
    try:
        if not reason:
            raise InvalidFlag("say why: a change needs a reason (it goes in the audit trail)")
        bounded(reason, "reason")
        bounded(actor, "actor")
    except InvalidFlag as exc:
        exc.endpoint = endpoint.key
        raise
    return reason
