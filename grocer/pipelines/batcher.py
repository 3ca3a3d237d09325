"""Turns per-item pipeline calls into batched database work that never blocks the event loop.

`process_item` awaits `Batcher.submit(payload)`; payloads are collected until `size` are
pending, `delay` seconds passed since the first one or `pause` seconds since the last one (the
input paused: the end of a store's pages, a slow site), then `flush_fn(payloads)` runs once for
all of them **in a worker thread** and each caller gets its own result back (a result that is
an exception fails that caller only). Every caller is answered whatever fails: a batch that
raises or gives a result too few fails each of its callers, and an `on_batch` (stats) callback
that raises is logged and counted in `grocer/item_errors` (no reconciliation on incomplete
stats) while its callers still get their results. Batches of one pipeline run one after
another, in order (`SerialWorker`): the writers keep per-crawl memory that assumes it; the loop
keeps downloading and parsing meanwhile. Runs on the asyncio event loop (Scrapy's asyncio reactor, or
`asyncio.run` in benchmarks and tests).

`isolate` is the batch isolation every database pipeline uses: a batch the database refuses is
split in halves, recursively, so that only the items it refuses are lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from grocer import stats as keys
from grocer.db.errors import is_unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Sent through crawler.signals by a producer that has handed over its last item (`scrapy
# ingest` at the end of its file): no batch fills any more, so none waits for its delay.
input_ended = object()


class SerialWorker:
    """Runs blocking calls in a thread (one database connection per thread, from the engine's
    pool), one call at a time, in the order they were started."""

    def __init__(self):
        self._last: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()

    def start(self, fn: Callable[..., R], *args) -> asyncio.Task:
        previous = self._last

        async def job():
            if previous is not None and not previous.done():
                await asyncio.wait([previous])  # its outcome is its own caller's business
            return await asyncio.to_thread(fn, *args)

        task = self._last = asyncio.ensure_future(job())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def drain(self) -> None:
        """Wait until every call started so far has ended."""
        while self._running:
            await asyncio.wait(list(self._running))


class Batcher:
    def __init__(self, flush_fn: Callable[[list], Sequence[Any]], size: int,
                 delay: float = 0.2, on_batch: Callable[[Sequence[Any]], None] | None = None,
                 stats=None, pause: float = 0.05):
        self.flush_fn = flush_fn  # runs in the worker thread
        self.on_batch = on_batch  # runs on the loop with each batch's results (stats)
        self.size = size
        self.delay = delay
        # Without it a store's last items waited out `delay` while the crawl had nothing else
        # to do: a store ends only when every item of it is done, so the next could not start.
        self.pause = pause
        self.stats = stats
        self.worker = SerialWorker()
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._timer: asyncio.Handle | None = None
        self._first_at = self._last_at = 0.0  # loop times of the pending batch's arrivals
        self._deliveries: set[asyncio.Task] = set()

    def input_ended(self) -> None:
        """No item comes any more but those in flight: from now on a batch is written once the
        items already handed over have arrived (the loop's next turn), not after `delay`."""
        self.delay = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = asyncio.get_running_loop().call_soon(self.flush)

    async def submit(self, payload):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((payload, future))
        self._last_at = loop.time()
        if len(self._pending) >= self.size:
            self.flush()
        elif self._timer is None:
            self._first_at = self._last_at
            self._timer = loop.call_at(self._due(), self._flush_when_due)
        return await future

    def _due(self) -> float:
        return min(self._first_at + self.delay, self._last_at + self.pause)

    def _flush_when_due(self) -> None:
        """The timer: flush once `delay` passed since the first payload or `pause` since the
        last; one timer per batch, moved on while payloads keep coming."""
        loop = asyncio.get_running_loop()
        if loop.time() >= self._due():
            self.flush()
        else:
            self._timer = loop.call_at(self._due(), self._flush_when_due)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            written = self.worker.start(self.flush_fn, [payload for payload, _ in batch])
            delivery = asyncio.ensure_future(self._deliver(batch, written))
            self._deliveries.add(delivery)
            delivery.add_done_callback(self._deliveries.discard)

    async def _deliver(self, batch, written: asyncio.Task) -> None:
        """Every caller gets an answer, whatever fails: a caller left waiting would hang its
        item (and the crawl's close) forever."""
        try:
            results = await written
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
        except Exception as error:  # every item of the batch learns that it failed
            results = [error] * len(batch)
        try:
            if self.on_batch is not None:
                self.on_batch(results)
        except Exception:  # the batch's stats are incomplete: no reconciliation on them
            logger.exception("counting a batch of %d items failed", len(batch))
            if self.stats is not None:
                self.stats.inc_value(keys.ITEM_ERRORS)
        finally:
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def close(self) -> None:
        """Flush what waits and return once every batch was written and delivered."""
        self.flush()
        while self._deliveries:
            await asyncio.wait(list(self._deliveries))


def isolate(work: Callable[[list[T]], R], items: Sequence[T]
            ) -> tuple[list[tuple[list[T], R]], list[tuple[T, Exception]]]:
    """`work(items)`, and when the database refuses it, `work` of each half, recursively: only
    the items it refuses are lost. Returns ([(part, its result)], [(lost item, its error)]).

    An unavailable database (no answer, a timeout) is not split: the part and everything not
    yet written are lost with that error at once, without waiting for the database again."""
    done: list[tuple[list[T], R]] = []
    lost: list[tuple[T, Exception]] = []
    down: Exception | None = None
    # A loop over a stack of parts, not a recursive closure: a closure that calls itself is a
    # reference cycle, which kept every batch's rows alive until the next full collection.
    parts = [list(items)] if items else []
    while parts:
        part = parts.pop()
        if down is not None:
            lost.extend((item, down) for item in part)
            continue
        try:
            done.append((part, work(part)))
            continue
        except Exception as error:
            if is_unavailable(error):
                down = error
            if down is not None or len(part) == 1:
                lost.extend((item, error) for item in part)
                continue
        middle = len(part) // 2
        parts += [part[middle:], part[:middle]]  # the first half is tried first
    return done, lost


def isolate_each(work: Callable[[list[int]], Sequence[R]], count: int) -> list:
    """`isolate` over the indices of a batch of `count` payloads, for `work` that gives one
    result per index: each payload's result, or the error that lost it (a Batcher's answers)."""
    done, lost = isolate(work, range(count))
    results: list = [None] * count
    for indices, part_results in done:
        for index, result in zip(indices, part_results, strict=True):
            results[index] = result
    for index, error in lost:
        results[index] = error
    return results
