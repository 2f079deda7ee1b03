"""What an operator can do, against the local flag store or a running gateway's admin API.

The CLI talks to `Operations`; `LocalOperations` works on the flag store itself (every worker
picks a change up within a poll), `RemoteOperations` (cli/remote.py) calls the admin API over
HTTP. Both return the same plain data, so the CLI prints either the same way.

`LocalOperations` never imports the apps: it checks endpoint names against the inventory the
gateway published in the store (strangler.flags.inventory), so `strangler flags set` works from
a box that has neither the apps nor their drivers. What only some commands need (rollouts, the
report, shadow findings, which pull in YAML and more) is imported by those commands.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, Protocol

from strangler.errors import ConfigError
from strangler.flags.inventory import Endpoints, PublishedInventory, published_inventory
from strangler.flags.service import FlagService
from strangler.flags.store import open_store
from strangler.flags.views import ChangeResult, EndpointRow, FlagTable, HistoryEntry
from strangler.settings import Settings

if TYPE_CHECKING:
    from strangler.report.progress import Progress
    from strangler.rollout.service import RolloutService


class Operations(Protocol):
    def endpoints(self) -> list[EndpointRow]: ...

    def flags(self) -> FlagTable: ...

    def set(
        self,
        endpoint: str,
        mode: str,
        percentage: float | None,
        *,
        actor: str,
        reason: str,
        segments: list[str] | None = None,
    ) -> ChangeResult:
        """`segments` None keeps the endpoint's (a change to legacy drops them); [] drops them."""
        ...

    def history(self, endpoint: str | None, limit: int) -> list[HistoryEntry]: ...

    def shadow(
        self,
        endpoint: str,
        percentage: float,
        side_effect_free: str | None,
        *,
        actor: str,
        reason: str,
    ) -> ChangeResult: ...

    def shadow_report(self) -> dict[str, Any]: ...

    def shadow_export(self, recorded: bool) -> dict[str, str]: ...

    def shadow_ack(self, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]: ...

    def shadow_clear(self, endpoint: str | None, *, actor: str, reason: str) -> dict[str, Any]: ...

    def schedule(
        self,
        endpoint: str,
        mode: str,
        percentage: float | None,
        at: float,
        *,
        actor: str,
        reason: str,
        segments: list[str] | None = None,
    ) -> dict[str, Any]:
        """Keeps a flag change to be made at `at` (epoch seconds) by a running gateway."""
        ...

    def scheduled(self) -> list[dict[str, Any]]: ...

    def cancel_scheduled(self, schedule_id: int, *, actor: str, reason: str) -> dict[str, Any]: ...

    def rollout_start(
        self, endpoint: str, plan: dict[str, Any], *, actor: str, reason: str
    ) -> dict[str, Any]: ...

    def rollout_status(self, endpoint: str | None) -> list[dict[str, Any]]: ...

    def rollout_act(self, action: str, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
        """`pause`, `resume`, `approve`, `promote` or `abort` the endpoint's rollout."""
        ...


def shown(location: str) -> str:
    """A store's location for the terminal: a URL without its password."""
    if "://" not in location:
        return location
    from strangler.flags.redis import redacted

    return redacted(location)


class LocalOperations:
    """Operations on the flag store named in the settings, checked against the endpoints
    published in it (or `inventory`, when the caller imported the apps)."""

    def __init__(
        self, settings: Settings, *, create: bool = False, inventory: Endpoints | None = None
    ) -> None:
        if settings.flags in ("memory:", ":memory:"):
            raise ConfigError(
                "flags = 'memory:' lives inside one gateway process, out of this command's reach;"
                " act on it through the running gateway with --url, or use a SQLite file"
            )
        self.settings = settings
        self.location = settings.path(settings.flags)
        self.store = open_store(self.location, create=create)
        self._inventory = inventory

    @functools.cached_property
    def service(self) -> FlagService:
        """The flag service; the first use reads the inventory from the store (NoInventory if
        none was published), so commands that name no endpoint never need one."""
        inventory = self._inventory
        if inventory is None:
            inventory = published_inventory(self.store, shown(self.location))
        return FlagService(self.store, inventory)

    @functools.cached_property
    def rollouts(self) -> RolloutService:
        from strangler.rollout.service import RolloutService

        return RolloutService(self.service)

    def published(self) -> str | None:
        """Where the endpoints came from, when they were read from the store."""
        inventory = self.service.inventory
        return inventory.described if isinstance(inventory, PublishedInventory) else None

    def progress(self) -> Progress:
        """How far the migration is (strangler.report), from the store, every worker's
        published figures and the last saved contract run."""
        from strangler.metrics.fleet import FleetReader
        from strangler.report.progress import progress_of

        return progress_of(self.settings, self.service, self.rollouts, FleetReader(self.store))

    def endpoints(self) -> list[EndpointRow]:
        return self.service.table(self.store.snapshot())

    def flags(self) -> FlagTable:
        return self.store.snapshot().to_dict()

    def set(
        self,
        endpoint: str,
        mode: str,
        percentage: float | None,
        *,
        actor: str,
        reason: str,
        segments: list[str] | None = None,
    ) -> ChangeResult:
        entry = self.service.set(
            endpoint, mode, percentage, actor=actor, reason=reason, segments=segments
        )
        if entry is None:
            return self.service.unchanged(endpoint, mode, percentage, segments)
        return self.service.changed(entry)

    def history(self, endpoint: str | None, limit: int) -> list[HistoryEntry]:
        if endpoint is None:  # no name to check: no inventory needed
            return [entry.to_dict() for entry in self.store.history(None, limit)]
        return [entry.to_dict() for entry in self.service.history(endpoint, limit)]

    def shadow(
        self,
        endpoint: str,
        percentage: float,
        side_effect_free: str | None,
        *,
        actor: str,
        reason: str,
    ) -> ChangeResult:
        entry = self.service.shadow(
            endpoint, percentage, side_effect_free=side_effect_free, actor=actor, reason=reason
        )
        if entry is None:
            return self.service.shadow_unchanged(endpoint, percentage, side_effect_free)
        return self.service.changed(entry)

    def shadow_report(self) -> dict[str, Any]:
        """What every worker reading this store published of its shadowing lately."""
        from strangler.shadow.findings import report
        from strangler.shadow.record import FRESH

        snapshot = self.store.snapshot()
        shadowing = {key: flag.to_dict() for key, flag in snapshot.flags.items() if flag.shadow}
        found = report(self.store.findings(), (), self.store.published("shadow", FRESH))
        return {"enabled": True, "flags": shadowing, **found}

    def shadow_export(self, recorded: bool) -> dict[str, str]:
        from strangler.shadow.record import corpus_files

        return corpus_files(self.shadow_report()["endpoints"], recorded)

    def shadow_ack(self, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
        from strangler.shadow.findings import acknowledge

        return acknowledge(self.store, endpoint, actor=actor, reason=reason)

    def shadow_clear(self, endpoint: str | None, *, actor: str, reason: str) -> dict[str, Any]:
        from strangler.shadow.findings import clear

        return clear(self.store, endpoint, actor=actor, reason=reason)

    def schedule(
        self,
        endpoint: str,
        mode: str,
        percentage: float | None,
        at: float,
        *,
        actor: str,
        reason: str,
        segments: list[str] | None = None,
    ) -> dict[str, Any]:
        from strangler.flags.schedule import Schedule

        change = Schedule(self.service).add(
            endpoint, mode, percentage, at, actor=actor, reason=reason, segments=segments
        )
        return change.to_dict()

    def scheduled(self) -> list[dict[str, Any]]:
        from strangler.flags.schedule import Schedule

        return [change.to_dict() for change in Schedule(self.service).pending()]

    def cancel_scheduled(self, schedule_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        from strangler.flags.schedule import Schedule

        schedule = Schedule(self.service)
        return schedule.cancel(schedule_id, actor=actor, reason=reason).to_dict()

    def rollout_start(
        self, endpoint: str, plan: dict[str, Any], *, actor: str, reason: str
    ) -> dict[str, Any]:
        from strangler.rollout.plan import Criteria

        criteria = Criteria(
            plan["max_error_delta"], plan["max_p99_ratio"], plan["max_mismatch_rate"]
        )
        rollout = self.rollouts.start(
            endpoint,
            tuple(plan["steps"]),
            plan["interval"],
            plan["min_requests"],
            criteria,
            actor=actor,
            reason=reason,
            approve_at=tuple(plan.get("approve_at") or ()),
            from_start=bool(plan.get("from_start")),
        )
        return {
            **self.rollouts.describe(rollout, None, time.time()),
            "readers": self.service.readers(),
        }

    def rollout_status(self, endpoint: str | None) -> list[dict[str, Any]]:
        return self.rollouts.status(endpoint)

    def rollout_act(self, action: str, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
        rollout = getattr(self.rollouts, action)(endpoint, actor=actor, reason=reason)
        return self.rollouts.describe(rollout, None, time.time())
