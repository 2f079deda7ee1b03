"""The self-check at start: a write in a sandbox, then a read outside it, on each covered
database. A database that keeps the write (DDL outside transactions, an autocommit engine, a
driver that commits on its own) fails it, and no unsafe method may then be shadowed."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from strangler.sandbox import sql
from strangler.sandbox.context import Sandbox
from strangler.sandbox.errors import RollbackCheckFailed


def check_rollback() -> list[str]:
    """Proves on each covered engine that a sandbox's committed write is gone after it;
    returns the databases checked (URLs without passwords). Raises RollbackCheckFailed."""

    checked = []
    for engine in sql.covered():
        name = engine.url.render_as_string(hide_password=True)
        table = f"strangler_sandbox_check_{os.getpid()}"
        try:
            if engine.dialect.is_async:
                leaked = _in_a_loop_of_its_own(_leaks_async(engine, table))
            else:
                leaked = _leaks(engine, table)
        except RollbackCheckFailed:
            raise
        except Exception as exc:  # the driver's own error, whatever it is: the check failed
            raise RollbackCheckFailed(f"{name}: a sandbox could not write: {exc}") from exc
        if leaked:
            raise RollbackCheckFailed(
                f"{name}: a table made in a sandbox was still there after it: this database"
                " does not roll back the sandbox's writes"
            )
        checked.append(name)
    return checked


def _leaks(engine: Any, table: str) -> bool:
    """Writes in a sandbox, then looks from outside (dropping what leaked)."""
    from sqlalchemy import inspect, text

    with Sandbox(label="self-check"), engine.connect() as connection:
        connection.execute(text(f"CREATE TABLE {table} (x INTEGER)"))
        connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
        connection.commit()  # the app's commit: a checkpoint, never the database's
    with engine.connect() as connection:
        leaked: bool = inspect(connection).has_table(table)
        if leaked:
            connection.execute(text(f"DROP TABLE {table}"))
            connection.commit()
    return leaked


async def _leaks_async(engine: Any, table: str) -> bool:
    """`_leaks` for an async engine (its sync core given): through an AsyncEngine on it, whose
    pooled connections, made in this check's loop, are closed after it."""
    from sqlalchemy import inspect, text
    from sqlalchemy.ext.asyncio import AsyncEngine

    async_engine = AsyncEngine(engine)
    try:
        async with Sandbox(label="self-check"), async_engine.connect() as connection:
            await connection.execute(text(f"CREATE TABLE {table} (x INTEGER)"))
            await connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
            await connection.commit()
        async with async_engine.connect() as connection:
            leaked: bool = await connection.run_sync(lambda sync: inspect(sync).has_table(table))
            if leaked:
                await connection.execute(text(f"DROP TABLE {table}"))
                await connection.commit()
        return leaked
    finally:
        await async_engine.dispose()  # the app's loop must not get this loop's connections


def _in_a_loop_of_its_own(check: Any) -> bool:
    """Runs an async check in a thread with its own event loop: the gateway is built before
    (or inside) the server's loop, which cannot be blocked on."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(check))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name="strangler-sandbox-check")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return bool(outcome[0])
