"""The /predict micro-batcher: coalescing, bounds, bit-identical results, isolation, draining."""

from __future__ import annotations

import asyncio
import json
import random
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import flask.testing
import httpx
import numpy as np
import pytest

from migrated.app import app
from migrated.batcher import MicroBatcher
from migrated.domain import predict_one, predict_rows, prediction_cache
from migrated.settings import BatchSettings
from tests.example.conftest import running_client
from tests.support.waiting import wait_until_async

ClientFactory = Callable[..., AsyncIterator[httpx.AsyncClient]]


def bits(value: float) -> bytes:
    """Returns the IEEE-754 bytes of `value`, so equality means bit-identical (NaN included)."""
    return struct.pack("<d", value)


def random_rows(seed: int, count: int) -> list[list[Any]]:
    """Returns rows of the kinds clients send: floats, ints, mixed, huge, tiny, booleans."""
    rng = random.Random(seed)
    makers: list[Callable[[], Any]] = [
        lambda: rng.uniform(-5, 5),
        lambda: rng.randint(-100, 100),
        lambda: rng.uniform(-1e30, 1e30),
        lambda: rng.uniform(-1e-30, 1e-30),
        lambda: rng.randint(-(2**62), 2**62),
        lambda: rng.random() < 0.5,
        lambda: float(rng.randint(-3, 3)),
    ]
    rows = []
    for _ in range(count):
        if rng.random() < 0.5:  # A row of one kind (int, bool and float arrays all occur)...
            make = rng.choice(makers)
            rows.append([make() for _ in range(10)])
        else:  # ...or a mix, which numpy promotes per row.
            rows.append([rng.choice(makers)() for _ in range(10)])
    return rows


@pytest.fixture
def batching_client(monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    """Returns a factory of migrated-app clients whose batcher uses the given size and wait."""

    def factory(*, max_size: int = 32, max_wait_ms: float = 50) -> AsyncIterator[httpx.AsyncClient]:
        monkeypatch.setenv("ML_BATCH_MAX_SIZE", str(max_size))
        monkeypatch.setenv("ML_BATCH_MAX_WAIT_MS", str(max_wait_ms))
        return running_client(app)

    return factory


async def predict_all(
    client: httpx.AsyncClient, token: str, bodies: Sequence[bytes]
) -> list[httpx.Response]:
    """POSTs every body to /predict at once and returns the responses in order."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    requests = [client.post("/predict", content=body, headers=headers) for body in bodies]
    return list(await asyncio.gather(*requests))


def legacy_answers(
    legacy: flask.testing.FlaskClient, token: str, bodies: Sequence[bytes]
) -> list[tuple[int, bytes]]:
    """Returns legacy's (status, body) for each body, one at a time, each on a fresh cache."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    answers = []
    for body in bodies:
        prediction_cache.clear()
        response = legacy.post("/predict", data=body, headers=headers)
        answers.append((response.status_code, response.data))
    prediction_cache.clear()
    return answers


def test_predict_rows_is_bit_identical_to_single_rows() -> None:
    """Every row predicted in one shared call equals, bit for bit, its legacy single-row call."""
    rows = random_rows(seed=7, count=400)
    together = predict_rows(rows)
    for row, outcome in zip(rows, together, strict=True):
        assert isinstance(outcome, float)
        assert bits(outcome) == bits(predict_one(row))


def test_predict_rows_gives_each_bad_row_its_legacy_error() -> None:
    """Bad rows get exactly the error their single-row call raises; good rows still predict."""
    good = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    bad = [
        [float("inf"), *good[1:]],
        [1e308, *good[1:]],
        ["a", *good[1:]],
        [[1], *good[1:]],
        [[x] for x in good],
        [{}, *good[1:]],
        [10**400, *good[1:]],
    ]
    rows = [good, *bad, [float("nan"), *good[1:]], [None, *good[1:]], ["1", *good[1:]]]
    outcomes = predict_rows(rows)
    for row, outcome in zip(rows, outcomes, strict=True):
        try:
            expected: float | str = bits(predict_one(row)).hex()
        except Exception as exc:
            expected = f"{type(exc).__name__}: {exc}"
        if isinstance(outcome, Exception):
            assert f"{type(outcome).__name__}: {outcome}" == expected
        else:
            assert bits(outcome).hex() == expected


async def test_concurrent_misses_share_model_calls(
    batching_client: ClientFactory, token: str
) -> None:
    """Twenty concurrent cache misses are served by far fewer than twenty model calls."""
    bodies = [json.dumps({"features": row}).encode() for row in random_rows(seed=1, count=20)]
    async for client in batching_client(max_size=32, max_wait_ms=100):
        responses = await predict_all(client, token, bodies)
        stats = app.state.batcher.stats
        assert [r.status_code for r in responses] == [200] * 20
        assert stats.rows == 20
        assert stats.batches <= 3
        assert stats.largest > 1


async def test_batched_answers_are_byte_identical_to_legacy(
    batching_client: ClientFactory, legacy: flask.testing.FlaskClient, token: str
) -> None:
    """Rows predicted together get legacy's exact bytes: their predictions are bit-identical."""
    bodies = [json.dumps({"features": row}).encode() for row in random_rows(seed=2, count=64)]
    expected = legacy_answers(legacy, token, bodies)
    async for client in batching_client(max_size=64, max_wait_ms=200):
        responses = await predict_all(client, token, bodies)
        assert app.state.batcher.stats.largest > 1
    assert [(r.status_code, r.content) for r in responses] == expected


async def test_bad_row_does_not_fail_its_neighbours(
    batching_client: ClientFactory, legacy: flask.testing.FlaskClient, token: str
) -> None:
    """In a shared batch, bad rows get legacy's own 500s while their neighbours get 200s."""
    good = [json.dumps({"features": row}).encode() for row in random_rows(seed=3, count=8)]
    bad = [
        b'{"features":[Infinity,2,3,4,5,6,7,8,9,10]}',
        b'{"features":["a",2,3,4,5,6,7,8,9,10]}',
        b'{"features":[[1],2,3,4,5,6,7,8,9,10]}',
        b'{"features":[NaN,2,3,4,5,6,7,8,9,10]}',
    ]
    bodies = [*good[:4], *bad, *good[4:]]
    expected = legacy_answers(legacy, token, bodies)
    async for client in batching_client(max_size=32, max_wait_ms=200):
        responses = await predict_all(client, token, bodies)
        assert app.state.batcher.stats.batches == 1
    assert [(r.status_code, r.content) for r in responses] == expected
    assert [status for status, _ in expected].count(500) == 3


async def test_batch_size_is_bounded(batching_client: ClientFactory, token: str) -> None:
    """No model call takes more than ML_BATCH_MAX_SIZE rows."""
    bodies = [json.dumps({"features": row}).encode() for row in random_rows(seed=4, count=10)]
    async for client in batching_client(max_size=4, max_wait_ms=100):
        responses = await predict_all(client, token, bodies)
        stats = app.state.batcher.stats
        assert [r.status_code for r in responses] == [200] * 10
        assert stats.largest <= 4
        assert stats.batches >= 3


async def test_inference_runs_off_the_event_loop() -> None:
    """The model call runs in a worker thread, so the event loop keeps serving meanwhile."""
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def slow(rows: Sequence[Any]) -> list[float | Exception]:
        seen.append(threading.get_ident())
        time.sleep(0.05)  # a slow model: the loop must keep ticking meanwhile
        return [0.0 for _ in rows]

    batcher = MicroBatcher(slow, max_size=8, max_wait_s=0.001)
    task = asyncio.create_task(batcher.submit([0] * 10))
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.005)
        ticks += 1
    await batcher.close()
    assert seen
    assert seen[0] != loop_thread
    assert ticks > 3


async def test_rows_queued_while_the_model_is_busy_share_the_next_call() -> None:
    """With no wait, a lone row runs at once, and the rows that queue behind it form one batch."""
    sizes: list[int] = []

    def slow(rows: Sequence[Any]) -> list[float | Exception]:
        sizes.append(len(rows))
        time.sleep(0.05)  # busy long enough for the other rows to queue
        return [0.0 for _ in rows]

    batcher = MicroBatcher(slow, max_size=32, max_wait_s=0.0)
    first = asyncio.create_task(batcher.submit([0]))
    await wait_until_async(lambda: sizes, what="the first row in the model")
    rest = [asyncio.create_task(batcher.submit([i])) for i in range(10)]
    await asyncio.gather(first, *rest)
    await batcher.close()
    assert sizes == [1, 10]


async def test_close_answers_every_queued_row() -> None:
    """Shutting down drains the batcher: every row already submitted still gets its answer."""

    def double_first(rows: Sequence[Any]) -> list[float | Exception]:
        time.sleep(0.02)
        return [float(row[0] * 2) for row in rows]

    batcher = MicroBatcher(double_first, max_size=2, max_wait_s=0.001)
    tasks = [asyncio.create_task(batcher.submit([i])) for i in range(7)]
    await asyncio.sleep(0)  # Let every submit enqueue its row.
    await batcher.close()
    assert [task.result() for task in tasks] == [float(i * 2) for i in range(7)]
    assert await batcher.submit([21]) == 42.0  # A straggler after close is answered directly.


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ML_BATCH_MAX_SIZE and ML_BATCH_MAX_WAIT_MS set the batcher; defaults are 32 and 0 ms."""
    monkeypatch.delenv("ML_BATCH_MAX_SIZE", raising=False)
    monkeypatch.delenv("ML_BATCH_MAX_WAIT_MS", raising=False)
    assert BatchSettings.from_env() == BatchSettings(max_size=32, max_wait_ms=0.0)
    monkeypatch.setenv("ML_BATCH_MAX_SIZE", "8")
    monkeypatch.setenv("ML_BATCH_MAX_WAIT_MS", "0.5")
    assert BatchSettings.from_env() == BatchSettings(max_size=8, max_wait_ms=0.5)


@pytest.mark.parametrize(
    ("name", "value"), [("ML_BATCH_MAX_SIZE", "0"), ("ML_BATCH_MAX_WAIT_MS", "soon")]
)
def test_settings_refuse_nonsense(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """A bad batcher setting fails at startup with a message naming the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        BatchSettings.from_env()


def test_float32_cast_is_what_the_model_does() -> None:
    """A row cast to float32 up front predicts exactly as the raw row does (batching's premise)."""
    for row in random_rows(seed=5, count=50):
        raw = np.array([row])
        assert bits(predict_one(raw.astype(np.float32)[0].tolist())) == bits(predict_one(row))
