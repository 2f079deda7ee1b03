"""The Redis store against a real redis-server: what SQLite's tests cannot say about it (#15)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import Flag
from strangler.flags.service import FlagService
from strangler.flags.store import open_store
from strangler.flags.watcher import FlagWatcher
from strangler.metrics.counters import GatewayMetrics
from strangler.types import Mode
from tests.flags.conftest import pair_inventory
from tests.support.cli import pair_cli
from tests.support.redis_server import listeners, redis_server
from tests.support.servers import free_port
from tests.support.waiting import wait_until


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as found:
        yield found


def test_a_store_is_created_on_purpose_and_never_by_a_read(url: str) -> None:
    with pytest.raises(FlagStoreError, match=r"no flag store at redis://127\.0\.0\.1"):
        open_store(url).version()
    open_store(url, create=True).version()
    assert open_store(url).version() == 0


def test_a_change_is_pushed_to_a_watcher_before_its_poll(url: str) -> None:
    """A watcher polling every 30 s still sees a change long before its poll: it listens for it."""
    writer = open_store(url, create=True)
    watcher = FlagWatcher(open_store(url), interval=30)
    watcher.start()
    try:
        wait_until(lambda: listeners(url), what="the watcher listening")
        started = time.monotonic()
        writer.set("GET /a", Flag.build("migrated"), actor="ann", reason="go")
        wait_until(lambda: watcher.snapshot.version == 1, every=0.005, what="the change pushed")
        # Milliseconds on a quiet machine; the bar is the poll's 30 s, which a push beats by far
        # even when both cores are busy and the watcher's thread waits for a turn.
        assert time.monotonic() - started < 10
    finally:
        watcher.close()
        writer.close()


def _writer(url: str, worker: int, count: int) -> None:
    store = open_store(url)
    for i in range(count):
        percentage = float((worker * count + i) % 100)
        store.set(
            f"GET /e{i % 5}", Flag.build("canary", percentage), actor=f"w{worker}", reason="x"
        )
    store.close()


def test_four_processes_of_100_changes_lose_nothing(url: str) -> None:
    open_store(url, create=True).version()
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(url, w, 100)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0
    store = open_store(url)
    assert store.version() == 400
    history = store.history(limit=1000)
    assert len(history) == 400
    assert sorted(entry.version for entry in history) == list(range(1, 401))
    # Each entry's `before` is the `after` of the change before it on that endpoint.
    last: dict[str, Flag] = {}
    for entry in sorted(history, key=lambda e: e.version):
        assert entry.before == last.get(entry.endpoint)
        last[entry.endpoint] = entry.after
    assert dict(store.snapshot().flags) == last


def test_redis_down_is_a_store_fault_and_back_is_caught_up(tmp_path: Path) -> None:
    """A watcher keeps its last good table while Redis is away (degraded), and hears of a change
    made while it was cut off once Redis is back."""
    with redis_server(tmp_path) as url:
        store = open_store(url, create=True)
        store.set("GET /a", Flag.build("migrated"), actor="ann", reason="go")
        watcher = FlagWatcher(open_store(url), interval=0.1)
        watcher.start()
        wait_until(lambda: listeners(url), what="the watcher listening")
    # Redis is stopped here.
    wait_until(lambda: watcher.health()["status"] == "degraded", what="the watcher degraded")
    assert watcher.snapshot.flags["GET /a"] == Flag.build("migrated")
    watcher.close()
    threading.Event().wait(0)  # nothing left running


def test_a_sqlite_store_moves_to_redis_with_its_history(url: str, tmp_path: Path) -> None:
    """`flags export --with-history` from SQLite and `flags import` into a new Redis store: the
    same flags, version and audit trail, and the next change continues the trail."""
    run, invoke = pair_cli(tmp_path)
    run("flags", "init")
    run("flags", "set", "GET /work", "canary", "25", "-m", "try", "--actor", "ann")
    run("flags", "set", "GET /work", "migrated", "-m", "go", "--actor", "bob")
    run("flags", "set", "GET /other", "migrated", "-m", "too", "--actor", "ann")
    export = tmp_path / "store.json"
    assert "the flags and 3 audit entries" in run("flags", "export", str(export), "--with-history")
    assert "created the flag store redis://" in run("flags", "init", "--flags", url)
    assert "exists at redis://" in run("flags", "init", "--flags", url)
    loaded = run("flags", "import", str(export), "--flags", url)
    assert "loaded 2 flag(s) and 3 audit entries" in loaded
    old, new = open_store(tmp_path / "flags.db"), open_store(url)
    assert new.snapshot() == old.snapshot()
    assert new.history() == old.history()
    new.set("GET /work", Flag.build("legacy"), actor="cy", reason="back")
    assert [e.version for e in new.history()] == [4, 3, 2, 1]
    again = invoke("flags", "import", str(export), "--flags", url)
    assert again.exit_code == 2
    assert "has flags or history already" in again.output


def test_messages_never_show_the_password() -> None:
    from strangler.flags.redis import redacted

    assert redacted("redis://:s3cret@db:6379/0") == "redis://:***@db:6379/0"
    assert redacted("rediss://ann:s3cret@db/0") == "rediss://ann:***@db/0"
    assert redacted("redis://db:6379/0") == "redis://db:6379/0"
    assert redacted("redis://db:6379/0?password=s3cret") == "redis://db:6379/0?password=***"
    with pytest.raises(FlagStoreError) as refused:
        open_store(f"redis://:s3cret@127.0.0.1:{free_port()}/0").version()
    assert "s3cret" not in str(refused.value)


def test_a_flushed_store_is_a_fault_not_an_invitation(url: str) -> None:
    """A store this worker knew, flushed away: it says so, rather than suggest `flags init`
    (which would make a store the running workers refuse)."""
    import redis

    store = open_store(url, create=True)
    store.version()
    redis.Redis.from_url(url).flushall()
    with pytest.raises(FlagStoreError, match="was deleted"):
        store.version()
    with pytest.raises(FlagStoreError, match="was deleted"):
        store.note_reader("w1", 0)  # no heartbeat into whatever comes next


@pytest.mark.parametrize(
    "field",
    [
        '{"mode": "canary", "percentage": 500}',
        '{"mode": "canary", "percentage": -1}',
        '{"mode": "migrated", "percentage": 100, "shadow": 1e9}',
        '{"mode": "sideways", "percentage": 0}',
        "42",
        '{"mode": "legacy", "percentage": 0, "segments": ["header:X-Tenant->migrated"]}',
        '{"mode": "legacy", "percentage": 0, "segments": "cookie:a=1->migrated"}',
    ],
    ids=[
        "percentage-500",
        "percentage-minus-1",
        "shadow-1e9",
        "unknown-mode",
        "not-a-flag",
        "segment-without-value",
        "segments-not-a-list",
    ],
)
def test_a_bad_flag_written_behind_the_store_is_a_fault(url: str, field: str) -> None:
    """A flag out of range written straight into Redis is not routed by: the watcher keeps the
    last good table, health says degraded naming the field, store-up says 0 (#22)."""
    import redis

    store = open_store(url, create=True)
    store.set("GET /a", Flag.build("canary", 25), actor="ann", reason="try")
    watcher = FlagWatcher(open_store(url))
    metrics = GatewayMetrics()
    raw = redis.Redis.from_url(url)
    raw.hset("strangler:flags", "GET /a", field)
    raw.incr("strangler:version")
    raw.close()
    watcher.refresh()
    metrics.sync(watcher, None)
    assert watcher.snapshot.flags["GET /a"] == Flag(Mode.CANARY, 25.0)
    assert watcher.health()["status"] == "degraded"
    assert "bad flag for 'GET /a'" in watcher.health()["error"]
    assert metrics.registry.get_sample_value("strangler_flag_store_up") == 0
    watcher.close()
    store.close()


def test_a_pushed_change_is_said_taken_before_the_workers_next_poll(url: str) -> None:
    """A worker polling every 30 s takes a pushed change at once and reports it: the change
    says one worker took it, without waiting for that poll (#22)."""
    writer = open_store(url, create=True)
    writer.snapshot()  # the store is created on first use: before the worker's first read
    watcher = FlagWatcher(open_store(url), interval=30)
    watcher.start()
    try:
        wait_until(lambda: writer.readers(10), what="the worker's first report")
        # Well short of its poll, and long enough for a busy machine.
        service = FlagService(writer, pair_inventory(), follow_wait=10)
        entry = service.set("GET /items/{item_id}", "migrated", actor="ann", reason="go")
        assert entry is not None
        changed = service.changed(entry)
        assert (changed["readers"], changed["lagging"]) == (1, 0)
    finally:
        watcher.close()
        writer.close()


def test_threads_that_first_use_a_new_store_at_once_all_find_it(url: str) -> None:
    """Threads whose first call on a store opened with `create` come at once all find the store
    (one creates it): none takes the others' creation for a flushed store. A CI run lost a
    thread so ("was deleted (flushed?)"), reading None before another thread created it."""
    from strangler.flags.redis import RedisFlagStore

    failures: list[BaseException] = []
    for round_ in range(40):
        store = RedisFlagStore(url, create=True, prefix=f"race{round_}:")
        start = threading.Barrier(8)

        def first_use(store: RedisFlagStore = store, start: threading.Barrier = start) -> None:
            start.wait(timeout=10)
            try:
                store.version()
            except FlagStoreError as exc:
                failures.append(exc)

        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        store.close()
    assert failures == []
