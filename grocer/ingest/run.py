"""`scrapy ingest` without the crawl engine: the file's items go straight into the project's item
pipelines, built and driven through Scrapy's public API.

A real `Crawler` carries the settings, stats, signals and extensions (CrawlHealth, the
reconciliation, Scrapy's CoreStats), so everything that reads them sees what it sees after a
crawl: the same stats keys, `item_scraped` / `item_dropped` / `item_error` per item,
`spider_idle` at the end (the error budget's last check), `spider_closed` with the close reason
(reconciliation on `finished`) and the CrawlRun. Only the engine is missing: no scheduler, no
downloader, no spider middleware per item - which is what made the engine-driven ingest run at
a tenth of the pipelines' speed.

Items are processed concurrently (up to a window of twice the batch size in flight), so the
resolve pipeline's batches fill at once instead of waiting for their timer; at the end of the
file the pipelines hear `input_ended`, so the last batch does not wait for it either.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import signal
import time
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DropItem
from scrapy.extension import ExtensionManager
from scrapy.utils.log import logformatter_adapter
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.misc import build_from_crawler, load_object
from pydispatch.dispatcher import getAllReceivers, liveReceivers
from twisted.python.failure import Failure

from grocer.extensions.logformatter import log_level
from grocer import outcome
from grocer import stats as keys
from grocer.crawlstate import CrawlState
from grocer.db.engine import engine_from_settings
from grocer.db.migrate import prepare_schema
from grocer.ingest.lines import BadLine, LineReader, parse_line
from grocer.pipelines.batcher import input_ended

logger = logging.getLogger(__name__)

INVALID_LINES = "grocer/ingest/invalid_lines"
LINES = "grocer/ingest/lines"
# Invalid lines logged one by one; the rest only counted.
LOGGED_INVALID_LINES = 20
SHUTDOWN = "shutdown"  # Scrapy's own reason for a crawl stopped by Ctrl-C
PER_ITEM_SIGNALS = (signals.item_scraped, signals.item_dropped, signals.item_error)


class IngestSource(Spider):
    """The crawler's spider: the identity the extensions, the logs and the CrawlRun see. No
    engine runs it and it makes no request; it holds the run's CrawlState and lets an
    extension close the run (`close_run`, as it would ask the engine to close a crawl)."""

    name = "ingest"
    # Extensions that drive an engine have nothing to do here; progress lines replace LogStats.
    custom_settings = {"AUTOTHROTTLE_ENABLED": False, "LOGSTATS_INTERVAL": 0,
                       "TELNETCONSOLE_ENABLED": False}

    def __init__(self, company: str | None = None, **kwargs):
        super().__init__(**kwargs)
        # Replays never delist: a file is no proof that a product left the shelf.
        self.crawl_state = CrawlState(company=company or "ingest", partial=True)
        self.close_reason: str | None = None

    def close_run(self, reason: str) -> None:
        """Stop reading the file; the items in flight finish, then the run closes."""
        self.close_reason = self.close_reason or reason


class Ingest:
    def __init__(self, settings, path: str | Path, company: str | None = None,
                 store: str | None = None):
        self.path = Path(path)
        self.company = company.strip().lower() if company else None
        self.store = store
        self.crawler = Crawler(IngestSource, settings)
        self.settings = self.crawler.settings
        self.window = max(2 * self.settings.getint("GROCER_BATCH_SIZE"), 100)
        self.progress_every = self.settings.getfloat("GROCER_INGEST_PROGRESS_SECONDS")
        # Scrapy's log handler drops records under LOG_LEVEL, but only after they are built:
        # the per-item "Scraped from" record alone was a twentieth of the ingest's time.
        self.log_threshold = log_level(self.settings)
        self.lines = 0
        self.invalid = 0
        self.processed = 0
        self.in_flight: set[asyncio.Task] = set()

    # --- the run ------------------------------------------------------------------------------

    async def run(self) -> str:
        """Ingest the file; the close reason (grocer.outcome)."""
        crawler = self.crawler
        crawler.stats = load_object(self.settings["STATS_CLASS"])(crawler)
        crawler.logformatter = build_from_crawler(load_object(self.settings["LOG_FORMATTER"]),
                                                  crawler)
        self.spider = crawler.spider = IngestSource.from_crawler(crawler,
                                                                 company=self.company)
        crawler.extensions = ExtensionManager.from_crawler(crawler)
        self.pipelines = ItemPipelineManager.from_crawler(crawler)
        self.settings.freeze()
        engine = engine_from_settings(self.settings)
        await asyncio.to_thread(prepare_schema, engine, logger)

        crawler.stats.open_spider()
        await self.pipelines.open_spider_async()
        await crawler.signals.send_catch_log_async(signals.spider_opened, spider=self.spider)
        self.synchronous = {signal for signal in PER_ITEM_SIGNALS if not any(
            inspect.iscoroutinefunction(receiver) or inspect.isasyncgenfunction(receiver)
            for receiver in liveReceivers(getAllReceivers(crawler.signals.sender, signal)))}
        # What the start-up built (modules, settings, the pipelines) lives until the process
        # ends: the collections the feed's allocations trigger no longer walk it each time.
        gc.freeze()
        await self.feed()
        reason = await self.close_reason()
        await self.pipelines.close_spider_async()
        await crawler.signals.send_catch_log_async(signals.spider_closed, spider=self.spider,
                                                   reason=reason)
        crawler.stats.close_spider(reason=reason)
        engine.dispose()  # SQLite folds its write-ahead log into the file now, not at exit
        return reason

    async def feed(self) -> None:
        reader = LineReader(self.path)
        self.room = asyncio.Event()
        self.started = self.last_progress = time.monotonic()
        try:
            for line in reader:
                if self.spider.close_reason is not None:
                    break
                self.lines += 1
                try:
                    item = parse_line(line.data, self.company, self.store)
                except BadLine as error:
                    self.bad_line(line.number, error)
                    continue
                task = asyncio.ensure_future(self.process(item))
                self.in_flight.add(task)
                task.add_done_callback(self.item_done)
                if len(self.in_flight) >= self.window:
                    # Wait for half the window at once: waking per item would cost a wait
                    # over every task in flight, each time.
                    self.room.clear()
                    await self.room.wait()
                    self.progress(line.number, line.position, reader.size)
        except (OSError, EOFError) as error:  # a truncated or corrupt gzip stream
            self.lines += 1
            self.bad_line(self.lines, f"the file cannot be read on: {error}")
        # The last batches are written as soon as their items arrive, not after their delay.
        self.crawler.signals.send_catch_log(input_ended)
        if self.in_flight:
            await asyncio.wait(self.in_flight)
        self.crawler.stats.set_value(LINES, self.lines)

    def item_done(self, task: asyncio.Task) -> None:
        self.in_flight.discard(task)
        if len(self.in_flight) <= self.window // 2:
            self.room.set()

    async def process(self, item) -> None:
        """One item through the pipelines, with the signals and logs the engine's scraper
        sends for it."""
        crawler, spider = self.crawler, self.spider
        try:
            output = await self.pipelines.process_item_async(item)
        except DropItem as drop:
            self.log(crawler.logformatter.dropped(item, drop, None, spider), item)
            await self.send(signals.item_dropped, item=item, response=None, spider=spider,
                            exception=drop)
        except Exception as error:
            logkws = crawler.logformatter.item_error(item, error, None, spider)
            logger.log(*logformatter_adapter(logkws), extra={"spider": spider},
                       exc_info=True)
            await self.send(signals.item_error, item=item, response=None, spider=spider,
                            failure=Failure())
        else:
            self.log(crawler.logformatter.scraped(output, None, spider), output)
            await self.send(signals.item_scraped, item=output, response=None, spider=spider)
        finally:
            self.processed += 1

    async def send(self, signal, **kwargs) -> None:
        """A per-item signal, as the engine's scraper sends it. When no receiver is a
        coroutine function (CoreStats, CrawlHealth, the feed exporter), the synchronous
        dispatch calls them the same way without a task per receiver and item, which was
        a tenth of the ingest's time."""
        if signal in self.synchronous:
            self.crawler.signals.send_catch_log(signal, **kwargs)
        else:
            await self.crawler.signals.send_catch_log_async(signal, **kwargs)

    def log(self, logkws, item) -> None:
        if logkws is not None:
            level, message, args = logformatter_adapter(logkws)
            if level >= self.log_threshold and logger.isEnabledFor(level):
                logger.log(level, message, args, extra={"spider": self.spider, "item": item})

    async def close_reason(self) -> str:
        """What the engine's close would say, plus the ingest's own failures: nothing stored,
        or more invalid lines than the error budget allows."""
        if self.spider.close_reason is not None:  # Ctrl-C, or the budget broken mid-file
            return self.spider.close_reason
        results = await self.crawler.signals.send_catch_log_async(
            signals.spider_idle, spider=self.spider, dont_log=CloseSpider)
        for _, result in results:
            failure = result.value if isinstance(result, Failure) else result
            if isinstance(failure, CloseSpider):
                return failure.reason
        stats = self.crawler.stats
        if (stats.get_value(keys.LOST_TOTAL) or stats.get_value(keys.DB_ERRORS)
                or stats.get_value(keys.ITEM_ERRORS)):
            return outcome.DB_ERRORS
        max_rate = self.settings.getfloat("GROCER_MAX_DROP_RATE")
        if max_rate < 1 and self.lines and self.invalid / self.lines > max_rate:
            logger.error("%s: %d of %d lines invalid (%.1f%% > GROCER_MAX_DROP_RATE %.1f%%)",
                         self.path, self.invalid, self.lines, 100 * self.invalid / self.lines,
                         100 * max_rate)
            return outcome.ERROR_BUDGET
        if not stats.get_value("item_scraped_count"):
            logger.error("%s: no line was stored", self.path)
            return outcome.NO_STORE_COMPLETED
        return outcome.FINISHED

    # --- what the user sees -------------------------------------------------------------------

    def bad_line(self, number: int, error) -> None:
        self.invalid += 1
        self.crawler.stats.inc_value(INVALID_LINES)
        if self.invalid <= LOGGED_INVALID_LINES:
            logger.warning("%s line %d skipped: %s", self.path, number, error)

    def progress(self, number: int, position: int, size: int) -> None:
        now = time.monotonic()
        if now - self.last_progress < self.progress_every:
            return
        self.last_progress = now
        elapsed = now - self.started
        share = position / size if size else 1.0
        eta = elapsed * (1 - share) / share if share else float("nan")
        logger.info("%s: line %s (%.0f%%), %s items/s, ETA %.0f s", self.path.name,
                    f"{number:,}", 100 * share, f"{self.processed / elapsed:,.0f}", eta)

    def summary(self, reason: str) -> str:
        stats = self.crawler.stats.get_stats()
        return (
            f"{self.path}: {stats.get('item_scraped_count', 0):,} items stored, "
            f"{stats.get(keys.DROPPED_TOTAL, 0):,} dropped, "
            f"{self.invalid:,} invalid lines; prices "
            f"{stats.get('grocer/prices/new', 0):,} new, "
            f"{stats.get('grocer/prices/changed', 0):,} changed, "
            f"{stats.get('grocer/prices/unchanged', 0):,} unchanged; "
            f"{stats.get('grocer/history_rows', 0):,} history rows; "
            f"{time.monotonic() - self.started:.2f} s; close reason {reason}"
        )


def run_ingest(ingest: Ingest) -> str:
    """Run `ingest` on the Twisted reactor Scrapy would use (the reconciliation's thread work
    needs one); Ctrl-C closes it as `shutdown` after the items in flight."""
    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.reactor import install_reactor

    install_reactor(ingest.settings["TWISTED_REACTOR"], ingest.settings["ASYNCIO_EVENT_LOOP"])
    from twisted.internet import reactor

    outcome_box: list = []

    def start():
        deferred = deferred_from_coro(ingest.run())
        deferred.addBoth(outcome_box.append)
        deferred.addBoth(lambda _: reactor.stop())

    previous = signal.signal(signal.SIGINT, lambda *_: ingest.spider.close_run(SHUTDOWN))
    try:
        reactor.callWhenRunning(start)
        reactor.run(installSignalHandlers=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    (result,) = outcome_box
    if isinstance(result, Failure):
        result.raiseException()
    return result
