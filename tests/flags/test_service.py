"""Flag changes checked before they are written (strangler.flags.service): what the admin API
and the CLI call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from strangler.flags.errors import InvalidFlag
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import MAX_TEXT
from strangler.flags.service import FlagEntry, FlagService
from strangler.flags.store import open_store
from strangler.flags.watcher import FlagWatcher
from tests.flags.conftest import pair_inventory
from tests.support.waiting import wait_until

LONG = "x" * (MAX_TEXT + 1)


@pytest.fixture
def service() -> FlagService:
    return FlagService(MemoryFlagStore(), pair_inventory())


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.set("GET /items/{item_id}", "migrated", actor="ann", reason=LONG),
        lambda s: s.set("GET /items/{item_id}", "migrated", actor=LONG, reason="go"),
        lambda s: s.shadow("GET /items/{item_id}", 10, actor="ann", reason=LONG),
        lambda s: s.shadow(
            "GET /items/{item_id}", 10, side_effect_free=LONG, actor="ann", reason="go"
        ),
        lambda s: s.apply({"GET /items/{item_id}": FlagEntry("migrated")}, actor=LONG, reason="r"),
    ],
    ids=["set-reason", "set-actor", "shadow-reason", "shadow-declaration", "apply-actor"],
)
def test_a_change_with_text_over_the_limit_is_refused_naming_it(
    service: FlagService, change: Callable[[FlagService], object]
) -> None:
    """Every way of changing a flag refuses a text over MAX_TEXT, says so, and writes nothing."""
    with pytest.raises(InvalidFlag, match="keep it to 1,000"):
        change(service)
    assert service.store.version() == 0


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[FlagService]:
    store = open_store(tmp_path / "flags.db", create=True)
    yield FlagService(store, pair_inventory(), follow_wait=10)  # for a busy machine
    store.close()


@pytest.fixture
def worker(tmp_path: Path, sqlite_service: FlagService) -> Iterator[FlagWatcher]:
    """A gateway worker's watcher on the same file, polling and reporting as one does."""
    watcher = FlagWatcher(open_store(tmp_path / "flags.db"))
    watcher.start()
    wait_until(lambda: sqlite_service.store.readers(10), what="the worker's first report")
    yield watcher
    watcher.close()


def test_a_worker_that_stopped_is_not_counted_as_taking_a_change(
    sqlite_service: FlagService, worker: FlagWatcher
) -> None:
    """A change made after the only worker stopped (killed: its last report is seconds old)
    says nobody took it, and that one worker heard from lately did not (#22)."""
    worker.stop()
    sqlite_service.follow_wait = 0.3  # what it waits for never comes: no need to wait long
    entry = sqlite_service.set("GET /items/{item_id}", "migrated", actor="ann", reason="go")
    assert entry is not None
    changed = sqlite_service.changed(entry)
    assert (changed["readers"], changed["lagging"]) == (0, 1)


def test_five_quick_changes_are_each_taken_by_the_worker_serving(
    sqlite_service: FlagService, worker: FlagWatcher
) -> None:
    """Five changes in a row, each made well before the worker's next periodic report: each
    says the worker took it, none warns (#22: the fifth warned of no reader)."""
    for i, mode in enumerate(["migrated", "legacy", "migrated", "legacy", "migrated"]):
        entry = sqlite_service.set("GET /items/{item_id}", mode, actor="ann", reason=f"q{i}")
        assert entry is not None
        changed = sqlite_service.changed(entry)
        assert (changed["readers"], changed["lagging"]) == (1, 0), f"change {i + 1}"
        assert worker.snapshot.version >= entry.version
