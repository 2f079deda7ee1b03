"""SQLAlchemy engines covered by the sandbox, on a real SQLite file and a real PostgreSQL server:
a sandbox's writes are seen inside it and gone after it, whichever way the app reaches the
database; an engine nobody covered is stopped in a sandbox."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy import Column, Integer, String, create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.exc import IntegrityError  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker  # noqa: E402

from strangler.sandbox.check import check_rollback  # noqa: E402
from strangler.sandbox.context import Sandbox  # noqa: E402
from strangler.sandbox.errors import RollbackCheckFailed, UncoveredDatabase  # noqa: E402
from strangler.sandbox.sql import cover, covered, uncover  # noqa: E402
from tests.support.postgres import new_database  # noqa: E402


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True, nullable=False)


@pytest.fixture(scope="module")
def postgres_url(postgres_cluster: str) -> str:
    """This module's own database on the session's PostgreSQL."""
    return new_database(postgres_cluster, "sandbox_sql")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A covered engine with a `users` table holding `ada`, on each real database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/app.db"
    else:
        url = request.getfixturevalue("postgres_url")
    made = create_engine(url)
    Base.metadata.drop_all(made)
    Base.metadata.create_all(made)
    with Session(made) as session:
        session.add(User(name="ada"))
        session.commit()
    yield cover(made)
    uncover(made)
    made.dispose()


def names(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(text("SELECT name FROM users")).scalars())


def test_a_committed_write_is_seen_inside_and_gone_after(engine: Engine) -> None:
    """A write the app commits in a sandbox is read back by the same and by a later session
    of the same call, and is not in the database after the sandbox."""
    factory = sessionmaker(engine)
    with Sandbox():
        with factory() as session:
            session.add(User(name="bob"))
            session.commit()
        with factory() as session:
            assert sorted(session.scalars(sqlalchemy.select(User.name))) == ["ada", "bob"]
    assert names(engine) == ["ada"]


def test_a_failed_write_undoes_only_itself(engine: Engine) -> None:
    """An integrity error in a sandbox rolls back to the app's last commit, not further."""
    with Sandbox(), Session(engine) as session:
        session.add(User(name="bob"))
        session.commit()
        session.add(User(name="ada"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        assert sorted(session.scalars(sqlalchemy.select(User.name))) == ["ada", "bob"]
    assert names(engine) == ["ada"]


def test_the_serving_side_writes_after_the_sandbox_as_if_it_had_not_run(engine: Engine) -> None:
    """A sandboxed register of a new name, then the served one: the served write succeeds and
    is the only one left."""
    with Sandbox(), engine.begin() as connection:
        connection.execute(text("INSERT INTO users (name) VALUES ('carol')"))
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (name) VALUES ('carol')"))
    assert names(engine) == ["ada", "carol"]


def test_writes_from_the_apps_thread_are_rolled_back(engine: Engine) -> None:
    """The legacy app runs in a thread of its own (in a copy of the gateway's context): its
    writes there are held by the same sandbox and rolled back."""
    import contextvars

    with Sandbox():
        context = contextvars.copy_context()

        def write() -> None:
            with Session(engine) as session:
                session.add(User(name="dave"))
                session.commit()

        thread = threading.Thread(target=context.run, args=(write,))
        thread.start()
        thread.join()
        assert "dave" in names(engine)  # the same sandbox: its own write is visible
    assert names(engine) == ["ada"]


def test_flask_sqlalchemy_sessions_are_covered(tmp_path: Path) -> None:
    """A Flask-SQLAlchemy app's `db.session` commit inside a sandbox (a request through the
    Flask test client) leaves nothing in the database."""
    flask_sqlalchemy = pytest.importorskip("flask_sqlalchemy")
    from flask import Flask, jsonify

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/flask.db"
    db = flask_sqlalchemy.SQLAlchemy(app)

    class Member(db.Model):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(50), unique=True)

    @app.post("/register/<name>")
    def register(name: str) -> object:
        db.session.add(Member(name=name))
        db.session.commit()
        return jsonify(count=db.session.query(Member).count())

    with app.app_context():
        db.create_all()
        engine = cover(db.engine)
    client = app.test_client()
    try:
        with Sandbox():
            assert client.post("/register/ada").json == {"count": 1}
            assert client.post("/register/bob").json == {"count": 2}
        assert client.post("/register/eve").json == {"count": 1}
    finally:
        uncover(engine)


def test_an_uncovered_engine_is_stopped_in_a_sandbox(tmp_path: Path, engine: Engine) -> None:
    """In a sandbox, a connection on an engine nobody covered raises UncoveredDatabase before
    any statement runs; outside, the engine works as before."""
    other = create_engine(f"sqlite:///{tmp_path}/other.db")
    with (
        Sandbox(),
        pytest.raises(UncoveredDatabase, match="does not cover"),
        other.begin() as connection,
    ):
        connection.execute(text("CREATE TABLE leak (x INTEGER)"))
    with other.connect() as connection:
        assert not sqlalchemy.inspect(connection).has_table("leak")
    other.dispose()


def test_the_self_check_passes_on_real_databases(engine: Engine) -> None:
    """The start-up self-check writes in a sandbox and finds nothing outside, on every covered
    engine, and names the databases it checked."""
    checked = check_rollback()
    assert engine.url.render_as_string(hide_password=True) in checked


def test_the_self_check_fails_on_an_autocommit_engine(postgres_url: str) -> None:
    """An engine in autocommit mode cannot hold a sandbox's writes: the self-check says so."""
    autocommit = cover(create_engine(postgres_url, isolation_level="AUTOCOMMIT"))
    try:
        with pytest.raises(RollbackCheckFailed, match="could not write"):
            check_rollback()
    finally:
        uncover(autocommit)  # later checks go over every covered engine
        autocommit.dispose()
    assert autocommit not in covered()


def test_an_uncovered_engine_is_its_own_again(tmp_path: Path) -> None:
    """After `uncover`, the engine's writes in a sandbox are stopped like any engine's, and
    outside it they commit as before."""
    made = create_engine(f"sqlite:///{tmp_path}/again.db")
    cover(made)
    uncover(made)
    with Sandbox(), pytest.raises(UncoveredDatabase):
        made.connect()
    with made.begin() as connection:
        connection.execute(text("CREATE TABLE kept (x INTEGER)"))
    with made.connect() as connection:
        assert sqlalchemy.inspect(connection).has_table("kept")
    made.dispose()


def test_a_connection_used_after_its_sandbox_closed_is_not_reached(engine: Engine) -> None:
    """An app thread still winding down after its sandbox closed cannot reach the connection
    (back in the pool, serving others): its rollback does nothing, a write raises."""
    from strangler.sandbox.errors import SandboxError

    with Sandbox():
        connection = engine.connect()
        connection.execute(text("INSERT INTO users (name) VALUES ('late')"))
        dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    dbapi.rollback()  # a teardown's rollback: nothing happens
    with pytest.raises(SandboxError, match="after its sandbox closed"):
        dbapi.cursor()
    with pytest.raises(SandboxError):
        dbapi.commit()
    assert names(engine) == ["ada"]


def test_two_engines_on_one_database_share_the_sandboxs_transaction(engine: Engine) -> None:
    """Two apps' engines on one database (legacy's and the port's, in a mixed contract play):
    what one writes in a sandbox the other reads, neither waits on the other's lock, and
    nothing is left after it."""
    other = cover(create_engine(engine.url.render_as_string(hide_password=False)))
    try:
        with Sandbox():
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO users (name) VALUES ('erin')"))
            with other.begin() as connection:  # SQLite: would wait on erin's write lock
                connection.execute(text("INSERT INTO users (name) VALUES ('fay')"))
            with other.connect() as connection:
                seen = sorted(connection.execute(text("SELECT name FROM users")).scalars())
            assert seen == ["ada", "erin", "fay"]
        assert names(engine) == names(other) == ["ada"]
    finally:
        uncover(other)
        other.dispose()


def test_an_async_engine_is_covered_in_an_awaited_sandbox(postgres_url: str) -> None:
    """An async engine (SQLAlchemy's asyncio, psycopg's async driver): a commit in `async with
    Sandbox()` is seen inside and gone after, a failed write undoes only itself; entered with
    a plain `with`, the sandbox refuses it (it could not roll it back); the self-check proves it."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from strangler.sandbox.errors import SandboxError

    async def scenario() -> list[object]:
        engine = create_async_engine(postgres_url)
        seen: list[object] = []
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP TABLE IF EXISTS tags"))
                await connection.execute(text("CREATE TABLE tags (name TEXT UNIQUE)"))
                await connection.execute(text("INSERT INTO tags VALUES ('kept')"))
            cover(engine)
            count = text("SELECT count(*) FROM tags")
            async with Sandbox(), AsyncSession(engine) as session:
                await session.execute(text("INSERT INTO tags VALUES ('new')"))
                await session.commit()
                with pytest.raises(IntegrityError):
                    await session.execute(text("INSERT INTO tags VALUES ('kept')"))
                await session.rollback()
                seen.append((await session.execute(count)).scalar())
            async with engine.connect() as connection:
                seen.append((await connection.execute(count)).scalar())
            with Sandbox(), pytest.raises(SandboxError, match="async with"):
                async with engine.connect():
                    pass
            seen.append(check_rollback())
        finally:
            uncover(engine.sync_engine)
            await engine.dispose()
        return seen

    inside, outside, checked = asyncio.run(scenario())
    assert (inside, outside) == (2, 1)
    assert any("postgresql+psycopg" in name for name in checked)  # type: ignore[attr-defined]
