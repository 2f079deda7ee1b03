"""The legacy pool: grows while its threads wait, not while they compute, and shrinks back."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from strangler.bridge.pool import (
    GROW_BELOW,
    SHRINK_ABOVE,
    SPARE_CORES,
    IdleCPUs,
    LegacyPool,
    next_limit,
)
from strangler.serving.cpu import CPUGauge
from tests.support.waiting import wait_until_async

# --- the rule ------------------------------------------------------------------------------------


def test_waiting_jobs_and_an_idle_cpu_grow_the_limit_towards_the_target() -> None:
    """CPU grows about with the threads that wait: aim for TARGET, for no more than waits."""
    assert next_limit(4, busy=0.1, spare=1, waiting=30, minimum=4, maximum=64) == 34
    assert next_limit(4, busy=0.1, spare=1, waiting=10, minimum=4, maximum=64) == 14
    assert next_limit(20, busy=0.5, spare=1, waiting=30, minimum=4, maximum=64) == 34
    assert next_limit(40, busy=0.1, spare=1, waiting=30, minimum=4, maximum=64) == 64
    assert next_limit(4, busy=0.1, spare=1, waiting=1, minimum=4, maximum=64) == 5
    assert next_limit(30, busy=0.79, spare=1, waiting=5, minimum=4, maximum=64) == 33


def test_a_busy_cpu_never_grows_the_limit_however_many_wait() -> None:
    assert next_limit(4, busy=GROW_BELOW, spare=1, waiting=100, minimum=4, maximum=64) == 4
    assert next_limit(4, busy=1.0, spare=1, waiting=100, minimum=4, maximum=64) == 4


def test_a_saturated_cpu_shrinks_the_limit_down_to_the_minimum() -> None:
    assert next_limit(64, busy=SHRINK_ABOVE + 0.01, spare=1, waiting=0, minimum=4, maximum=64) == 56
    assert next_limit(5, busy=1.0, spare=1, waiting=10, minimum=4, maximum=64) == 4
    assert next_limit(4, busy=1.0, spare=1, waiting=10, minimum=4, maximum=64) == 4


def test_no_spare_cpu_on_the_machine_never_grows_the_limit() -> None:
    """A process short of CPU because other processes use it is not waiting on I/O."""
    assert next_limit(4, busy=0.3, spare=SPARE_CORES / 2, waiting=100, minimum=4, maximum=64) == 4


def test_nothing_waiting_and_a_cpu_in_between_keeps_the_limit() -> None:
    assert next_limit(20, busy=0.5, spare=1, waiting=0, minimum=4, maximum=64) == 20
    assert next_limit(20, busy=0.9, spare=1, waiting=5, minimum=4, maximum=64) == 20


def test_a_pool_of_no_threads_is_refused() -> None:
    with pytest.raises(ValueError, match="1 <= min <= max"):
        LegacyPool(0, 4)


# --- the pool, running ---------------------------------------------------------------------------


async def run_all(pool: LegacyPool, jobs: list[Callable[[], None]]) -> int:
    """Submits the jobs at once and waits for them; returns the highest limit seen meanwhile."""
    loop = asyncio.get_running_loop()
    left = len(jobs)
    done = asyncio.Event()

    def finished() -> None:
        nonlocal left
        left -= 1
        if not left:
            done.set()

    def wrap(job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            finally:
                loop.call_soon_threadsafe(finished)

        return run

    for job in jobs:
        pool.submit(wrap(job), loop)
    peak = pool.limit
    while not done.is_set():
        await asyncio.sleep(0.005)  # samples the limit while the jobs run: how far it grew
        peak = max(peak, pool.limit)
    return peak


def wait(seconds: float) -> Callable[[], None]:
    return lambda: time.sleep(seconds)


def compute(seconds: float) -> Callable[[], None]:
    def spin() -> None:  # pure Python: holds the GIL, as a model's code does
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    return spin


async def test_jobs_that_wait_grow_the_pool_past_its_minimum() -> None:
    """64 jobs waiting 100 ms: 4 threads would take 1.6 s; the pool grows and takes far less."""
    pool = LegacyPool(4, 64, idle_exit=1)
    started = time.monotonic()
    peak = await run_all(pool, [wait(0.1) for _ in range(64)])
    assert peak > 16
    assert time.monotonic() - started < 1.0
    pool.shutdown()


async def test_jobs_that_compute_leave_the_pool_near_its_minimum() -> None:
    """CPU-bound jobs: more threads would only share the GIL, so the pool does not grow much."""
    pool = LegacyPool(4, 64, idle_exit=1)
    peak = await run_all(pool, [compute(0.01) for _ in range(60)])
    assert peak <= 8
    pool.shutdown()


class Readings(CPUGauge):
    """The process's CPU as the test says it is: the pool's controller, apart from how busy
    this machine happens to be (a machine kept busy by others cannot show a computing process
    at 95 % of a core: see strangler/bridge/pool.py)."""

    def __init__(self, busy: float) -> None:
        super().__init__()
        self.now = busy

    def read(self) -> float:
        return self.now


class IdleMachine(IdleCPUs):
    """A machine with two idle cores, whatever this one is doing."""

    def cores(self, now: float) -> float:
        return 2.0


async def test_a_pool_grown_for_waits_shrinks_when_its_jobs_compute() -> None:
    """Grown for jobs that wait, the pool gives threads back, an eighth per TICK, once the
    process's CPU says its jobs compute; never below its minimum."""
    cpu = Readings(busy=0.1)  # waiting: the CPU idle
    pool = LegacyPool(4, 64, idle_exit=30, cpu=cpu, idle_cpus=IdleMachine())
    assert await run_all(pool, [wait(0.1) for _ in range(64)]) > 16
    cpu.now = 1.0  # computing: the CPU all taken
    deadline = time.monotonic() + 10
    while pool.limit > 4 and time.monotonic() < deadline:
        await run_all(pool, [compute(0.005) for _ in range(50)])
    assert pool.limit == 4
    pool.shutdown()


async def test_idle_threads_leave_and_come_back_on_demand() -> None:
    pool = LegacyPool(2, 32, idle_exit=0.1)
    await run_all(pool, [wait(0.05) for _ in range(32)])
    assert pool.threads > 2
    await wait_until_async(lambda: pool.threads == 0, what="every idle thread gone")
    await run_all(pool, [wait(0.01) for _ in range(4)])
    assert pool.threads >= 1


async def test_a_pinned_pool_never_grows() -> None:
    """minimum == maximum is the `legacy_threads` setting: 3 threads, whatever the jobs do."""
    pool = LegacyPool(3, 3)
    running, peak = 0, 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    assert await run_all(pool, [job for _ in range(30)]) == 3
    assert peak == 3
    pool.shutdown()


async def test_a_job_that_raises_does_not_cost_a_thread(caplog: pytest.LogCaptureFixture) -> None:
    pool = LegacyPool(1, 1)

    def boom() -> None:
        raise RuntimeError("boom")

    await run_all(pool, [boom, wait(0), boom])
    assert pool.threads == 1
    assert "a legacy job raised" in caplog.text
    pool.shutdown()


def test_idle_cpus_are_read_from_the_machine() -> None:
    """Two readings 0.1 s apart give the idle cores in between: between none and all allowed."""
    idle = IdleCPUs()
    first = idle.cores(time.monotonic())
    time.sleep(IdleCPUs.WINDOW + 0.05)
    second = idle.cores(time.monotonic())
    assert first == float("inf")  # nothing to compare with yet
    assert 0 <= second <= len(os.sched_getaffinity(0)) * 1.2


async def test_a_job_is_never_left_behind_a_thread_that_just_took_another() -> None:
    """A job submitted while the only idle thread is taking the one before gets a thread of
    its own (the limit allows two), not a wait behind a job that may never end."""

    class SlowHandoff(queue.SimpleQueue):  # type: ignore[type-arg]
        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            job = super().get(block, timeout)
            if getattr(job, "slow", False):
                time.sleep(0.05)  # widens the moment between taking a job and running it
            return job

    loop = asyncio.get_running_loop()
    pool = LegacyPool(2, 2)
    pool._jobs = SlowHandoff()
    warm = threading.Event()
    pool.submit(warm.set, loop)
    await asyncio.to_thread(warm.wait)
    await wait_until_async(lambda: pool._free == 1, what="the warm thread idle again")
    release, second = threading.Event(), threading.Event()

    def endless() -> None:
        release.wait(5)

    endless.slow = True  # type: ignore[attr-defined]
    pool.submit(endless, loop)
    # The idle thread has taken `endless` off the queue, and is in SlowHandoff's pause.
    await wait_until_async(lambda: pool._jobs.qsize() == 0, what="`endless` taken")
    pool.submit(second.set, loop)
    assert await asyncio.to_thread(second.wait, 2)
    release.set()
    pool.shutdown()


def test_a_pool_used_from_a_second_event_loop_still_adapts() -> None:
    """Tests run a loop each: the timer left on the first (closed) loop must not stop the pool
    from growing on the next."""
    pool = LegacyPool(2, 64, idle_exit=1)
    asyncio.run(run_all(pool, [wait(0.01) for _ in range(8)]))
    started = time.monotonic()
    assert asyncio.run(run_all(pool, [wait(0.1) for _ in range(40)])) > 8
    assert time.monotonic() - started < 1.5  # 2 threads would take 2 s
    pool.shutdown()
