"""Test-only Scrapy extension: writes the close reason, the stats and the spider's crawl state
to the JSON file named by the TEST_STATS_FILE setting (crawls run in a subprocess)."""

import dataclasses
import json

from scrapy import signals


class StatsDump:
    def __init__(self, crawler):
        self.crawler = crawler
        self.path = crawler.settings.get("TEST_STATS_FILE")

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider, reason):
        state = getattr(spider, "crawl_state", None)
        data = {"reason": reason, "stats": self.crawler.stats.get_stats(),
                "crawl_state": dataclasses.asdict(state) if state is not None else None}
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, default=str, indent=1)
