"""Fixtures for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from strangler.assembly import Runtime


@pytest.fixture(autouse=True)
def no_strangler_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """STRANGLER_<NAME> variables override settings: one exported in the developer's shell
    (STRANGLER_FLAGS, say) must neither change a test nor let a test write to that store."""
    for name in list(os.environ):
        if name.startswith("STRANGLER_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def every_gateway_stopped(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A gateway starts its threads (watcher, conductor, metrics) at its first request; one a
    test leaves running would go on polling, judging and logging into later tests. Each gateway
    started during a test is stopped after it (stopping twice is harmless)."""
    started: list[Runtime] = []
    start = Runtime.start

    def recorded(runtime: Runtime) -> None:
        started.append(runtime)
        start(runtime)

    monkeypatch.setattr(Runtime, "start", recorded)
    yield
    for runtime in started:
        runtime.close()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """One real PostgreSQL server for the session (started on first use, stopped at the end);
    each module takes a database of its own on it (tests.support.postgres.new_database)."""
    from tests.support.postgres import postgres_server

    with postgres_server() as url:
        yield url
