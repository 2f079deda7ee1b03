"""Whether a contract run's reset hook may run: not against a database a live gateway serves.

A reset hook (`contract_reset`) wipes state: a TRUNCATE on the apps' database. Pointed at the
database a running gateway serves, it wipes its users' data. The run cannot see which database
a gateway uses, so it asks the flag store the same settings name: a gateway built from those
settings (same settings file, same apps, so the same database) reports to that store every few
seconds (`note_reader`, the heartbeat `strangler flags set` counts its workers by). If any
worker was heard from in the last RECENT seconds, the reset is refused unless forced
(`--force-reset`, or `contract_reset_force = true`).

The heuristic's limits: a gateway configured by another settings file (another flag store) on
the same database is not seen; nor is one whose store cannot be read from here (a Redis that
does not answer). A `memory:` store belongs to one process, so no gateway can share it.
"""

from __future__ import annotations

from strangler.contracts.errors import ResetRefused
from strangler.flags.errors import FlagStoreError
from strangler.flags.service import RECENT
from strangler.flags.store import open_store
from strangler.settings import Settings


def gateway_workers(settings: Settings, within: float = RECENT) -> int:
    """How many gateway workers read the settings' flag store in the last `within` seconds
    (0 when it is `memory:`, does not exist, or cannot be read)."""
    location = settings.path(settings.flags)
    if location in ("memory:", ":memory:"):
        return 0
    try:
        store = open_store(location)  # never created here: no store, no gateway
    except FlagStoreError:
        return 0
    try:
        return len(store.readers(within))
    except FlagStoreError:
        return 0
    finally:
        store.close()


def check_reset(settings: Settings, spec: str, *, force: bool = False) -> None:
    """Raises ResetRefused if the reset hook `spec` would run while a gateway serves by the
    same settings (see the module docstring), unless `force` or `contract_reset_force`."""
    if force or settings.contract_reset_force:
        return
    workers = gateway_workers(settings)
    if workers:
        raise ResetRefused(
            f"the reset hook {spec} was not run: {workers} gateway worker(s) read the flag store"
            f" {settings.path(settings.flags)} in the last {RECENT:g} s, so a live gateway"
            " likely serves from the database it would reset; give the contract run a database"
            " of its own, or list the database in sandbox_databases (each play then runs in a"
            " rolled-back sandbox, no reset hook needed), or force it: --force-reset"
            " (pytest: contract_reset_force = true in the settings)"
        )
