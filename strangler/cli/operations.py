"""What an operator can do, against the local flag store or a running gateway's admin API.

The CLI talks to `Operations`; `LocalOperations` writes the SQLite file directly (every worker
picks the change up within a poll), `RemoteOperations` calls the admin API over HTTP. Both return
the same plain data, so the CLI prints either the same way.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import click
import httpx

from strangler.admin.errors import AdminError
from strangler.errors import ConfigError
from strangler.flags.errors import (
    FlagChangeError,
    FlagStoreError,
    InvalidFlag,
    NoLegacyHandler,
    NoMigratedHandler,
    UnknownEndpoint,
)
from strangler.flags.model import EMPTY_SNAPSHOT
from strangler.flags.service import FlagService
from strangler.flags.store import open_store
from strangler.metrics.fleet import FleetReader
from strangler.report.progress import Progress, progress_of
from strangler.rollout.errors import InvalidPlan, NoRollout, RolloutError
from strangler.rollout.plan import Criteria
from strangler.rollout.service import RolloutService
from strangler.routing.inventory import discover
from strangler.settings import Settings, import_string
from strangler.shadow.record import FRESH, corpus_files, gather


class Operations(Protocol):
    def endpoints(self) -> list[dict[str, Any]]: ...

    def flags(self) -> dict[str, Any]: ...

    def set(
        self, endpoint: str, mode: str, percentage: float | None, *, actor: str, reason: str
    ) -> dict[str, Any]: ...

    def history(self, endpoint: str | None, limit: int) -> list[dict[str, Any]]: ...

    def shadow(
        self,
        endpoint: str,
        percentage: float,
        side_effect_free: str | None,
        *,
        actor: str,
        reason: str,
    ) -> dict[str, Any]: ...

    def shadow_report(self) -> dict[str, Any]: ...

    def shadow_export(self, recorded: bool) -> dict[str, str]: ...

    def rollout_start(
        self, endpoint: str, plan: dict[str, Any], *, actor: str, reason: str
    ) -> dict[str, Any]: ...

    def rollout_status(self, endpoint: str | None) -> list[dict[str, Any]]: ...

    def rollout_act(self, action: str, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
        """`pause`, `resume` or `abort` the endpoint's rollout."""
        ...


class LocalOperations:
    """Operations on the flag store named in the settings, with the inventory of both apps."""

    def __init__(self, settings: Settings, *, create: bool = False) -> None:
        if settings.flags in ("memory:", ":memory:"):
            raise ConfigError(
                "flags = 'memory:' lives inside one gateway process, out of this command's reach;"
                " act on it through the running gateway with --url, or use a SQLite file"
            )
        legacy = import_string(settings.legacy, settings.root)
        migrated = import_string(settings.migrated, settings.root)
        self.service = FlagService(
            open_store(settings.path(settings.flags), create=create), discover(legacy, migrated)
        )
        self.rollouts = RolloutService(self.service)
        self.settings = settings

    def progress(self) -> Progress:
        """How far the migration is (strangler.report), from the store, every worker's
        published figures and the last saved contract run."""
        return progress_of(
            self.settings, self.service, self.rollouts, FleetReader(self.service.store)
        )

    def endpoints(self) -> list[dict[str, Any]]:
        """The inventory with where each endpoint routes; without a readable store, where it
        routes by default (and a warning: the listing is about the apps, not the store)."""
        try:
            snapshot = self.service.store.snapshot()
        except FlagStoreError as exc:
            click.secho(
                f"warning: {exc}; showing the routing with no flags set", fg="yellow", err=True
            )
            snapshot = EMPTY_SNAPSHOT
        return self.service.table(snapshot)

    def flags(self) -> dict[str, Any]:
        return self.service.store.snapshot().to_dict()

    def set(
        self, endpoint: str, mode: str, percentage: float | None, *, actor: str, reason: str
    ) -> dict[str, Any]:
        entry = self.service.set(endpoint, mode, percentage, actor=actor, reason=reason)
        if entry is None:
            return self.service.unchanged(endpoint, mode, percentage)
        return {"changed": True, **entry.to_dict(), "readers": self.service.readers()}

    def history(self, endpoint: str | None, limit: int) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in self.service.history(endpoint, limit)]

    def shadow(
        self,
        endpoint: str,
        percentage: float,
        side_effect_free: str | None,
        *,
        actor: str,
        reason: str,
    ) -> dict[str, Any]:
        entry = self.service.shadow(
            endpoint, percentage, side_effect_free=side_effect_free, actor=actor, reason=reason
        )
        if entry is None:
            return self.service.shadow_unchanged(endpoint, percentage, side_effect_free)
        return {"changed": True, **entry.to_dict(), "readers": self.service.readers()}

    def shadow_report(self) -> dict[str, Any]:
        """What every worker reading this store published of its shadowing lately."""
        snapshot = self.service.store.snapshot()
        shadowing = {key: flag.to_dict() for key, flag in snapshot.flags.items() if flag.shadow}
        found = gather(self.service.store.published("shadow", FRESH))
        return {"enabled": True, "flags": shadowing, **found}

    def shadow_export(self, recorded: bool) -> dict[str, str]:
        return corpus_files(self.shadow_report()["endpoints"], recorded)

    def rollout_start(
        self, endpoint: str, plan: dict[str, Any], *, actor: str, reason: str
    ) -> dict[str, Any]:
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


# The admin API's error types, turned back into the same exceptions the local path raises.
_REFUSALS: dict[str, type[FlagChangeError] | type[RolloutError]] = {
    "UnknownEndpoint": UnknownEndpoint,
    "NoMigratedHandler": NoMigratedHandler,
    "NoLegacyHandler": NoLegacyHandler,
    "InvalidFlag": InvalidFlag,
    "InvalidPlan": InvalidPlan,
    "NoRollout": NoRollout,
    "RolloutError": RolloutError,
}


class RemoteOperations:
    """Operations through a running gateway's admin API."""

    def __init__(self, url: str, token: str | None, prefix: str = "/_strangler") -> None:
        headers = {"X-Strangler-Admin-Token": token} if token else {}
        self._client = httpx.Client(base_url=url.rstrip("/") + prefix, headers=headers, timeout=10)
        self._url = url

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AdminError(f"cannot reach the gateway at {self._url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and body is not None:
            return body
        if isinstance(body, dict):
            message, kind = str(body.get("error", response.text)), str(body.get("type", ""))
        else:
            message, kind = response.text[:200], ""
        if kind in _REFUSALS:
            raise _REFUSALS[kind](message, endpoint=body.get("endpoint"))
        if response.status_code == 401:
            message += " (set STRANGLER_ADMIN_TOKEN to the gateway's admin token)"
        raise AdminError(f"the gateway answered {response.status_code}: {message}")

    def endpoints(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/endpoints")
        return result

    def flags(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/flags")
        return result

    def set(
        self, endpoint: str, mode: str, percentage: float | None, *, actor: str, reason: str
    ) -> dict[str, Any]:
        body = {
            "endpoint": endpoint,
            "mode": mode,
            "percentage": percentage,
            "reason": reason,
            "actor": actor,
        }
        result: dict[str, Any] = self._call("POST", "/flags", json=body)
        return result

    def history(self, endpoint: str | None, limit: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if endpoint:
            params["endpoint"] = endpoint
        result: list[dict[str, Any]] = self._call("GET", "/history", params=params)
        return result

    def shadow(
        self,
        endpoint: str,
        percentage: float,
        side_effect_free: str | None,
        *,
        actor: str,
        reason: str,
    ) -> dict[str, Any]:
        body = {
            "endpoint": endpoint,
            "percentage": percentage,
            "side_effect_free": side_effect_free,
            "reason": reason,
            "actor": actor,
        }
        result: dict[str, Any] = self._call("POST", "/shadow", json=body)
        return result

    def shadow_report(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/shadow")
        return result

    def shadow_export(self, recorded: bool) -> dict[str, str]:
        result: dict[str, str] = self._call(
            "GET", "/shadow/export", params={"recorded": str(recorded).lower()}
        )["files"]
        return result

    def rollout_start(
        self, endpoint: str, plan: dict[str, Any], *, actor: str, reason: str
    ) -> dict[str, Any]:
        body = {"endpoint": endpoint, **plan, "reason": reason, "actor": actor}
        result: dict[str, Any] = self._call("POST", "/rollouts", json=body)
        return result

    def rollout_status(self, endpoint: str | None) -> list[dict[str, Any]]:
        params = {"endpoint": endpoint} if endpoint else {}
        result: list[dict[str, Any]] = self._call("GET", "/rollouts", params=params)
        return result

    def rollout_act(self, action: str, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
        body = {"endpoint": endpoint, "reason": reason, "actor": actor}
        result: dict[str, Any] = self._call("POST", f"/rollouts/{action}", json=body)
        return result
