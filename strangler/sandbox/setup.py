"""The sandbox made ready at start, from what the settings name: engines covered, outbound
clients checked, uncovered engines stopped, the rollback proved. Never raises: what is wrong
is said in the status, and unsafe methods then stay unshadowed."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Iterable
from typing import Any

from strangler.sandbox import outbound, sql
from strangler.sandbox.check import check_rollback
from strangler.sandbox.errors import SandboxError

log = logging.getLogger("strangler.sandbox")


@dataclasses.dataclass(frozen=True)
class SandboxStatus:
    """What the sandbox covers in this process, and whether its rollback was proved.

    databases: the covered databases (URLs without passwords), each proved by the self-check.
    outbound: the HTTP clients whose calls it records instead of sending.
    problem: why writes may not be shadowed (a failed self-check, no database), or "".
    """

    databases: tuple[str, ...] = ()
    outbound: tuple[str, ...] = ()
    problem: str = "no database is covered (sandbox_databases, or strangler.sandbox.sql.cover)"

    @property
    def covers_writes(self) -> bool:
        """Whether an endpoint's database writes in a sandbox are thrown away for sure."""
        return not self.problem

    def view(self) -> dict[str, Any]:
        return {
            "databases": list(self.databases),
            "outbound": list(self.outbound),
            "covers_writes": self.covers_writes,
            "problem": self.problem,
        }


def start(databases: Iterable[object] = ()) -> SandboxStatus:
    """Covers each engine `databases` names (an engine, or a function returning one or more),
    puts the outbound check in front of httpx and requests, stops uncovered engines in a
    sandbox, and proves the rollback on every covered engine."""
    try:
        for found in databases:
            for engine in _engines(found):
                sql.cover(engine)
        clients = tuple(outbound.install())
        if "sqlalchemy" in sys.modules:
            sql.guard()
    except (SandboxError, TypeError) as exc:
        log.error("the sandbox cannot start: %s", exc)
        return SandboxStatus(problem=str(exc))
    if not sql.covered():
        return SandboxStatus(outbound=clients)
    try:
        proved = tuple(check_rollback())
    except SandboxError as exc:
        log.error("the sandbox's self-check failed: %s", exc)
        return SandboxStatus(outbound=clients, problem=str(exc))
    return SandboxStatus(databases=proved, outbound=clients, problem="")


def _engines(found: object) -> list[Any]:
    """The SQLAlchemy engines `found` is or makes: an engine, a function returning one or
    several, or a list of them."""
    from sqlalchemy.engine import Engine

    if isinstance(found, Engine):
        return [found]
    if callable(found):
        return _engines(found())
    if isinstance(found, list | tuple):
        return [engine for item in found for engine in _engines(item)]
    raise TypeError(
        f"sandbox_databases: {found!r} is not a SQLAlchemy engine, nor a function returning some"
    )
