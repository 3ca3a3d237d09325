"""The four pipelines called directly, without a Scrapy engine: for benchmarks and tests.

The pipelines are the same objects a crawl uses; only the engine around them is replaced by
an asyncio loop that feeds them items concurrently (so the resolve pipeline's batches fill).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable

from scrapy.exceptions import DropItem

from grocer.pipelines.clean import CleanPipeline
from grocer.pipelines.normalize import NormalizePipeline
from grocer.pipelines.prices import PricePipeline
from grocer.pipelines.resolve import ResolvePipeline


class DictStats:
    """The part of Scrapy's stats collector the pipelines use."""

    def __init__(self):
        self.values = defaultdict(int)

    def inc_value(self, key, count=1, start=0):
        self.values[key] += count

    def get_value(self, key, default=None):
        return self.values.get(key, default)

    def set_value(self, key, value):
        self.values[key] = value


class PipelineChain:
    def __init__(self, database_url: str, tables_dir: str, batch_size: int = 1000):
        self.stats = DictStats()
        resolve = ResolvePipeline(database_url, batch_size, self.stats)
        self.pipelines = [
            CleanPipeline(self.stats),
            NormalizePipeline(tables_dir, self.stats),
            resolve,
            # One resolver per crawl, as from_crawler shares it.
            PricePipeline(database_url, batch_size, self.stats, resolver=resolve.resolver),
        ]
        self.concurrency = batch_size

    async def _run(self, items: Iterable, keep: bool) -> list:
        results, chunk = [], []
        for item in items:
            chunk.append(item)
            if len(chunk) == self.concurrency:
                results += self._kept(await self._chunk(chunk), keep)
                chunk = []
        if chunk:
            results += self._kept(await self._chunk(chunk), keep)
        for pipeline in self.pipelines:
            if hasattr(pipeline, "close_spider"):
                closed = pipeline.close_spider()
                if asyncio.iscoroutine(closed):
                    await closed
        return results

    async def _chunk(self, chunk: list) -> list:
        """One chunk through the pipelines stage by stage: synchronous pipelines are plain
        calls, a coroutine pipeline's calls run concurrently (so its batches fill)."""
        results = list(chunk)
        for pipeline in self.pipelines:
            waiting = []
            for index, item in enumerate(results):
                if isinstance(item, BaseException):
                    continue
                try:
                    result = pipeline.process_item(item)
                except DropItem as dropped:
                    results[index] = dropped
                    continue
                if asyncio.iscoroutine(result):
                    waiting.append((index, result))
                else:
                    results[index] = result
            if waiting:
                done = await asyncio.gather(*(c for _, c in waiting), return_exceptions=True)
                for (index, _), result in zip(waiting, done, strict=False):
                    results[index] = result
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, DropItem):
                raise result
        return results

    @staticmethod
    def _kept(results: list, keep: bool) -> list:
        return results if keep else [r for r in results if isinstance(r, DropItem)]

    def run(self, items: Iterable) -> list:
        """Process items like one crawl; returns each item, or the DropItem that stopped it."""
        return asyncio.run(self._run(items, keep=True))

    def feed(self, items: Iterable) -> list[DropItem]:
        """Like `run`, for many items: they are consumed as they come and not kept (a crawl
        never holds all its items either); returns the drops."""
        return asyncio.run(self._run(items, keep=False))
