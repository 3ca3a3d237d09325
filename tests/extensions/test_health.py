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


class Health(CrawlHealth):
    """CrawlHealth that records the close instead of asking a running engine."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.closed_with = []

    def _close(self, spider, reason):
        self.closed_with.append(reason)


def health(**settings) -> Health:
    return Health(get_crawler(settings_dict=settings))


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
    stats.set_value("grocer/store/G1/items", 4)
    stats.set_value("grocer/store/G1/written", 2)
    stats.set_value("grocer/store/G1/unchanged", 1)
    stored(ext, "G1", barcode="9300000000001", brand="Farmdale", size="1 kg", unit_price=2.5,
           category_path=["Dairy"], image_url="https://x/1.jpg")
    stored(ext, "G1", barcode=None, brand="", size="1 kg", unit_price=None, category_path=[])
    stored(ext, "G2", brand="Remano", size=None)
    dropped(ext, "G1", "no_price")
    dropped(ext, "G2", "not_a_product")  # an ad tile: counted, not against the budget
    with caplog.at_level(logging.INFO, logger="grocer.extensions.health"):
        ext.spider_closed(spider=None, reason="finished")
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
    stores = stats.get_value("grocer/health/stores")
    assert stores["G1"] == {"items": 4, "written": 2, "unchanged": 1, "stored": 2, "dropped": 1,
                            "ignored": 0, "drop_rate": 0.3333,
                            "dropped_by_reason": {"no_price": 1}}
    assert stores["G2"]["dropped_by_reason"] == {"not_a_product": 1}
    assert stores["G2"]["drop_rate"] == 0.0
    (line,) = [r.getMessage() for r in caplog.records if "crawl health" in r.getMessage()]
    assert line.startswith("crawl health (finished): 3 stored, 2 dropped (25.0%; budget 50.0% ok)")
    assert "[no_price 1, not_a_product 1]" in line and "brand 67%" in line
    assert "2 store(s)" in line


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
    assert "crawl health (" in result.stderr
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
    assert stats["grocer/health/stores"]["G102"]["dropped_by_reason"]["no_price"] >= 1


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
    runs = Rows(engine).all(CrawlRun, "close_reason", "reconciled", "stats")
    if max_drop_rate == "1":  # the same crawl without a budget: delisting happens
        assert [run[:2] for run in runs] == [("finished", True), ("finished", True)]
        assert gone["name"] in delisted
        return
    assert "Spider closed (error_budget)" in second.log, second.log[-3000:]
    assert "error budget exceeded" in second.log
    assert [run[:2] for run in runs] == [("finished", True), ("error_budget", False)]
    health = runs[1][2]["grocer/health/stores"]["G102"]
    assert health["dropped_by_reason"] == {"no_price": health["dropped"]}
    assert health["dropped"] >= 1 and health["drop_rate"] > 0.05
    assert delisted == set()  # the gone product was not delisted
