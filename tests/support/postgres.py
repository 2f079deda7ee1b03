"""A real PostgreSQL server for tests: a fresh cluster in a temporary folder, on a free loopback
port, stopped after (Debian's `postgresql` package; scripts/setup installs it). Where it cannot be
had, the tests that need it skip and say why.

PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user the
package creates, and its programs run as that user."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Runs a PostgreSQL cluster and yields a SQLAlchemy URL (psycopg 3) of its database
    `test`, owned by the user `test` (password `test`); skips the test if there is none."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs it with apt-get)")
    pytest.importorskip("psycopg")
    with tempfile.TemporaryDirectory(prefix="strangler-pg-") as work:
        folder = Path(work)
        data, sockets = folder / "data", folder / "sockets"
        sockets.mkdir()
        password = folder / "password"
        password.write_text("test\n")
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
            shutil.chown(sockets, "postgres", "postgres")
            shutil.chown(password, "postgres", "postgres")
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "test", "--pwfile", str(password)]
        initdb += ["-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale", "C"]
        subprocess.run(_as_owner(initdb), check=True, capture_output=True)
        port = free_port()
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l"]
        start += [str(folder / "log"), "-w", "-t", "60", "start"]
        subprocess.run(_as_owner(start), check=True, capture_output=True)
        try:
            _create_database(port)
            yield f"postgresql+psycopg://test:test@127.0.0.1:{port}/test"
        finally:
            stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run(_as_owner(stop), capture_output=True)


def new_database(url: str, name: str) -> str:
    """A database `name` of its own on the cluster at `url` (made now, empty; one per test
    module, so modules with tables of the same name do not meet); returns its URL."""
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    _create_database(port, name)
    return url.rsplit("/", 1)[0] + f"/{name}"


def _create_database(port: int, name: str = "test") -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user="test", password="test", dbname="postgres"
            ) as connection:
                connection.autocommit = True
                connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                connection.execute(f'CREATE DATABASE "{name}"')
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
