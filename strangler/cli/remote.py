"""Operations through a running gateway's admin API (`--url`, or STRANGLER_URL), authenticated
by STRANGLER_ADMIN_TOKEN: the same answers `LocalOperations` gives, over HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx

from strangler.admin.errors import AdminError
from strangler.flags.errors import (
    FlagChangeError,
    InvalidFlag,
    NoLegacyHandler,
    NoMigratedHandler,
    UnknownEndpoint,
)
from strangler.flags.views import ChangeResult, EndpointRow, FlagTable, HistoryEntry
from strangler.rollout.errors import InvalidPlan, NoRollout, RolloutError

# A file name `shadow export` may write as given: no folder, no `..`, not hidden.
CORPUS_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.ya?ml")

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

    def endpoints(self) -> list[EndpointRow]:
        result: list[EndpointRow] = self._call("GET", "/endpoints")
        return result

    def flags(self) -> FlagTable:
        result: FlagTable = self._call("GET", "/flags")
        return result

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
        body: dict[str, Any] = {
            "endpoint": endpoint,
            "mode": mode,
            "percentage": percentage,
            "reason": reason,
            "actor": actor,
        }
        if segments is not None:  # only then: a gateway older than segments refuses them
            body["segments"] = segments
        result: ChangeResult = self._call("POST", "/flags", json=body)
        return result

    def history(self, endpoint: str | None, limit: int) -> list[HistoryEntry]:
        params: dict[str, Any] = {"limit": limit}
        if endpoint:
            params["endpoint"] = endpoint
        result: list[HistoryEntry] = self._call("GET", "/history", params=params)
        return result

    def shadow(
        self,
        endpoint: str,
        percentage: float,
        side_effect_free: str | None,
        *,
        actor: str,
        reason: str,
    ) -> ChangeResult:
        body = {
            "endpoint": endpoint,
            "percentage": percentage,
            "side_effect_free": side_effect_free,
            "reason": reason,
            "actor": actor,
        }
        result: ChangeResult = self._call("POST", "/shadow", json=body)
        return result

    def shadow_report(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/shadow")
        return result

    def shadow_export(self, recorded: bool) -> dict[str, str]:
        """The corpus files the gateway made; refused whole if a name is not a plain file name
        (`../x`, `/etc/x`, `a/b`), since the CLI writes them into a folder of the user's."""
        answer = self._call("GET", "/shadow/export", params={"recorded": str(recorded).lower()})
        files = answer.get("files") if isinstance(answer, dict) else None
        if not isinstance(files, dict) or not all(
            isinstance(name, str) and isinstance(text, str) for name, text in files.items()
        ):
            raise AdminError(
                f"the gateway at {self._url} answered an export that is not a table of corpus"
                " files (name -> YAML text): nothing written"
            )
        for name in files:
            if not CORPUS_FILE_NAME.fullmatch(name):
                raise AdminError(
                    f"the gateway at {self._url} answered the file name {name!r}, not a plain"
                    " corpus file name (letters, digits, '_', '-', '.', ending in .yaml):"
                    " nothing written"
                )
        return files

    def shadow_ack(self, endpoint: str, *, actor: str, reason: str) -> dict[str, Any]:
        body = {"endpoint": endpoint, "reason": reason, "actor": actor}
        result: dict[str, Any] = self._call("POST", "/shadow/ack", json=body)
        return result

    def shadow_clear(self, endpoint: str | None, *, actor: str, reason: str) -> dict[str, Any]:
        body = {"endpoint": endpoint, "reason": reason, "actor": actor}
        result: dict[str, Any] = self._call("POST", "/shadow/clear", json=body)
        return result

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
        body: dict[str, Any] = {
            "endpoint": endpoint,
            "mode": mode,
            "percentage": percentage,
            "at": at,
            "reason": reason,
            "actor": actor,
        }
        if segments is not None:
            body["segments"] = segments
        result: dict[str, Any] = self._call("POST", "/flags/scheduled", json=body)
        return result

    def scheduled(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/flags/scheduled")
        return result

    def cancel_scheduled(self, schedule_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        body = {"id": schedule_id, "reason": reason, "actor": actor}
        result: dict[str, Any] = self._call("POST", "/flags/scheduled/cancel", json=body)
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
