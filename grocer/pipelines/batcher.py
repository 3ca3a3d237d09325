"""Turns per-item pipeline calls into batched database work.

`process_item` awaits `Batcher.submit(payload)`; payloads are collected until `size` are
pending or `delay` seconds passed since the first one, then `flush_fn(payloads)` runs once for
all of them and each caller gets its own result back. Runs on the asyncio event loop (Scrapy's
asyncio reactor, or `asyncio.run` in benchmarks and tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any


class Batcher:
    def __init__(self, flush_fn: Callable[[list], Sequence[Any]], size: int,
                 delay: float = 0.2):
        self.flush_fn = flush_fn
        self.size = size
        self.delay = delay
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, payload):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((payload, future))
        if len(self._pending) >= self.size:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.delay, self.flush)
        return await future

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            results = self.flush_fn([payload for payload, _ in batch])
        except Exception as error:  # every item of the batch learns that it failed
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
