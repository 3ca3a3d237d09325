"""The four pipelines called directly, without a Scrapy engine: for benchmarks and tests.

The pipelines are the same objects a crawl uses; only the engine around them is replaced by
an asyncio loop that feeds them items concurrently (so the resolve pipeline's batches fill).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict

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
        self.pipelines = [
            CleanPipeline(self.stats),
            NormalizePipeline(tables_dir, self.stats),
            ResolvePipeline(database_url, batch_size, self.stats),
            PricePipeline(database_url, batch_size, self.stats),
        ]
        self.concurrency = batch_size

    async def _one(self, item):
        for pipeline in self.pipelines:
            result = pipeline.process_item(item)
            item = await result if inspect.isawaitable(result) else result
        return item

    async def _run(self, items):
        results = []
        for start in range(0, len(items), self.concurrency):
            results += await asyncio.gather(
                *(self._one(item) for item in items[start:start + self.concurrency]),
                return_exceptions=True)
        for pipeline in self.pipelines:
            if hasattr(pipeline, "close_spider"):
                pipeline.close_spider()
        return results

    def run(self, items: list) -> list:
        """Process items like one crawl; returns each item, or the DropItem that stopped it."""
        results = asyncio.run(self._run(list(items)))
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, DropItem):
                raise result
        return results
