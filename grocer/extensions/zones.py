"""`ZoneRecorder`: stores the decisions of a zone crawl (`-a by=zone`) when it closes.

Runs on `spider_closed` — after the item pipelines flushed the members' overrides — before
reconciliation, whatever the close reason: a basket check that was decided is a fact even when
the crawl stopped later. The SQL lives in grocer.db.zones; the work runs in a thread.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from grocer.db.engine import engine_from_settings
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)


class ZoneRecorder:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    async def spider_closed(self, spider, reason):
        decisions = getattr(spider, "zone_decisions", None)
        if not decisions:
            return
        await maybe_deferred_to_future(threads.deferToThread(self.record, spider, decisions))

    def record(self, spider, decisions) -> None:
        # Imported here: the extension is enabled in every crawl and ingest, zones are only a
        # zone crawl's (grocer.db.zones imports the zone assigner).
        from grocer.db.zones import record_decisions

        try:
            zones = record_decisions(engine_from_settings(self.crawler.settings), spider.company,
                                     decisions.values(), spider.basket_slugs, utcnow())
        except Exception:
            logger.exception("price zones: the decisions of %d stores could not be stored",
                             len(decisions))
            self.crawler.stats.inc_value("grocer/zones/record_failed")
            return
        self.crawler.stats.set_value("grocer/zones/zones", len(set(zones.values())))
        logger.info("price zones: %d stores in %d zones stored", len(zones),
                    len(set(zones.values())))
