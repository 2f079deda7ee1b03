"""SQLAlchemy engines whose writes in a sandbox are never committed.

`cover(engine)` (one call in the app's code, or `sandbox_databases` in the settings) leaves the
engine unchanged outside a sandbox. Inside one, every connection the engine gives (to a
Session, Flask-SQLAlchemy's `db.session`, `engine.begin()`, Core) is the sandbox's own: one
database connection, held for the whole sandboxed call, in a transaction opened when the call
first touched the database and rolled back when the sandbox closes. The app's COMMIT becomes a
checkpoint inside that transaction (RELEASE and a new SAVEPOINT), its ROLLBACK a rollback to the
last checkpoint, so the app sees its own writes, its failures undo only what they should, and
nothing reaches the database for good.

Why at the DB-API connection and not the Session ("join a session into an external
transaction"): the app's sessions are its own (a scoped session, a sessionmaker in a
dependency, a Session made per call), and SQLAlchemy 2.1 commits the outer transaction when a
Session is given a connection already in one. Below them all, one connection whose commit
cannot commit covers every way in.

An engine that is not covered is stopped in a sandbox (`guard()`): its first connection raises
UncoveredDatabase, so a sandboxed call never writes through a door nobody watches.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from strangler.sandbox.context import current
from strangler.sandbox.errors import SandboxError, UncoveredDatabase

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import PoolProxiedConnection

CHECKPOINT = "strangler_sandbox"
_covered: dict[int, tuple[Engine, Engine]] = {}  # id(engine) -> the engine and its twin
_twins: set[int] = set()  # the engines that hand out sandbox connections
_lock = threading.Lock()
_guarded = False


def cover(engine: Engine) -> Engine:
    """Makes `engine`'s writes in a sandbox roll back (see the module docstring); returns it.
    Covering an engine twice does nothing more."""
    from sqlalchemy.engine import Engine as EngineClass
    from sqlalchemy.pool import NullPool

    sync_engine = getattr(engine, "sync_engine", None)  # an AsyncEngine: its sync core
    if sync_engine is not None:
        cover(sync_engine)
        return engine
    with _lock:
        if id(engine) in _covered:
            return engine
        # The twin shares the engine's dialect (already initialised: no first-connect queries)
        # and hands out the sandbox's held connection, never a pooled one.
        pool = NullPool(
            lambda: _held(engine).sandboxed,
            reset_on_return=None,  # the sandbox ends the transaction, not the pool
            dialect=engine.dialect,
        )
        twin = EngineClass(pool, engine.dialect, engine.url)
        connect = engine.connect

        def sandbox_aware_connect() -> Connection:
            if current() is None:
                return connect()
            return twin.connect()

        engine.connect = sandbox_aware_connect  # type: ignore[method-assign]
        _covered[id(engine)] = (engine, twin)
        _twins.add(id(twin))
    guard()
    return engine


def covered() -> list[Engine]:
    """The engines covered so far."""
    with _lock:
        return [engine for engine, _ in _covered.values()]


def uncover(engine: Engine) -> None:
    """Undoes `cover`: the engine's connections are its own again, in a sandbox too (where the
    guard then stops them)."""
    with _lock:
        pair = _covered.pop(id(engine), None)
        if pair is None:
            return
        _twins.discard(id(pair[1]))
        del engine.connect  # the instance's override: the class's method shows through again


def guard() -> None:
    """Stops, in a sandbox, any engine that is not covered (installed once, for every engine).
    Called by `cover`, and by the gateway at start when SQLAlchemy is loaded."""
    global _guarded
    from sqlalchemy import event
    from sqlalchemy.engine import Engine as EngineClass

    with _lock:
        if _guarded:
            return
        _guarded = True
    event.listen(EngineClass, "engine_connect", _refuse_uncovered)


def _refuse_uncovered(connection: Connection) -> None:
    box = current()
    if box is None or id(connection.engine) in _twins:
        return
    connection.close()  # back to its pool untouched: nothing was executed on it
    error = UncoveredDatabase(
        f"a sandboxed call opened a connection on {connection.engine.url!r}, which the sandbox"
        " does not cover: call strangler.sandbox.sql.cover(engine) at start (or list it in"
        " `sandbox_databases`)"
    )
    # A fault of the sandbox, not of the app: whatever the app answers now (a 500) proves
    # nothing about it, and the shadow tap counts the call as failed instead of comparing it.
    box.faults.append(str(error))
    raise error


class _Checkpointed:
    """The DB-API connection as the app sees it in a sandbox: its commit is a checkpoint, its
    rollback goes back to the last one, its close keeps the connection for the sandbox.

    Once the sandbox has closed, the connection is back in the engine's pool, serving others;
    an app thread still winding down (a teardown that rolls back) must not reach it: a rollback
    then does nothing, anything else raises SandboxError.
    """

    def __init__(self, dbapi: Any) -> None:
        self._dbapi: Any = dbapi

    def commit(self) -> None:
        _run(self._live(), f"RELEASE SAVEPOINT {CHECKPOINT}", f"SAVEPOINT {CHECKPOINT}")

    def rollback(self) -> None:
        if self._dbapi is not None:
            _run(self._dbapi, f"ROLLBACK TO SAVEPOINT {CHECKPOINT}")

    def close(self) -> None:
        pass

    def detach(self) -> None:
        self._dbapi = None

    def _live(self) -> Any:
        if self._dbapi is None:
            raise SandboxError("a database connection was used after its sandbox closed")
        return self._dbapi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live(), name)


class _Transaction:
    """One engine's part of a sandbox: a pooled connection in a transaction, never committed."""

    def __init__(self, engine: Engine, writes: bool) -> None:
        self.pooled: PoolProxiedConnection = engine.pool.connect()
        dbapi = self.pooled.dbapi_connection
        try:
            if engine.dialect.name == "sqlite" and not dbapi.in_transaction:  # type: ignore[union-attr]
                # pysqlite begins only before a write; a read-only start would let SAVEPOINT
                # open the transaction, and its RELEASE then commit it. A call that will write
                # takes SQLite's one write lock now (waiting its turn behind the served calls'
                # writes): taken on its first write instead, after reads, the lock cannot wait
                # (SQLite refuses at once, "database is locked", to avoid a deadlock).
                _run(dbapi, "BEGIN IMMEDIATE" if writes else "BEGIN")
            _run(dbapi, f"SAVEPOINT {CHECKPOINT}")  # DB-API drivers begin before it
        except Exception:
            self.pooled.invalidate()  # an unknown state: never back to the pool
            raise
        self.sandboxed = _Checkpointed(dbapi)

    async def arelease(self) -> None:
        """`release` for an async engine: its driver must be awaited, in SQLAlchemy's greenlet."""
        from sqlalchemy.util import greenlet_spawn

        await greenlet_spawn(self.release)

    def release(self) -> None:
        self.sandboxed.detach()
        try:
            self.pooled.dbapi_connection.rollback()  # type: ignore[union-attr]
        except Exception:
            self.pooled.invalidate()
            raise
        finally:
            self.pooled.close()


def _held(engine: Engine) -> _Transaction:
    box = current()
    if box is None:  # only the twin calls this, and only from inside a sandbox
        raise RuntimeError("a sandbox's database connection was asked for outside it")
    if engine.dialect.is_async and not box.awaited:
        raise SandboxError(
            f"{engine.url.render_as_string(hide_password=True)} is an async engine: its"
            " sandbox must be entered with `async with Sandbox()` to be rolled back"
        )
    try:
        return box.hold(
            _database(engine),
            lambda: _Transaction(engine, box.writes),
            _Transaction.release,
            _Transaction.arelease if engine.dialect.is_async else None,
        )
    except Exception as exc:  # the app sees it fail; the comparison must not count it
        box.faults.append(f"{engine.url.render_as_string(hide_password=True)}: {exc}")
        raise


def _database(engine: Engine) -> str:
    """What a sandbox holds one transaction for: engines on the same database (the same URL,
    driver included) share it, so a call that writes through one (legacy's Flask-SQLAlchemy
    engine) reads its write through another (the port's), and on SQLite never waits on its
    own write lock. Engines with different drivers keep a transaction each."""
    return engine.url.render_as_string(hide_password=False)


def _run(dbapi: Any, *statements: str) -> None:
    cursor = dbapi.cursor()
    try:
        for statement in statements:
            cursor.execute(statement)
    finally:
        cursor.close()
