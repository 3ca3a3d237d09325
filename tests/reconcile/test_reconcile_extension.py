"""ReconcileOnClose (DESIGN §5, §7 items 2, 10) driven with a fake crawler, and one real crawl."""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from pathlib import Path

import pytest
from scrapy.settings import Settings

from grocer.crawlstate import COMPLETED, FAILED, CrawlState
from grocer.db.models import CrawlRun, Price, Product
from grocer.normalization.dates import utcnow
from grocer.extensions.reconcile import ReconcileOnClose
from tests.helpers.spiders import project_settings
from tests.reconcile.helpers import at, snapshot, write_tables

PROJECT = Path(__file__).resolve().parents[2]


class Stats:
    def __init__(self, **values):
        self.values = {"start_time": dt.datetime.now(dt.timezone.utc), **values}

    def get_stats(self):
        return self.values

    def get_value(self, key, default=None):
        return self.values.get(key, default)

    def set_value(self, key, value):
        self.values[key] = value


class Crawler:
    def __init__(self, settings, stats):
        self.settings = Settings(project_settings(**settings))
        self.stats = stats


class Spider:
    name = "aldi"

    def __init__(self, crawl_state=None):
        self.crawl_state = crawl_state


def crawl_state(partial=False, status=COMPLETED):
    state = CrawlState(company="aldi", partial=partial)
    run = state.run_for("G1")
    run.status, run.started_at = status, at(0)
    return state


@pytest.fixture
def world(engine, rows, tables_dir):
    """A dupe to merge, an orphan, an unseen price, configured tables with a mapping."""
    company = rows.company("aldi")
    store = rows.store(company, "G1")
    canon, dupe = rows.product("milk 2l"), rows.product("2l milk")
    rows.price(canon, store, scraped_at=at(-3), last_seen=at(0, 1))
    rows.price(dupe, store, scraped_at=at(-2), last_seen=at(0, 1))
    unseen = rows.price(rows.product("gone"), store, scraped_at=at(-9), last_seen=at(-1))
    orphan = rows.product("orphan")
    write_tables(tables_dir, product={"2l milk": "milk 2l"})
    return {"canon": canon, "dupe": dupe, "unseen": unseen, "orphan": orphan}


def extension(db_url, tables_dir, stats=None, **settings):
    crawler = Crawler({"GROCER_DATABASE_URL": db_url, "TRANSLATION_TABLES_DIR": str(tables_dir),
                       "GROCER_RECONCILE_LOCK_TIMEOUT": 30, **settings}, stats or Stats())
    ext = ReconcileOnClose(crawler)
    # What spider_opened does (off the reactor there), without a reactor.
    ext.started_at = utcnow()
    ext.run_id = ext.record_start(SimpleNamespace(name="aldi"))
    return ext


def table_files(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def without_crawl_runs(state):
    return {name: rows for name, rows in state.items() if name != "crawl_run"}


@pytest.mark.parametrize("reason, db_errors", [
    ("shutdown", 0), ("cancelled", 0), ("error_budget", 0), ("blocked", 0),
    ("closespider_errorcount", 0), ("finished", 2)])
def test_a_crawl_that_did_not_finish_cleanly_changes_nothing(
        engine, rows, world, tables_dir, db_url, reason, db_errors):
    """Never again 10: no delisting, no merges, no orphan clean-up, no table rewrite."""
    before, files = snapshot(engine), table_files(tables_dir)
    stats = Stats(**{"grocer/db_errors": db_errors})
    outcome = extension(db_url, tables_dir, stats).close(Spider(crawl_state()), reason)
    assert not outcome.reconciled and outcome.skipped
    assert without_crawl_runs(snapshot(engine)) == without_crawl_runs(before)
    assert table_files(tables_dir) == files
    run = rows.one(CrawlRun, outcome.crawl_run_id)  # recorded all the same
    assert (run["reconciled"], run["close_reason"]) == (False, reason)
    assert run["stores"] == ["G1"] and run["stores_completed"] == ["G1"]
    assert run["stats"]["grocer/db_errors"] == db_errors
    assert isinstance(run["stats"]["start_time"], str)  # JSON-safe
    assert stats.get_value("grocer/reconcile/reconciled") is False


def test_a_finished_crawl_reconciles_with_the_configured_tables(
        engine, rows, world, tables_dir, db_url, tmp_path, monkeypatch):
    """Never again 2: the tables come from TRANSLATION_TABLES_DIR, not a default path."""
    decoy_cwd = tmp_path / "cwd"  # the default directory and SplitCart's path hold a decoy
    for decoy in (decoy_cwd, decoy_cwd / "translation_tables", decoy_cwd / "pipeline" / "data"):
        write_tables(decoy, product={"milk 2l": "2l milk"})
    monkeypatch.chdir(decoy_cwd)
    state = crawl_state()
    state.run_for("G1").written = 7  # settled by the crawl-health extension
    stats = Stats(**{"grocer/db_errors": 0})
    outcome = extension(db_url, tables_dir, stats).close(Spider(state), "finished")
    assert outcome.reconciled and outcome.skipped is None
    assert rows.one(Product, world["dupe"]) is None  # merged as the configured table says
    assert rows.one(Product, world["canon"]) is not None
    assert rows.one(Product, world["orphan"]) is None
    unseen = rows.one(Price, world["unseen"])
    assert unseen["is_available"] is False and unseen["delisted_at"] is not None
    assert json.loads((tables_dir / "product_translation_table.json").read_text()) == {
        "2l milk": "milk 2l"}
    assert json.loads((decoy_cwd / "translation_tables" /
                       "product_translation_table.json").read_text()) == {"milk 2l": "2l milk"}
    run = rows.one(CrawlRun, outcome.crawl_run_id)
    assert run["reconciled"] is True
    assert run["store_stats"]["G1"]["status"] == COMPLETED
    assert run["store_stats"]["G1"]["written"] == 7
    assert stats.get_value("grocer/reconcile/products_merged") == 1


@pytest.mark.parametrize("partial, status", [(True, COMPLETED), (False, FAILED)])
def test_partial_crawl_or_failed_store_delists_nothing(
        engine, rows, world, tables_dir, db_url, partial, status):
    outcome = extension(db_url, tables_dir).close(
        Spider(crawl_state(partial=partial, status=status)), "finished")
    assert outcome.reconciled and outcome.result.delisted == {}
    assert rows.one(Price, world["unseen"])["delisted_at"] is None


def test_switched_off_by_setting(engine, rows, world, tables_dir, db_url):
    before = snapshot(engine)
    outcome = extension(db_url, tables_dir, GROCER_RECONCILE_ON_CLOSE=False).close(
        Spider(crawl_state()), "finished")
    assert "GROCER_RECONCILE_ON_CLOSE" in outcome.skipped
    assert without_crawl_runs(snapshot(engine)) == without_crawl_runs(before)


TINY_SPIDER = """
import datetime as dt
import scrapy
from scrapy.exceptions import CloseSpider
from grocer.crawlstate import COMPLETED, CrawlState

class Tiny(scrapy.Spider):
    name = "aldi"
    close_with = "finished"

    async def start(self):
        self.crawl_state = CrawlState(company="aldi")
        run = self.crawl_state.run_for("G1")
        run.status, run.started_at = COMPLETED, dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone.utc)
        yield scrapy.Request("data:,hello", callback=self.parse)

    def parse(self, response):
        if self.close_with != "finished":
            raise CloseSpider(self.close_with)
"""


@pytest.mark.slow
@pytest.mark.parametrize("close_with", ["blocked", "finished"])
def test_a_real_crawl_closes_through_the_extension(
        engine, rows, world, tables_dir, db_url, tmp_path, close_with):
    spider = tmp_path / "tiny.py"
    spider.write_text(textwrap.dedent(TINY_SPIDER))
    env = {**os.environ, "GROCER_DATABASE_URL": db_url,
           "TRANSLATION_TABLES_DIR": str(tables_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", str(spider), "-a",
         f"close_with={close_with}", "-s", "ITEM_PIPELINES={}", "-s", "ROBOTSTXT_OBEY=False"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = rows.all(CrawlRun, "close_reason", "reconciled")
    assert run == (close_with, close_with == "finished")
    merged = rows.one(Product, world["dupe"]) is None
    assert merged is (close_with == "finished")
    if close_with != "finished":
        assert "reconciliation skipped" in done.stderr
