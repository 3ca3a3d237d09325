"""CrawlHealth: per-store and per-field counts, the summary, and the error budget — unit tests
on the extension and real `scrapy ingest` runs closing with the reason `error_budget`."""

from __future__ import annotations

import json
import logging

import pytest
from scrapy.exceptions import CloseSpider, DropItem
from scrapy.utils.test import get_crawler

from grocer.db.models import CrawlRun, Product
from grocer.extensions.health import CrawlHealth, drop_reason, has_value
from grocer.items import ProductItem
from tests.reconcile.helpers import Rows, at, write_tables
from tests.helpers.scrapy_cli import run_scrapy
from tests.helpers.spiders import project_settings
from grocer.crawlstate import COMPLETED, FAILED, CrawlState


class Health(CrawlHealth):
    """CrawlHealth without a running engine: items come without a response (as from start()),
    so a breach only marks the crawl closing (grocer/closing) for StartGate and spider_idle."""

    @property
    def closed_with(self) -> list[str]:
        reason = self.stats.get_value("grocer/closing")
        return [reason] if reason else []


def health(**settings) -> Health:
    return Health(get_crawler(settings_dict=project_settings(**settings)))


class Spider:
    def __init__(self, *runs):
        self.crawl_state = CrawlState("aldi")
        for code, items in runs:
            run = self.crawl_state.run_for(code)
            run.status, run.items = COMPLETED, items
        self.targets = [None] * len(runs)


def stored(ext, store="G1", **product):
    item = ProductItem(company="aldi", store_code=store, product={"name": "x", **product})
    ext.item_scraped(item, spider=None)


def dropped(ext, store="G1", reason="no_price"):
    ext.item_dropped(ProductItem(company="aldi", store_code=store, raw={}), spider=None,
                     exception=DropItem(f"{reason}: detail"))


def test_values_and_reasons():
    assert not any(has_value(v) for v in (None, "", "  ", [], {}))
    assert all(has_value(v) for v in ("x", 0, 0.0, ["Fruit"], False))
    assert drop_reason(DropItem("no_price: price is None")) == "no_price"
    assert drop_reason(DropItem("Dropped because of something")) == "other"
    assert drop_reason(None) == "other"


def test_summary_counts_stores_fields_and_drops(caplog):
    ext = health(GROCER_MAX_DROP_RATE=0.5)
    stats = ext.crawler.stats
    spider = Spider(("G1", 3), ("G2", 2))
    stats.set_value("grocer/store/G1/written", 2)
    stats.set_value("grocer/store/G1/unchanged", 1)
    stored(ext, "G1", barcode="9300000000001", brand="Farmdale", size="1 kg", unit_price=2.5,
           category_path=["Dairy"], image_url="https://x/1.jpg")
    stored(ext, "G1", barcode=None, brand="", size="1 kg", unit_price=None, category_path=[])
    stored(ext, "G2", brand="Remano", size=None)
    dropped(ext, "G1", "no_price")
    dropped(ext, "G2", "not_a_product")  # an ad tile: counted, not against the budget
    with caplog.at_level(logging.INFO, logger="grocer.extensions.health"):
        ext.spider_closed(spider=spider, reason="finished")
    assert stats.get_value("grocer/field_valid/brand") == 2
    assert stats.get_value("grocer/field_valid/size") == 2
    assert stats.get_value("grocer/field_valid/barcode") == 1
    assert stats.get_value("grocer/health/stored") == 3
    assert stats.get_value("grocer/health/dropped") == 2
    assert stats.get_value("grocer/health/ignored") == 1
    assert stats.get_value("grocer/health/drop_rate") == 0.25  # 1 of 4 (the ad left out)
    assert stats.get_value("grocer/health/budget") == "ok"
    rates = stats.get_value("grocer/health/field_rates")
    assert rates["brand"] == pytest.approx(0.6667) and rates["category_path"] == 0.3333
    # Per-store counts are settled into the StoreRuns (CrawlRun.store_stats), not the stats.
    assert stats.get_value("grocer/health/stores") is None
    g1, g2 = spider.crawl_state.stores["G1"], spider.crawl_state.stores["G2"]
    assert (g1.items, g1.stored, g1.dropped, g1.lost, g1.written, g1.unchanged) == (3, 2, 1, 0,
                                                                                     2, 1)
    assert g1.dropped_by_reason == {"no_price": 1} and g1.status == COMPLETED
    assert g2.dropped_by_reason == {"not_a_product": 1} and g2.ignored == 1
    assert stats.get_value("grocer/close_reason") == "finished"
    (line,) = [r.getMessage() for r in caplog.records if "crawl closed" in r.getMessage()]
    assert line.startswith("crawl closed (finished): 3 stored, 2 dropped (25.0%; budget 50.0% "
                           "ok), 0 lost")
    assert "[no_price 1, not_a_product 1]" in line and "brand 67%" in line
    assert "stores: 2 completed, 0 failed" in line


def test_the_budget_closes_the_crawl_mid_way_only_after_the_minimum_sample():
    ext = health(GROCER_MAX_DROP_RATE=0.05, GROCER_MIN_ITEMS_FOR_BUDGET=20)
    for _ in range(5):
        dropped(ext)
    for _ in range(14):
        stored(ext)
    assert ext.closed_with == []  # 19 items: too few to judge during the crawl
    stored(ext)
    assert ext.closed_with == ["error_budget"]
    dropped(ext)
    assert ext.closed_with == ["error_budget"]  # once


def test_valid_items_waiting_in_a_database_batch_count_in_the_budget_mid_crawl():
    """A batch of 1,000 holds valid items that are not stored yet: 18 drops among 1,000 validated
    items are 1.8%, not 18 of 50 "processed" (the old count closed such a crawl error_budget)."""
    ext = health(GROCER_MAX_DROP_RATE=0.05, GROCER_MIN_ITEMS_FOR_BUDGET=50)
    ext.stats.inc_value("grocer/validated", 1000)
    for _ in range(32):
        stored(ext)
    for _ in range(18):
        dropped(ext)
    assert ext.closed_with == []


def test_within_the_budget_the_crawl_goes_on():
    ext = health(GROCER_MAX_DROP_RATE=0.05, GROCER_MIN_ITEMS_FOR_BUDGET=20)
    for _ in range(100):
        stored(ext)
    for _ in range(5):
        dropped(ext)  # 5 of 105 < 5%
    for _ in range(50):
        dropped(ext, reason="not_a_product")
    assert ext.closed_with == []
    ext.spider_idle(spider=None)  # no CloseSpider: the crawl finishes


def test_at_the_end_the_budget_applies_to_any_number_of_items():
    ext = health(GROCER_MAX_DROP_RATE=0.05, GROCER_MIN_ITEMS_FOR_BUDGET=50)
    stored(ext)
    dropped(ext)
    assert ext.closed_with == []
    with pytest.raises(CloseSpider) as closing:
        ext.spider_idle(spider=None)
    assert closing.value.reason == "error_budget"
    ext.spider_closed(spider=None, reason="error_budget")
    assert ext.crawler.stats.get_value("grocer/health/budget") == "exceeded"


def test_a_drop_rate_of_one_turns_the_budget_off():
    ext = health(GROCER_MAX_DROP_RATE=1, GROCER_MIN_ITEMS_FOR_BUDGET=1)
    for _ in range(10):
        dropped(ext)
    ext.spider_idle(spider=None)
    assert ext.closed_with == []


def test_an_empty_crawl_is_within_the_budget():
    ext = health()
    ext.spider_idle(spider=None)
    ext.spider_closed(spider=None, reason="finished")
    assert ext.crawler.stats.get_value("grocer/health/drop_rate") == 0.0


def lose(ext, store="G1", count=1):
    from grocer.stats import item_lost

    item_lost(ext.crawler.stats, store, "db_error", count)


def test_items_lost_after_the_pipelines_are_lost_not_stored_and_fail_their_store(caplog):
    """A price batch lost to the database: its items passed every pipeline (item_scraped), then
    the write failed. They count as lost, the store fails with db_error, the crawl is
    db_errors."""
    ext = health()
    spider = Spider(("G1", 3), ("G2", 1))
    for _ in range(3):
        stored(ext, "G1")
    stored(ext, "G2")
    lose(ext, "G1", 2)  # the price batch of two of G1's items failed
    with pytest.raises(CloseSpider) as closing:
        ext.spider_idle(spider)
    assert closing.value.reason == "db_errors"
    with caplog.at_level(logging.INFO, logger="grocer.extensions.health"):
        ext.spider_closed(spider, reason="finished")
    g1, g2 = spider.crawl_state.stores["G1"], spider.crawl_state.stores["G2"]
    assert (g1.status, g1.reason, g1.stored, g1.lost) == (FAILED, "db_error", 1, 2)
    assert g2.status == COMPLETED
    stats = ext.crawler.stats
    assert stats.get_value("grocer/close_reason") == "db_errors"
    assert (stats.get_value("grocer/health/stored"), stats.get_value("grocer/health/lost")) == (
        2, 2)
    line = next(r.getMessage() for r in caplog.records if "crawl closed" in r.getMessage())
    assert line.startswith("crawl closed (db_errors): 2 stored, 0 dropped") and "2 lost" in line
    assert "1 failed (db_error 1)" in line


def test_items_dropped_because_their_batch_was_lost_are_lost_not_dropped():
    ext = health(GROCER_MIN_ITEMS_FOR_BUDGET=1)
    spider = Spider(("G1", 2))
    stored(ext, "G1")
    lose(ext, "G1")
    dropped(ext, "G1", "db_error")  # the resolve pipeline drops what it lost
    assert ext.closed_with == []  # a lost item is no drop: the budget is not touched
    ext.spider_closed(spider, reason="finished")
    run = spider.crawl_state.stores["G1"]
    assert (run.stored, run.dropped, run.lost, run.reason) == (1, 0, 1, "db_error")


def test_the_budget_is_taken_over_processed_items_lost_ones_included():
    ext = health(GROCER_MAX_DROP_RATE=0.1, GROCER_MIN_ITEMS_FOR_BUDGET=10)
    for _ in range(8):
        stored(ext)
    lose(ext, "G1", 4)  # 4 of the 8 lost later: processed stays 8 + the drops
    dropped(ext)
    assert ext.counted() == (1, 9) and ext.closed_with == []  # 1 of 9: 11% but 9 < 10 items
    stored(ext)
    assert ext.counted() == (1, 10) and ext.closed_with == []  # 10%: within
    dropped(ext)
    assert ext.closed_with == ["error_budget"]


def test_a_crawl_whose_every_store_failed_closes_no_store_completed():
    ext = health()
    spider = Spider(("G1", 0))
    spider.crawl_state.stores["G1"].fail("fetch_failed", "HTTP 500")
    with pytest.raises(CloseSpider) as closing:
        ext.spider_idle(spider)
    assert closing.value.reason == "no_store_completed"
    ext.spider_closed(spider, reason="finished")  # e.g. closed by Scrapy itself
    assert ext.crawler.stats.get_value("grocer/close_reason") == "no_store_completed"


def test_items_never_out_of_the_pipelines_fail_their_store():
    """A crawl killed while items were in the pipelines: the store is not complete."""
    ext = health()
    spider = Spider(("G1", 5))
    for _ in range(3):
        stored(ext, "G1")
    ext.spider_closed(spider, reason="shutdown")
    run = spider.crawl_state.stores["G1"]
    assert (run.status, run.reason) == (FAILED, "unsettled")
    assert ext.crawler.stats.get_value("grocer/close_reason") == "shutdown"


def test_the_start_gate_stops_reading_start_once_the_crawl_is_closing():
    import asyncio

    from grocer.extensions.health import StartGate

    crawler = get_crawler(settings_dict=project_settings())
    gate = StartGate.from_crawler(crawler)
    read = []

    async def start():
        for number in range(10):
            read.append(number)
            if number == 2:
                crawler.stats.set_value("grocer/closing", "error_budget")
            yield number

    async def consume():
        return [x async for x in gate.process_start(start())]

    assert asyncio.run(consume()) == [0, 1]
    assert read == [0, 1, 2]


def test_no_private_scrapy_api_in_the_health_extension():
    from pathlib import Path

    import grocer.extensions.health as module

    source = Path(module.__file__).read_text()
    for private in ("_schedule_coro", "scraper.slot", "_check_if_closing", "LoopingCall",
                    "create_looping_call"):
        assert private not in source


# --- real crawls ------------------------------------------------------------------------------

def archive_line(number: int, *, good: bool) -> str:
    product = {"sku": f"{number:018d}", "name": f"Rice {number} 1kg", "brand": "FARMDALE",
               "size": "1 kg", "price_current": 2.0 + number / 100, "is_on_special": False}
    if not good:
        product.pop("price_current")  # no_price: dropped by the clean pipeline
    return json.dumps({"product": product,
                       "metadata": {"company": "aldi", "scraped_date": "2026-06-29"}})


@pytest.fixture
def mergeable(engine, tmp_path):
    """A product the reconciliation would merge into another (the table maps its key)."""
    rows = Rows(engine)
    company = rows.company("aldi")
    store = rows.store(company, "G102")
    canon, dupe = rows.product("milk 2l"), rows.product("2l milk")
    rows.price(canon, store, scraped_at=at(-3))
    rows.price(dupe, store, scraped_at=at(-2))
    workdir = tmp_path / "run"
    write_tables(workdir / "translation_tables", product={"2l milk": "milk 2l"})
    return {"rows": rows, "dupe": dupe, "workdir": workdir}


@pytest.mark.slow
@pytest.mark.parametrize("good, bad, reason", [
    (100, 0, "finished"),  # the same world reconciles when the crawl is healthy
    (20, 60, "error_budget"),  # over the budget during the crawl (more than 50 items seen)
    (6, 2, "error_budget"),  # over the budget at the end (fewer than 50 items)
])
def test_a_crawl_over_the_error_budget_closes_with_its_own_reason_and_is_not_reconciled(
        mergeable, db_url, tmp_path, good, bad, reason):
    lines = [archive_line(n, good=n >= bad) for n in range(good + bad)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    result = run_scrapy(["ingest", str(feed), "-s", "GROCER_MAX_DROP_RATE=0.05",
                         "-s", "GROCER_MIN_ITEMS_FOR_BUDGET=50", "-s", "GROCER_BATCH_SIZE=10"],
                        db_url=db_url, workdir=mergeable["workdir"], check=False)
    assert f"close reason {reason}" in result.stdout
    assert result.returncode == (0 if reason == "finished" else 1)  # scripts see the failure
    rows = mergeable["rows"]
    (run,) = rows.all(CrawlRun, "close_reason", "reconciled", "stats")
    assert run[:2] == (reason, reason == "finished")
    stats = run[2]
    assert "crawl closed (" in result.stderr
    merged = rows.one(Product, mergeable["dupe"]) is None
    if reason == "finished":
        assert merged and stats["grocer/health/budget"] == "ok"
        assert stats["grocer/health/stored"] == good
        return
    assert not merged  # no reconciliation: nothing merged
    assert "error budget exceeded" in result.stderr
    assert "reconciliation skipped" in result.stderr
    assert stats["grocer/health/budget"] == "exceeded"
    assert stats["grocer/health/drop_rate"] > 0.05
    assert stats["grocer/reconcile/reconciled"] is False
    assert stats["grocer/dropped/no_price"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("max_drop_rate", ["0.05", "1"])
def test_a_spider_over_the_budget_closes_with_its_own_reason_and_delists_nothing(
        engine, db_url, tmp_path, max_drop_rate):
    """A real `aldi` crawl against the fixture server: the first crawl finishes; in the second
    a product is gone and many products lost their price. Over the budget the crawl closes as
    `error_budget` and delists nothing; with the budget off (1) it finishes and delists."""
    from sqlalchemy import select

    from grocer.db.models import Price, Product, Store
    from grocer.db.stores import load_stores
    from grocer.storelist import read_store_list
    from tests.helpers.fixture_server import SITES_DIR, running_site
    from tests.helpers.crawling import Crawler

    load_stores(engine, read_store_list(SITES_DIR / "stores.json"))
    settings = {"EXTENSIONS": json.dumps({"grocer.extensions.health.CrawlHealth": 400,
                                          "grocer.extensions.reconcile.ReconcileOnClose": 500}),
                "GROCER_MIN_ITEMS_FOR_BUDGET": "10", "GROCER_MAX_DROP_RATE": max_drop_rate}
    with running_site() as site:
        crawl = Crawler(tmp_path, db_url, site.urls)
        first = crawl("aldi", args={"stores": "G102"}, settings=settings)
        assert "Spider closed (finished)" in first.log, first.log[-3000:]
        gone = site.catalogues["aldi"]["5101"].pop(0)
        for product in site.catalogues["aldi"]["5201"][:10]:
            product["price"] = {"amount": None}
        second = crawl("aldi", args={"stores": "G102"}, settings=settings)
    with engine.connect() as connection:
        delisted = set(connection.execute(
            select(Product.name).join(Price, Price.product_id == Product.id)
            .join(Store, Price.store_id == Store.id)
            .where(Store.store_code == "G102", Price.delisted_at.is_not(None))).scalars())
    runs = Rows(engine).all(CrawlRun, "close_reason", "reconciled", "store_stats")
    if max_drop_rate == "1":  # the same crawl without a budget: delisting happens
        assert [run[:2] for run in runs] == [("finished", True), ("finished", True)]
        assert gone["name"] in delisted
        return
    assert "Spider closed (error_budget)" in second.log, second.log[-3000:]
    assert "error budget exceeded" in second.log
    assert [run[:2] for run in runs] == [("finished", True), ("error_budget", False)]
    store = runs[1][2]["G102"]  # its StoreRun, counts settled by the health extension
    assert store["dropped_by_reason"] == {"no_price": store["dropped"]}
    assert store["dropped"] >= 1 and store["dropped"] / store["items"] > 0.05
    assert delisted == set()  # the gone product was not delisted
