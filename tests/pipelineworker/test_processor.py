"""The item pipelines in a forked worker process (grocer.pipelineworker, issue 19): each item's
outcome, stats and log lines come back to the crawl as if the pipelines ran in it; a refreshed
table reaches the worker after the items before it; a worker that dies loses only the items it
had not answered, each counted lost, and closes the crawl; the worker of a killed crawl still
processes what it was sent and closes its pipelines."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.test import get_crawler

from grocer import outcome
from grocer import stats as keys
from grocer.extensions.health import LOST_DROP_REASONS
from grocer.pipelineworker.host import RecordingStats, replay
from grocer.pipelineworker.processor import PipelineWorker, PipelineWorkerError
from grocer.tables.refresh import tables_refreshed
from tests.helpers.crawling import REPO

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the worker forks")

HERE = __name__
logger = logging.getLogger("tests.pipeline_worker")


class Marking:
    """Marks every item; drops, fails or hangs on request; counts a table refresh."""

    def __init__(self, crawler):
        self.stats = crawler.stats
        self.refreshes = 0
        crawler.signals.connect(self.refreshed, signal=tables_refreshed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        if os.environ.get("TEST_WORKER_OPEN_FAILS"):
            raise RuntimeError("no database here")

    def refreshed(self):
        self.refreshes += 1

    async def process_item(self, item):
        if item.get("hang"):
            await asyncio.sleep(600)
        if item.get("drop"):
            raise DropItem(f"no_price: {item['sku']}", log_level="INFO")
        if item.get("fail"):
            raise ValueError(f"cannot read {item['sku']}")
        item["marked_by"] = os.getpid()
        item["refreshes_seen"] = self.refreshes
        del item["scratch"]
        self.stats.inc_value("test/marked")
        self.stats.max_value("test/largest_sku", item["sku"])
        self.stats.set_value("test/last_sku", item["sku"])
        logger.warning("marked %s", item["sku"])
        return item


class Crashing:
    """A pipeline whose process dies at the item marked "crash" (as one killed by the kernel)."""

    def process_item(self, item):
        if item.get("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return item


class SlowRecording:
    """Takes half a second an item; at close, writes the SKUs it processed to
    $TEST_WORKER_RECORD."""

    def __init__(self):
        self.skus = []

    async def process_item(self, item):
        await asyncio.sleep(0.5)
        self.skus.append(item["sku"])
        return item

    def close_spider(self):
        record = Path(os.environ["TEST_WORKER_RECORD"])
        written = record.with_suffix(".tmp")
        written.write_text(json.dumps(sorted(self.skus)))
        written.replace(record)  # whole, or not yet there


class DiesAtClose:
    def close_spider(self):
        os.kill(os.getpid(), signal.SIGKILL)


class Unpicklable:
    def process_item(self, item):
        if item.get("lock"):
            item["lock"] = threading.Lock()
        return item


class Engine:
    def __init__(self):
        self.closed_with = []

    async def close_spider_async(self, *, reason):
        self.closed_with.append(reason)


def worker_crawler(pipelines, **settings):
    crawler = get_crawler(Spider, {"ITEM_PIPELINES": pipelines, "GROCER_PIPELINE_WORKER": True,
                                   "LOG_LEVEL": "INFO",
                                   "STATS_CLASS": "grocer.stats.GrocerStatsCollector",
                                   **settings})
    crawler.spider = Spider.from_crawler(crawler, name="test")
    return crawler


def item(sku, **flags):
    return {"sku": sku, "store_code": "G102", "scratch": "x", **flags}


async def outcomes(processor, items):
    return await asyncio.gather(*(processor.process_item_async(i) for i in items),
                                return_exceptions=True)


def run(crawler, body):
    async def main():
        processor = PipelineWorker.from_crawler(crawler)
        assert isinstance(processor, PipelineWorker)
        await processor.open_spider_async()
        try:
            return await body(processor)
        finally:
            await processor.close_spider_async()
    return asyncio.run(main())


def test_items_come_back_marked_dropped_or_failed_with_the_workers_stats_and_log_lines(caplog):
    crawler = worker_crawler({f"{HERE}.Marking": 100})
    items = [item(1), item(2, drop=True), item(3), item(4, fail=True), item(5)]
    with caplog.at_level(logging.INFO):
        results = run(crawler, lambda processor: outcomes(processor, items))

    marked, dropped, failed = results[0], results[1], results[3]
    assert marked is items[0] and marked["marked_by"] not in (os.getpid(), None)
    assert "scratch" not in marked  # a field the pipeline removed is removed here too
    assert [r["sku"] for r in results if isinstance(r, dict)] == [1, 3, 5]
    assert isinstance(dropped, DropItem) and str(dropped) == "no_price: 2"
    assert dropped.log_level == "INFO"
    assert isinstance(failed, PipelineWorkerError)
    assert "ValueError: cannot read 4" in str(failed) and "process_item" in str(failed)
    stats = crawler.stats.get_stats()
    assert stats["test/marked"] == 3 and stats["test/largest_sku"] == 5
    assert stats["test/last_sku"] in (1, 3, 5)
    lines = [r for r in caplog.records if r.name == "tests.pipeline_worker"]
    assert sorted(r.getMessage() for r in lines) == ["marked 1", "marked 3", "marked 5"]
    assert {r.process for r in lines} == {marked["marked_by"]}


def test_the_crawls_stats_end_where_the_workers_did():
    worker = RecordingStats(worker_crawler({}))
    worker.inc_value("test/count", 2)
    worker.set_value("test/count", 10)  # a set after increments wins over them
    worker.inc_value("test/count")
    worker.inc_value("test/other", 3)
    worker.inc_value("test/started", 1, start=5)  # starts where the worker's started
    worker.max_value("test/largest", 4)
    crawl = worker_crawler({}).stats
    replay(crawl, *worker.take_changes())
    assert crawl.get_stats() == worker.get_stats() == {
        "test/count": 11, "test/other": 3, "test/started": 6, "test/largest": 4}
    assert worker.take_changes() == ([], {})


def test_a_table_refresh_reaches_the_worker_after_the_items_sent_before_it():
    crawler = worker_crawler({f"{HERE}.Marking": 100})

    async def body(processor):
        before = asyncio.ensure_future(processor.process_item_async(item(1)))
        await asyncio.sleep(0)
        crawler.signals.send_catch_log(tables_refreshed)
        after = await processor.process_item_async(item(2))
        return await before, after

    before, after = run(crawler, body)
    assert (before["refreshes_seen"], after["refreshes_seen"]) == (0, 1)


def test_a_worker_that_dies_loses_only_its_unanswered_items_and_closes_the_crawl(caplog):
    crawler = worker_crawler({f"{HERE}.Crashing": 50, f"{HERE}.Marking": 100})
    crawler.engine = engine = Engine()
    crawler.crawling = True

    async def body(processor):
        answered = await processor.process_item_async(item(1))
        lost = await outcomes(processor, [item(2, hang=True), item(3, crash=True)])
        later = await outcomes(processor, [item(4)])
        return answered, lost + later

    with caplog.at_level(logging.ERROR):
        answered, lost = run(crawler, body)

    assert answered["sku"] == 1
    assert all(isinstance(r, DropItem) for r in lost)
    assert {str(r).split(":")[0] for r in lost} == {keys.WORKER_LOST} <= LOST_DROP_REASONS
    stats = crawler.stats.get_stats()
    # 2 unanswered, 1 sent after, and item 1: answered, but never reported written.
    assert stats[f"{keys.LOST}/{keys.WORKER_LOST}"] == 4
    assert stats[keys.store_key("G102", "lost")] == 4
    assert stats[keys.DB_ERRORS] == 1 and stats[keys.CLOSING] == outcome.DB_ERRORS
    assert engine.closed_with == [outcome.DB_ERRORS]
    assert any("exited unexpectedly" in r.getMessage() for r in caplog.records)


def test_rows_answered_but_unwritten_when_the_worker_dies_at_close_are_lost(caplog):
    """The price pipeline answers an item once its row is buffered: a worker dying while it
    closes (writing the last rows) loses answered rows, and the crawl must not finish."""
    crawler = worker_crawler({f"{HERE}.Marking": 100, f"{HERE}.DiesAtClose": 200})
    crawler.engine = engine = Engine()
    crawler.crawling = True
    with caplog.at_level(logging.ERROR):
        answered = run(crawler, lambda processor: outcomes(processor, [item(1), item(2)]))
    assert [r["sku"] for r in answered] == [1, 2]
    stats = crawler.stats.get_stats()
    assert stats[keys.LOST_TOTAL] == 2 and stats[keys.store_key("G102", "lost")] == 2
    assert stats[keys.DB_ERRORS] == 1 and engine.closed_with == [outcome.DB_ERRORS]


def test_an_outcome_that_cannot_be_sent_back_fails_only_its_item():
    crawler = worker_crawler({f"{HERE}.Unpicklable": 100})
    first, failed, last = run(crawler, lambda processor: outcomes(
        processor, [item(1), item(2, lock=True), item(3)]))
    assert (first["sku"], last["sku"]) == (1, 3)
    assert isinstance(failed, PipelineWorkerError)
    assert "cannot be sent back from the pipeline worker" in str(failed)


def exit_without_closing() -> None:
    """A crawl that opens its worker and exits without closing it (a forced shutdown)."""
    crawler = worker_crawler({f"{HERE}.Marking": 100})

    async def main():
        processor = PipelineWorker.from_crawler(crawler)
        await processor.open_spider_async()
        await processor.process_item_async(item(1))

    asyncio.run(main())


def test_a_crawl_that_exits_without_closing_its_worker_does_not_hang():
    done = subprocess.run(
        [sys.executable, "-c", f"from {HERE} import exit_without_closing; "
                               "exit_without_closing()"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def crawl_killed_with_items_in_flight() -> None:
    """A crawl process that sends three items to its worker and is killed before any answer."""
    crawler = worker_crawler({f"{HERE}.SlowRecording": 100})

    async def main():
        processor = PipelineWorker.from_crawler(crawler)
        await processor.open_spider_async()
        for sku in (1, 2, 3):
            asyncio.ensure_future(processor.process_item_async(item(sku)))
        await asyncio.sleep(0.2)  # sent, not answered
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())


def test_a_killed_crawls_worker_still_processes_what_it_was_sent_and_closes_its_pipelines(
        tmp_path, monkeypatch):
    record = tmp_path / "closed.json"
    monkeypatch.setenv("TEST_WORKER_RECORD", str(record))
    crawl = multiprocessing.get_context("fork").Process(target=crawl_killed_with_items_in_flight)
    crawl.start()
    crawl.join(30)
    assert crawl.exitcode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(record.read_text()) == [1, 2, 3]


def test_pipelines_that_cannot_open_fail_the_crawls_start(monkeypatch):
    monkeypatch.setenv("TEST_WORKER_OPEN_FAILS", "1")
    crawler = worker_crawler({f"{HERE}.Marking": 100})

    async def main():
        await PipelineWorker.from_crawler(crawler).open_spider_async()

    with pytest.raises(PipelineWorkerError, match="could not open.*no database here"):
        asyncio.run(main())


@pytest.mark.parametrize("settings", [
    {"GROCER_PIPELINE_WORKER": False},
    {"GROCER_DRY_RUN": True},
    {"ITEM_PIPELINES": {}},
], ids=["switched off", "dry run", "no pipelines"])
def test_the_pipelines_run_in_the_crawls_process_when_a_worker_is_no_use(settings):
    crawler = worker_crawler({f"{HERE}.Marking": 100}, **settings)
    assert type(PipelineWorker.from_crawler(crawler)) is ItemPipelineManager
