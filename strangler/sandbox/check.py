"""The self-check at start: a write in a sandbox, then a read outside it, on each covered
database. A database that keeps the write (DDL outside transactions, an autocommit engine, a
driver that commits on its own) fails it, and no unsafe method may then be shadowed."""

from __future__ import annotations

import os

from strangler.sandbox import sql
from strangler.sandbox.context import Sandbox
from strangler.sandbox.errors import RollbackCheckFailed


def check_rollback() -> list[str]:
    """Proves on each covered engine that a sandbox's committed write is gone after it;
    returns the databases checked (URLs without passwords). Raises RollbackCheckFailed."""
    from sqlalchemy import inspect, text

    checked = []
    for engine in sql.covered():
        name = engine.url.render_as_string(hide_password=True)
        table = f"strangler_sandbox_check_{os.getpid()}"
        try:
            with Sandbox(label="self-check"), engine.connect() as connection:
                connection.execute(text(f"CREATE TABLE {table} (x INTEGER)"))
                connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
                connection.commit()  # the app's commit: a checkpoint, never the database's
        except Exception as exc:  # the driver's own error, whatever it is: the check failed
            raise RollbackCheckFailed(f"{name}: a sandbox could not write: {exc}") from exc
        with engine.connect() as connection:
            leaked = inspect(connection).has_table(table)
            if leaked:
                connection.execute(text(f"DROP TABLE {table}"))
                connection.commit()
        if leaked:
            raise RollbackCheckFailed(
                f"{name}: a table made in a sandbox was still there after it: this database"
                " does not roll back the sandbox's writes"
            )
        checked.append(name)
    return checked
