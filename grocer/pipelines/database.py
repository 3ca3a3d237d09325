"""What the database pipelines (resolve, prices, barcodes) share: engine, store directory, batch
size, stats, the crawl's product resolver, how a lost item and a failed batch are counted, and
what happens when the database stops answering. Not a pipeline itself.

Their database work runs in worker threads (grocer.pipelines.batcher); stats are counted on the
event loop only. A database that does not answer within GROCER_DB_TIMEOUT fails the batch; the
first such failure closes the crawl with reason `db_errors` and later batches are lost at once
(every item counted lost), so a dead database ends the crawl instead of hanging it.
"""

from __future__ import annotations

import logging
import weakref

from scrapy.exceptions import DropItem

from grocer import outcome
from grocer import stats as keys
from grocer.db.engine import DEFAULT_TIMEOUT, get_engine
from grocer.db.errors import DatabaseUnavailable, describe, is_unavailable
from grocer.db.resolution import ProductResolver
from grocer.db.stores import StoreDirectory

logger = logging.getLogger(__name__)

# One resolver per crawl, shared by both pipelines: a price batch that finds a product merged
# away tells the resolver to forget it.
_resolvers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class DatabasePipeline:
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None, *,
                 resolver: ProductResolver | None = None, timeout: float = DEFAULT_TIMEOUT,
                 crawler=None):
        self.engine = get_engine(database_url, timeout)
        self.directory = StoreDirectory(self.engine, logging.getLogger(type(self).__module__))
        self.resolver = resolver or ProductResolver(self.engine)
        self.batch_size = batch_size
        self.stats = stats
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        timeout = settings.getfloat("GROCER_DB_TIMEOUT")
        engine = get_engine(settings.get("GROCER_DATABASE_URL"), timeout)
        resolver = _resolvers.get(crawler)
        if resolver is None:  # the first of the crawl's database pipelines makes it
            resolver = _resolvers[crawler] = ProductResolver(engine)
        return cls(settings.get("GROCER_DATABASE_URL"), settings.getint("GROCER_BATCH_SIZE"),
                   crawler.stats, resolver=resolver, timeout=timeout, crawler=crawler)

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None and count:
            self.stats.inc_value(key, count)

    def lost_item(self, store_code: str | None, error: BaseException) -> DropItem:
        """A valid item its database batch lost: counted lost (its store fails, the crawl
        closes `db_errors`); the DropItem to raise, which the crawl health does not count as a
        drop."""
        keys.item_lost(self.stats, store_code, keys.DB_ERROR)
        return DropItem(f"{keys.DB_ERROR}: {error.__class__.__name__}", log_level="DEBUG")

    def batch_failed(self, errors: list[BaseException], counter: str) -> None:
        """On the loop, once per batch that lost items (`errors`: one per lost item, counted
        in `counter`): any loss forbids reconciliation (delisting); an unavailable database
        closes the crawl."""
        self._inc(keys.DB_ERRORS)
        self._inc(counter, len(errors))
        unavailable = next((error for error in errors if is_unavailable(error)), None)
        if unavailable is not None:
            self.database_down(unavailable)

    # --- an unavailable database (worker thread: check; event loop: declare) -----------------

    def check_available(self) -> None:
        """In the worker thread, before a batch: fail at once once the database was found
        unavailable, rather than wait for it again."""
        if self.stats is not None and self.stats.get_value(keys.DB_UNAVAILABLE):
            raise DatabaseUnavailable("the database stopped answering earlier in this crawl")

    def database_down(self, error: BaseException) -> None:
        """On the loop: the first unavailable error closes the crawl with `db_errors`."""
        if self.stats is None or self.stats.get_value(keys.DB_UNAVAILABLE):
            return
        self.stats.set_value(keys.DB_UNAVAILABLE, 1)
        logger.error("%s: the crawl closes (%s); what it did not write is counted lost",
                     describe(error, self.engine), outcome.DB_ERRORS)
        if self.crawler is not None:
            outcome.close_crawl(self.crawler, outcome.DB_ERRORS)
