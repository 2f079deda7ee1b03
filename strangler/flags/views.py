"""The flag answers as data, typed once: what the admin API returns as JSON, what the CLI
prints (read from the store, or from a gateway with --url) and what the dashboard shows.

    FlagView       a flag: {"mode": "canary", "percentage": 25.0}, plus "shadow" and
                   "side_effect_free" when it shadows, "segments" when it has any
    FlagTable      the table: {"version": 7, "flags": {"GET /a": FlagView, ...}}
    EndpointRow    one endpoint: who serves it, its flag, where its requests go
    HistoryEntry   one audited change
    Changed        a change made: its audit entry, how many workers took it, how many not
    Unchanged      a change that changed nothing (the flag was so already)
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class FlagView(TypedDict):
    mode: str  # legacy, migrated, canary, off
    percentage: float  # of callers sent to migrated
    shadow: NotRequired[float]  # of requests also sent to the other backend
    side_effect_free: NotRequired[str | None]  # why shadowing an unsafe method harms nothing
    segments: NotRequired[list[str]]  # routed first, in order: "header:X-Tenant=acme->migrated"


class FlagTable(TypedDict):
    version: int
    flags: dict[str, FlagView]  # only the endpoints that have a flag, keys sorted


class EndpointRow(TypedDict):
    endpoint: str  # METHOD /template
    served_by: str  # legacy, migrated or both
    flag: FlagView | None
    routing: str  # as operators read it: `legacy`, `canary 25%`, `off (...)`


class HistoryEntry(TypedDict):
    id: int
    at: str  # ISO 8601, UTC
    actor: str
    endpoint: str
    before: FlagView | None  # None: the endpoint had no flag
    after: FlagView
    reason: str
    version: int  # of the table, after the change


class Changed(HistoryEntry):
    changed: Literal[True]
    readers: int  # gateway workers that took the change: they route by its version now
    lagging: NotRequired[int]  # workers heard from lately that did not take it (stopped?)


class Unchanged(TypedDict):
    changed: Literal[False]
    endpoint: str
    flag: FlagView  # what it is, and stays


ChangeResult = Changed | Unchanged
