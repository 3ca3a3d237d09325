"""Real `scrapy crawl`s with the pipeline worker (the default): they store what a crawl with
the pipelines in its own process stores, and a worker killed mid-crawl fails the crawl truthfully
instead of hanging it or reporting success."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from grocer import settings as defaults
from grocer.db.models import Price, PriceHistory, Product, Sku, Store
from grocer.db.stores import load_stores
from grocer.storelist import read_store_list
from tests.helpers.crawl_fixtures import STORES_FILE
from tests.helpers.database import empty_tables

pytestmark = pytest.mark.slow

WORKER_LINE = "item pipelines run in worker process"
COUNTED = ("item_scraped_count", "grocer/validated", "grocer/products/created",
           "grocer/prices/new", "grocer/history_rows", "grocer/health/stored")


def stored(engine) -> dict:
    key = Product.normalized_name_brand_size
    with engine.connect() as connection:
        return {
            "products": sorted(connection.execute(select(key, Product.name, Product.barcode))),
            "skus": sorted(connection.execute(select(Sku.sku, key).join(Product))),
            "prices": sorted(connection.execute(
                select(key, Store.store_code, Price.price, Price.unit_price, Price.sku)
                .join(Product, Price.product_id == Product.id).join(Store))),
            "history": sorted(connection.execute(
                select(key, PriceHistory.price).join(Product))),
        }


def test_a_crawl_with_the_worker_stores_and_counts_what_an_in_process_crawl_does(
        crawl, stores):
    worker = crawl("aldi", args={"stores": "G102,G105"})
    assert worker.close_reason == "finished" and worker.returncode == 0, worker.log[-3000:]
    assert WORKER_LINE in worker.log
    with_worker = stored(stores)
    assert with_worker["prices"]

    empty_tables(stores)
    load_stores(stores, read_store_list(STORES_FILE))
    in_process = crawl("aldi", args={"stores": "G102,G105"},
                       settings={"GROCER_PIPELINE_WORKER": "0"})
    assert in_process.close_reason == "finished", in_process.log[-3000:]
    assert WORKER_LINE not in in_process.log
    assert stored(stores) == with_worker
    assert {key: worker.stat(key) for key in COUNTED} == {
        key: in_process.stat(key) for key in COUNTED}
    assert worker.store_status() == in_process.store_status() == {
        "G102": "completed", "G105": "completed"}
    # The items the crawl exports carry what the pipelines made of them, as in-process.
    assert exported(worker) == exported(in_process)
    assert worker.items and all(item["product"]["normalized_name_brand_size"]
                                for item in worker.items)


def exported(result) -> list[str]:
    """The feed's items without what differs from crawl to crawl (times, database ids)."""
    return sorted(json.dumps({key: value for key, value in item.items()
                              if key not in ("scraped_at", "product_id")}, sort_keys=True)
                  for item in result.items)


def test_a_worker_killed_mid_crawl_fails_its_store_and_the_crawl_with_db_errors(crawl, stores):
    pipelines = {**defaults.ITEM_PIPELINES, "tests.helpers.dying_pipeline.DiesAtItem": 350}
    result = crawl("aldi", args={"stores": "G102"}, timeout=120,
                   settings={"ITEM_PIPELINES": json.dumps(pipelines)},
                   env={"GROCER_TEST_DIE_AT_ITEM": "5"})
    assert result.close_reason == "db_errors", result.log[-3000:]
    assert result.returncode == 1
    assert "exited unexpectedly" in result.log
    assert result.stat("grocer/lost/worker_lost") >= 1
    store = result.crawl_state["stores"]["G102"]
    # It died mid-store: the crawl closed before the store's pages were done.
    assert (store["status"], store["reason"]) == ("failed", "crawl_closed")
    assert store["lost"] == result.stat("grocer/lost/worker_lost")
    assert "Traceback" not in result.log
