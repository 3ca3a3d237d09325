"""PipelineWorker, the crawl's ITEM_PROCESSOR: ITEM_PIPELINES in a forked worker process.

The crawl keeps Scrapy's side of an item (signals, the drop and error log lines, feeds, the
health extension) and sends the worker each item's fields, a batch per event-loop turn; each
item's coroutine waits for its own outcome, so Scrapy's CONCURRENT_ITEMS and the pipelines'
back-pressure hold as they do in-process. What the worker's pipelines count and log arrives with
the outcomes and is counted and logged here.

In-process instead (Scrapy's ItemPipelineManager) when GROCER_PIPELINE_WORKER is off, in a dry
run, where the platform cannot fork, and when there are no pipelines.

A worker that dies loses the items it had not answered and the rows it had not yet written:
each is counted lost (`worker_lost`: the unanswered items, and per store the items answered
beyond those the worker reported written or unchanged), its store fails and the crawl closes
`db_errors`, as for a lost database batch.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import multiprocessing
from collections import Counter

from scrapy.exceptions import DropItem
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.conf import build_component_list

from grocer import outcome
from grocer import stats as keys
from grocer.items import item_fields
from grocer.outcome import close_crawl
from grocer.pipelineworker.channel import EOF_MESSAGE, Channel
from grocer.pipelineworker.host import FORWARDED_SIGNALS, replay, serve

logger = logging.getLogger(__name__)

ITEMS_PER_MESSAGE = 200  # at most; a loop turn's items go at once when there are fewer


class PipelineWorkerError(Exception):
    """An item pipeline raised in the worker (the message holds its traceback), or the worker
    could not open or close its pipelines."""


def runs_in_worker(settings) -> bool:
    pipelines = build_component_list(
        settings.get_component_priority_dict_with_base("ITEM_PIPELINES"))
    return (bool(pipelines) and settings.getbool("GROCER_PIPELINE_WORKER")
            and not settings.getbool("GROCER_DRY_RUN")
            and "fork" in multiprocessing.get_all_start_methods())


class PipelineWorker:
    @classmethod
    def from_crawler(cls, crawler):
        if not runs_in_worker(crawler.settings):
            return ItemPipelineManager.from_crawler(crawler)
        return cls(crawler)

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.sequence = itertools.count()
        self.pending: list[tuple[int, dict]] = []  # sent at the end of this loop turn
        self.waiting: dict[int, asyncio.Future] = {}  # seq → the item's outcome
        # Items answered "ok" per store: the price pipeline buffers a row before writing it,
        # so an answer is not yet a written row (the store's written/unchanged stats are).
        self.answered: Counter = Counter()
        self.flushing: asyncio.Handle | None = None
        self.gone = False  # the worker's end of the pipe closed
        for name, signal in FORWARDED_SIGNALS.items():
            crawler.signals.connect(self._forwarder(name), signal=signal, weak=False)

    # --- the processor protocol -----------------------------------------------------------

    async def open_spider_async(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.opened: asyncio.Future = self.loop.create_future()
        self.closed: asyncio.Future = self.loop.create_future()
        context = multiprocessing.get_context("fork")
        worker_inbox, crawl_outbox = context.Pipe(duplex=False)
        crawl_inbox, worker_outbox = context.Pipe(duplex=False)
        self.process = context.Process(
            target=serve, name="grocer-pipelines", daemon=True,
            args=(self.crawler.spider, self.crawler.settings, worker_inbox, worker_outbox,
                  (crawl_inbox, crawl_outbox)))
        self.process.start()
        worker_inbox.close()
        worker_outbox.close()
        self.channel = Channel(crawl_inbox, crawl_outbox, self._arrived, "pipeline-worker")
        # A crawl that exits without closing us (a forced shutdown) still closes the pipe, so
        # the worker reads EOF and exits: multiprocessing's own exit handler, which runs after
        # this one, waits for it.
        atexit.register(self.channel.close)
        logger.info("item pipelines run in worker process %d", self.process.pid)
        error = await self.opened
        if error is not None:
            await self.close_spider_async()
            raise PipelineWorkerError(f"the item pipelines could not open: {error}")

    async def process_item_async(self, item):
        fields = item_fields(item)
        if self.gone:
            raise self._lost(fields.get("store_code"))
        seq = next(self.sequence)
        answer = self.loop.create_future()
        self.waiting[seq] = answer
        self.pending.append((seq, dict(fields)))
        if len(self.pending) >= ITEMS_PER_MESSAGE:
            self._flush()
        elif self.flushing is None:
            self.flushing = self.loop.call_soon(self._flush)
        kind, *details = await answer
        if kind == "ok":
            self.answered[fields.get("store_code")] += 1
            changed, removed = details
            fields.update(changed)
            for key in removed:
                del fields[key]
            return item
        if kind == "drop":
            raise DropItem(details[0], log_level=details[1])
        if kind == keys.WORKER_LOST:
            raise self._lost(fields.get("store_code"))
        raise PipelineWorkerError(details[0])

    async def close_spider_async(self) -> None:
        self._flush()
        if not self.gone:
            self.channel.send(("close",))
        error = await self.closed
        await asyncio.to_thread(self.process.join)
        self.channel.close()
        atexit.unregister(self.channel.close)
        if error is not None:
            raise PipelineWorkerError(f"the item pipelines did not close cleanly: {error}")

    # --- sending --------------------------------------------------------------------------

    def _flush(self) -> None:
        if self.flushing is not None:
            self.flushing.cancel()
            self.flushing = None
        batch, self.pending = self.pending, []
        if not batch or self.gone:
            return
        try:
            self.channel.send(("items", batch))
        except Exception:  # something in the batch does not pickle: find it, send the rest
            for entry in batch:
                self._send_alone(entry)

    def _send_alone(self, entry: tuple[int, dict]) -> None:
        try:
            self.channel.send(("items", [entry]))
        except Exception as error:
            self.waiting.pop(entry[0]).set_result(
                ("error", f"the item cannot be sent to the pipeline worker: "
                          f"{type(error).__name__}: {error}"))

    def _forwarder(self, name: str):
        def forward(**_):
            self._flush()  # the items before the signal are processed before it
            if not self.gone:
                self.channel.send(("signal", name))
        return forward

    # --- receiving (the reader thread hands each message to the loop) ---------------------

    def _arrived(self, message: tuple) -> None:
        self.loop.call_soon_threadsafe(self._receive, message)

    def _receive(self, message: tuple) -> None:
        kind = message[0]
        if kind == "results":
            _, results, (changes, increments), records = message
            replay(self.stats, changes, increments)
            for record in records:
                logging.getLogger(record["name"]).handle(logging.makeLogRecord(record))
            for seq, result in results:
                answer = self.waiting.pop(seq)
                if not answer.done():  # (cancelled: a forced shutdown)
                    answer.set_result(result)
            if self.stats.get_value(keys.DB_UNAVAILABLE):
                close_crawl(self.crawler, outcome.DB_ERRORS)
        elif kind == "opened":
            self.opened.set_result(message[1])
        elif kind == "closed":  # always after "opened"
            self.closed.set_result(message[1])
        elif message == EOF_MESSAGE:
            self._worker_gone()

    def _worker_gone(self) -> None:
        self.gone = True
        if self.closed.done():
            return  # it said "closed" first: a clean exit
        if not self.opened.done():  # the crawl's start fails, with this as its error
            self.opened.set_result("the worker exited before its pipelines opened")
            self.closed.set_result(None)
            return
        unanswered = len(self.waiting)
        for answer in self.waiting.values():
            if not answer.done():
                answer.set_result((keys.WORKER_LOST,))
        self.waiting.clear()
        unconfirmed = self._unconfirmed()
        for store_code, count in unconfirmed.items():
            keys.item_lost(self.stats, store_code, keys.WORKER_LOST, count)
        logger.error("the pipeline worker (process %d) exited unexpectedly; %d unanswered "
                     "items and %d answered but not known to be written are counted lost; the "
                     "crawl closes (%s)", self.process.pid, unanswered,
                     sum(unconfirmed.values()), outcome.DB_ERRORS)
        self.stats.inc_value(keys.DB_ERRORS)
        self.closed.set_result(None)  # reported above: closing has nothing more to say
        close_crawl(self.crawler, outcome.DB_ERRORS)

    def _unconfirmed(self) -> dict[str | None, int]:
        """Per store, the items answered "ok" beyond what the worker reported written or
        unchanged: rows that may have been waiting in its buffers (a store's duplicate listings
        count here too — the crawl fails anyway)."""
        unconfirmed = {}
        for store_code, answered in self.answered.items():
            confirmed = 0 if store_code is None else sum(
                self.stats.get_value(keys.store_key(store_code, name), 0)
                for name in keys.STORE_CONFIRMED)
            if answered > confirmed:
                unconfirmed[store_code] = answered - confirmed
        return unconfirmed

    def _lost(self, store_code: str | None) -> DropItem:
        keys.item_lost(self.stats, store_code, keys.WORKER_LOST)
        return DropItem(f"{keys.WORKER_LOST}: the pipeline worker exited", log_level="DEBUG")
