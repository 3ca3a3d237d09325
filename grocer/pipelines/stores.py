"""StorePipeline: the store locators' items into the database, through the code `scrapy
loadstores` loads a file with (`grocer.db.stores.load_stores`).

A chain has at most a few thousand stores, so items are kept until the crawl closes; then one
transaction (in a thread, off the reactor) adds new stores, updates changed ones and - only
after a complete sweep (every point done, none failed, some store found) - marks the chain's
stores the locator no longer lists closed. An incomplete sweep (a failed point, a shutdown, a
block) still adds and updates what it found. Stats: grocer/stores/items, …/created, …/updated,
…/reopened, …/unchanged, …/closed, …/close_refused.
"""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from grocer import stats as keys
from grocer.chains import get_chain
from grocer.db.engine import get_engine
from grocer.db.migrate import prepare_schema
from grocer.db.stores import LoadResult, Sweep, load_stores
from grocer.storelist import SIMPLE_COLUMNS, StoreList, StoreRow

logger = logging.getLogger(__name__)


def store_row(item) -> StoreRow:
    """The row `scrapy loadstores` would read for this item from a feed."""
    adapter = ItemAdapter(item)
    chain = get_chain(adapter["company"])
    values = {column: adapter.get(column) for column in SIMPLE_COLUMNS[2:]}
    values.update({column: str(value) for column, value in values.items()
                   if value is not None and column in ("latitude", "longitude")})
    return StoreRow(company=chain.name, store_code=adapter["store_code"], **values)


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.engine = get_engine(settings.get("GROCER_DATABASE_URL"))
        self.max_closed_share = settings.getfloat("GROCER_STORES_MAX_CLOSED_SHARE")
        self.rows: dict[str, StoreRow] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def open_spider(self):
        # A database that cannot take the stores fails the crawl before the sweep, not after.
        await maybe_deferred_to_future(threads.deferToThread(prepare_schema, self.engine, logger))

    def process_item(self, item):
        row = store_row(item)
        if row.store_code in self.rows:
            raise DropItem(f"store {row.store_code} listed twice")
        self.rows[row.store_code] = row
        self.stats.inc_value("grocer/stores/items")
        return item

    async def close_spider(self):
        spider = self.crawler.spider
        chain = get_chain(spider.company)
        sweep = None
        if spider.sweep_complete():
            sweep = Sweep(chain.name, spider.divisions, self.max_closed_share)
        else:
            logger.warning("%s: the sweep is incomplete: the stores found are loaded, none is "
                           "closed", spider.name)
        store_list = StoreList(rows=list(self.rows.values()), companies={chain.name: None})
        try:
            result = await maybe_deferred_to_future(
                threads.deferToThread(load_stores, self.engine, store_list, sweep))
        except Exception:
            self.stats.inc_value(keys.DB_ERRORS)
            logger.exception("%s: the %d stores found could not be stored", spider.name,
                             len(self.rows))
            return
        self.report(spider, chain.name, result)

    def report(self, spider, company: str, result: LoadResult) -> None:
        for name in ("created", "updated", "reopened", "unchanged", "closed", "close_refused"):
            self.stats.set_value(f"grocer/stores/{name}", getattr(result, name))
        logger.info("%s stores: %d listed; %d created, %d updated, %d reopened, %d unchanged, "
                    "%d closed", company, len(self.rows), result.created, result.updated,
                    result.reopened, result.unchanged, result.closed)
        if result.close_refused:
            logger.error("%s: %d %s stores are no longer listed - over "
                         "GROCER_STORES_MAX_CLOSED_SHARE (%.0f%%) of them, so none was closed; "
                         "a finer sweep (-a step=) or a larger share closes them", spider.name,
                         result.close_refused, company, self.max_closed_share * 100)
