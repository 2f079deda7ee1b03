"""A dynamic micro-batcher: concurrent single-row predictions share one model call.

Requests `await submit(row)`; one collector task takes the first waiting row and every row
already queued behind it (they arrived while the model was busy: batches grow with load on
their own), then waits up to `max_wait` for more while the batch holds fewer than `max_size`
rows, and runs `predict_rows` on the whole batch in a worker thread (never on the event loop).
With `max_wait` 0 a lone request is predicted at once and only queued rows are coalesced.

`predict_rows` returns one outcome per row (a float, or the exception that row alone raises),
which is what keeps a bad row from failing its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

PredictRows = Callable[[Sequence[Any]], list[float | Exception]]


@dataclass
class BatchStats:
    """Counts for tests and operators: model calls made, rows they served, the largest batch."""

    batches: int = 0
    rows: int = 0
    largest: int = 0


class MicroBatcher:
    """Coalesces `submit` calls into `predict_rows` calls of at most `max_size` rows."""

    def __init__(self, predict_rows: PredictRows, *, max_size: int, max_wait_s: float) -> None:
        self._predict_rows = predict_rows
        self._max_size = max_size
        self._max_wait_s = max_wait_s
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[float]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = BatchStats()

    async def start(self) -> None:
        """Starts the collector task on the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._collect(), name="micro-batcher")

    async def submit(self, row: Any) -> float:
        """Returns the prediction for `row`, or raises the exception it alone would raise."""
        if self._closing:
            # Shutting down: answer this straggler on its own rather than refuse it.
            (outcome,) = await asyncio.to_thread(self._predict_rows, [row])
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        await self.start()  # Normally done by the lifespan; also covers apps mounted without it.
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, future))
        return await future

    async def close(self) -> None:
        """Stops taking rows, answers every row already queued, then stops the collector."""
        self._closing = True
        if self._task is None:
            return
        await self._queue.join()  # Drain: every queued row gets its answer first.
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            deadline = loop.time() + self._max_wait_s
            while len(batch) < self._max_size:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            try:
                await self._run(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _run(self, batch: list[tuple[Any, asyncio.Future[float]]]) -> None:
        rows = [row for row, _ in batch]
        try:
            outcomes = await asyncio.to_thread(self._predict_rows, rows)
        except Exception as exc:  # predict_rows should not raise; if it does, nobody hangs.
            outcomes = [exc] * len(rows)
        self.stats.batches += 1
        self.stats.rows += len(rows)
        self.stats.largest = max(self.stats.largest, len(rows))
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # The client went away; nobody is waiting for this answer.
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
