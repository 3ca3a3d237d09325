"""The worker process: ITEM_PIPELINES built from the crawl's settings, fed the items the crawl
sends, on an asyncio loop of its own. What the pipelines count and log goes back with each
batch of outcomes; the crawl counts and logs it as if the pipelines ran in it.

Messages in: ("items", [(seq, fields)]), ("signal", name), ("close",) — or the crawl's end of
the pipe closing, which closes the pipelines as "close" does (a killed crawl's rows are still
written). Out: ("opened", error | None), then ("results", [(seq, outcome)], stats, logs) and,
last, ("closed", error | None). An outcome is ("ok", changed fields, removed keys),
("drop", message, log level) or ("error", traceback text).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import traceback
from collections import deque

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.pipelines import ItemPipelineManager
from scrapy.settings import Settings

from grocer.items import item_fields
from grocer.pipelineworker.channel import EOF_MESSAGE, Channel
from grocer.stats import GrocerStatsCollector
from grocer.tables.refresh import tables_refreshed

logger = logging.getLogger(__name__)

# The signals a crawl forwards to its worker, by name (a signal is an object of its process).
FORWARDED_SIGNALS = {"tables_refreshed": tables_refreshed}
_UNSENT = object()  # a field the crawl did not send: anything the pipelines set goes back
# What a forwarded log record keeps: the standard attributes (extras such as Scrapy's
# `spider` and `crawler` are objects of this process).
RECORD_FIELDS = ("name", "levelno", "levelname", "pathname", "filename", "module", "lineno",
                 "funcName", "created", "msecs", "relativeCreated", "thread", "threadName",
                 "processName", "process", "exc_text", "stack_info")
RESULTS_EVERY = 500  # outcomes per message at most; fewer when the loop has nothing else to do


class RecordingStats(GrocerStatsCollector):
    """The worker's stats: also remembers every change since the last `take_changes()`, for the
    crawl's collector to `replay` (increments summed per key; the other changes in order, each
    after the increments of its key that came before it)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.increments: dict[str, int] = {}
        self.changes: list[tuple] = []

    def inc_value(self, key, count=1, start=0, spider=None):
        super().inc_value(key, count, start)
        if start:  # where a new key starts is for the crawl's collector to decide
            self._in_order("inc_value", key, count, start)
        else:
            self.increments[key] = self.increments.get(key, 0) + count

    def set_value(self, key, value, spider=None):
        super().set_value(key, value)
        self._in_order("set_value", key, value)

    def max_value(self, key, value, spider=None):
        super().max_value(key, value)
        self._in_order("max_value", key, value)

    def min_value(self, key, value, spider=None):
        super().min_value(key, value)
        self._in_order("min_value", key, value)

    def _in_order(self, method: str, key: str, *args) -> None:
        summed = self.increments.pop(key, None)
        if summed is not None:  # they came first: a set after them must win
            self.changes.append(("inc_value", key, summed))
        self.changes.append((method, key, *args))

    def take_changes(self) -> tuple[list[tuple], dict[str, int]]:
        changes, increments = self.changes, self.increments
        self.changes, self.increments = [], {}
        return changes, increments


def replay(stats, changes: list[tuple], increments: dict[str, int]) -> None:
    """A worker's `take_changes()` applied to the crawl's collector."""
    for method, key, *args in changes:
        getattr(stats, method)(key, *args)
    for key, count in increments.items():
        stats.inc_value(key, count)


class ForwardedLogs(logging.Handler):
    """Keeps the worker's log records (any thread) as picklable dicts for the next message."""

    def __init__(self, level):
        super().__init__(level)
        self.records: deque[dict] = deque()

    def emit(self, record: logging.LogRecord) -> None:
        fields = {name: getattr(record, name) for name in RECORD_FIELDS}
        fields["msg"] = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            fields["exc_text"] = describe_failure(record.exc_info[1])
        self.records.append(fields)

    def take(self) -> list[dict]:
        records = []
        while self.records:
            records.append(self.records.popleft())
        return records


def worker_crawler(spider, settings) -> Crawler:
    """A crawler for the pipelines alone: the crawl's settings and spider, recording stats, its
    own signals; no engine (`crawling` stays False, so nothing here closes the crawl)."""
    # The crawl's settings are frozen; a Crawler applies the spider's custom_settings again.
    crawler = Crawler(type(spider), Settings(settings.copy_to_dict(), priority="cmdline"))
    crawler.stats = RecordingStats(crawler)
    crawler.spider = spider
    return crawler


class PipelineHost:
    def __init__(self, crawler: Crawler, inbox, outbox, logs: ForwardedLogs):
        self.crawler, self.stats, self.signals = crawler, crawler.stats, crawler.signals
        self.inbox, self.outbox, self.logs = inbox, outbox, logs
        self.results: list[tuple[int, tuple]] = []
        self.in_flight: set[asyncio.Task] = set()
        self.shipping: asyncio.Handle | None = None

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.messages: asyncio.Queue = asyncio.Queue()
        self.channel = Channel(self.inbox, self.outbox, self._arrived, "pipeline-worker")
        try:
            self.pipelines = ItemPipelineManager.from_crawler(self.crawler)
            await self.pipelines.open_spider_async()
        except Exception as failure:  # the crawl fails to start and says why, in one line
            logger.debug("the item pipelines could not open", exc_info=True)
            self._ship()
            self.channel.send(("opened", f"{type(failure).__name__}: {failure}"))
            self.channel.send(("closed", None))
        else:
            self._ship()
            self.channel.send(("opened", None))
            gc.freeze()  # what the fork and the open made stays shared, unscanned
            error = await self._serve()
            self._ship()
            self.channel.send(("closed", error))
        self.channel.close()

    async def _serve(self) -> str | None:
        """Items until the crawl says close (or is gone); then the pipelines close."""
        while (message := await self.messages.get())[0] != "close":
            if message[0] == "signal":
                # After the items before it have started (their tasks run first, in order).
                self.loop.call_soon(self.signals.send_catch_log, FORWARDED_SIGNALS[message[1]])
                continue
            for seq, fields in message[1]:
                task = self.loop.create_task(self._process(seq, fields))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
        if self.in_flight:
            await asyncio.wait(self.in_flight)
        try:
            await self.pipelines.close_spider_async()
        except Exception as failure:
            logger.exception("closing the item pipelines failed")
            return f"{type(failure).__name__}: {failure}"
        return None

    def _arrived(self, message: tuple) -> None:  # reader thread
        if message == EOF_MESSAGE:
            message = ("close",)
        self.loop.call_soon_threadsafe(self.messages.put_nowait, message)

    async def _process(self, seq: int, fields: dict) -> None:
        # What the crawl has already: only fields set anew go back. (A pipeline changing a
        # field the spider yielded assigns it anew, as clean and normalize do with `product`;
        # a change in place inside it would stay in the worker.)
        before = dict(fields)
        try:
            output = item_fields(await self.pipelines.process_item_async(fields))
        except DropItem as drop:
            outcome = ("drop", str(drop), drop.log_level)
        except Exception as error:  # the crawl logs it as Scrapy's item error
            outcome = ("error", describe_failure(error))
        else:
            outcome = ("ok", {key: value for key, value in output.items()
                              if before.get(key, _UNSENT) is not value},
                       [key for key in before if key not in output])
        self.results.append((seq, outcome))
        if len(self.results) >= RESULTS_EVERY:
            self._ship()
        elif self.shipping is None:
            self.shipping = self.loop.call_soon(self._ship)

    def _ship(self) -> None:
        if self.shipping is not None:
            self.shipping.cancel()
            self.shipping = None
        results, self.results = self.results, []
        changes = self.stats.take_changes()
        logs = self.logs.take()
        if not (results or changes[0] or changes[1] or logs):
            return
        try:
            self._send_results(results, changes, logs)
        except Exception:  # something in it does not pickle: every item still gets its answer
            self._ship_apart(results, changes, logs)

    def _ship_apart(self, results, changes, logs) -> None:
        for seq, outcome in results:
            try:
                self._send_results(results=[(seq, outcome)])
            except Exception as error:
                self._send_results(results=[(seq, ("error", (
                    f"the item's outcome cannot be sent back from the pipeline worker: "
                    f"{type(error).__name__}: {error}")))])
        try:
            self._send_results(changes=changes, logs=logs)
        except Exception as error:
            message = (f"the pipeline worker's stats or log lines cannot be sent to the crawl: "
                       f"{type(error).__name__}: {error}")
            self._send_results(logs=[{"name": __name__, "levelno": logging.ERROR,
                                      "levelname": "ERROR", "msg": message}])

    def _send_results(self, results=(), changes=None, logs=()) -> None:
        self.channel.send(("results", list(results), changes or ([], {}), list(logs)))


def serve(spider, settings, inbox, outbox, unused_ends) -> None:
    """The worker process's body (forked from the crawl)."""
    for end in unused_ends:
        end.close()
    # Ctrl-C reaches the whole process group: the crawl shuts down and closes us in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from grocer.db.engine import forget_inherited_engines
    from grocer.extensions.logformatter import log_level

    forget_inherited_engines()
    crawler = worker_crawler(spider, settings)  # (re-installs Scrapy's root log handler)
    root = logging.getLogger()
    for handler in list(root.handlers):  # the crawl's: its log file, its stderr
        root.removeHandler(handler)
    logs = ForwardedLogs(log_level(settings))
    root.addHandler(logs)
    root.setLevel(logs.level)
    asyncio.run(PipelineHost(crawler, inbox, outbox, logs).run())


def describe_failure(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)).rstrip()
