"""What the two database pipelines (resolve, prices) share: engine, store directory, batch
size and stats. Not a pipeline itself."""

from __future__ import annotations

import logging

from grocer.db.engine import get_engine
from grocer.db.stores import StoreDirectory


class DatabasePipeline:
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None):
        self.engine = get_engine(database_url)
        self.directory = StoreDirectory(self.engine, logging.getLogger(type(self).__module__))
        self.batch_size = batch_size
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(settings.get("GROCER_DATABASE_URL"), settings.getint("GROCER_BATCH_SIZE"),
                   crawler.stats)

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None and count:
            self.stats.inc_value(key, count)
