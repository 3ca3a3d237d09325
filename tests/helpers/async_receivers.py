"""Test-only Scrapy extension with coroutine receivers of the per-item signals: each counts into
the stats after an await, so a dispatch that does not await them counts nothing."""

import asyncio

from scrapy import signals


class AsyncItemCounter:
    def __init__(self, crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        return extension

    async def item_scraped(self, item, spider):
        await asyncio.sleep(0)
        self.stats.inc_value("test/async_scraped")

    async def item_dropped(self, item, spider, exception):
        await asyncio.sleep(0)
        self.stats.inc_value("test/async_dropped")
