"""Database faults in the resolve and price pipelines (issue 14): batches run off the event
loop one after another, a batch the database refuses loses only the refused items, and a
product merged away by another crawl's reconciliation costs no batch."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import delete, select

from grocer.db.models import Price, PriceHistory, Product, Sku, Store
from grocer.db.prices import PriceWriter
from grocer.db.reconcile import reconcile_products
from grocer.db.reconcile.orphans import delete_orphans
from grocer.normalization.dates import utcnow
from grocer.pipelines.batcher import Batcher, input_ended, isolate
from grocer.pipelines.prices import PricePipeline
from grocer.pipelines.resolve import ResolvePipeline
from tests.helpers.pipeline_runner import DictStats, PipelineChain
from tests.pipelines.test_pipelines import T1, aldi, count, woolworths

STOCKCODES = range(10, 18)


def test_batches_run_in_a_worker_thread_in_order_while_the_loop_keeps_running():
    loop_thread = threading.get_ident()
    release = threading.Event()
    batches, threads = [], []

    def write(payloads):
        threads.append(threading.get_ident())
        batches.append(list(payloads))
        release.wait(30)  # a database that takes its time
        return [payload * 10 for payload in payloads]

    async def crawl():
        batcher = Batcher(write, size=2)
        first = [asyncio.ensure_future(batcher.submit(n)) for n in (1, 2)]
        second = [asyncio.ensure_future(batcher.submit(n)) for n in (3, 4)]
        ticks = 0
        while not batches:  # the loop runs while the first batch is being written
            ticks += 1
            await asyncio.sleep(0)
        for _ in range(100):
            await asyncio.sleep(0)
        assert batches == [[1, 2]]  # the second batch waits for the first
        release.set()
        results = await asyncio.gather(*first, *second)
        await batcher.close()
        return ticks, results

    ticks, results = asyncio.run(crawl())
    assert ticks > 0 and results == [10, 20, 30, 40]
    assert batches == [[1, 2], [3, 4]]
    assert loop_thread not in threads


def test_once_the_input_ended_a_batch_waits_for_the_items_in_flight_not_for_its_delay():
    batches = []

    def write(payloads):
        batches.append(list(payloads))
        return payloads

    async def ingest():
        batcher = Batcher(write, size=100, delay=3600)
        early = [asyncio.ensure_future(batcher.submit(n)) for n in (1, 2)]
        await asyncio.sleep(0)  # submitted: their batch waits for more items
        # The last items, still in flight when the input ends: they reach the batch later.
        late = [asyncio.ensure_future(batcher.submit(n)) for n in (3, 4)]
        batcher.input_ended()
        turns = 0
        while not all(future.done() for future in early + late) and turns < 1000:
            turns += 1
            await asyncio.sleep(0)
        await batcher.close()
        return [future.result() for future in early + late]

    assert asyncio.run(ingest()) == [1, 2, 3, 4]
    assert batches == [[1, 2, 3, 4]]


def test_a_batch_is_written_once_its_input_paused_not_after_its_delay():
    """The end of a store's pages: the crawl has nothing to do but these items, and the next
    store starts only once they are done."""
    batches = []

    def write(payloads):
        batches.append(list(payloads))
        return payloads

    async def crawl():
        batcher = Batcher(write, size=100, delay=3600, pause=0.01)
        callers = [asyncio.ensure_future(batcher.submit(n)) for n in (1, 2)]
        await asyncio.sleep(0)
        callers.append(asyncio.ensure_future(batcher.submit(3)))  # within the pause: joins
        # Bounds only a hang: the delay (an hour) is what the batch must not wait for.
        results = await asyncio.wait_for(asyncio.gather(*callers), 60)
        await batcher.close()
        return results

    assert asyncio.run(crawl()) == [1, 2, 3]
    assert batches == [[1, 2, 3]]


def test_the_resolve_pipeline_writes_a_paused_batch_before_its_delay(tmp_path):
    pipeline = ResolvePipeline(f"sqlite:///{tmp_path / 'grocer.sqlite3'}")
    assert 0 < pipeline.batcher.pause < pipeline.batcher.delay


def _price_item(sku: int) -> dict:
    return {"product": {"price_current": 1.5, "price_hash": f"h{sku}", "sku": str(sku)},
            "product_id": sku, "company": "aldi", "store_code": "G102",
            "scraped_at": utcnow()}


def test_the_item_that_fills_a_price_batch_waits_only_while_the_batch_before_is_written(
        tmp_path, monkeypatch):
    """Double buffering: one batch is written while the next fills; the crawl is held back
    only when a full batch would have to queue behind another."""
    pipeline = PricePipeline(f"sqlite:///{tmp_path / 'grocer.sqlite3'}", batch_size=2)
    release = threading.Event()
    written = []

    def write_slowly(write_part, batch):  # a database that takes its time
        release.wait(30)
        written.append([listing.row["product_id"] for listing in batch])
        return [], []

    monkeypatch.setattr(pipeline, "_write_isolated", write_slowly)

    async def crawl():
        items = [_price_item(sku) for sku in range(1, 5)]
        assert pipeline.process_item(items[0]) is items[0]
        # Fills the first batch: nothing is being written, so it does not wait for it.
        assert pipeline.process_item(items[1]) is items[1]
        assert pipeline.process_item(items[2]) is items[2]
        held = pipeline.process_item(items[3])  # fills the second: the first is still written
        assert asyncio.iscoroutine(held)
        waiting = asyncio.ensure_future(held)
        for _ in range(100):
            await asyncio.sleep(0)
        assert not waiting.done() and written == []
        release.set()
        assert await waiting is items[3]
        await pipeline.close_spider()

    asyncio.run(crawl())
    assert written == [[1, 2], [3, 4]]


def test_the_resolve_pipeline_hears_that_the_input_ended(tmp_path):
    crawler = get_crawler(settings_dict={
        "GROCER_DATABASE_URL": f"sqlite:///{tmp_path / 'grocer.sqlite3'}"})
    pipeline = ResolvePipeline.from_crawler(crawler)
    crawler.signals.send_catch_log(input_ended)
    assert pipeline.batcher.delay == 0


async def _delivered(batcher: Batcher, payloads) -> list:
    """Submit the payloads and close the batcher; each caller's answer (its exception
    included), or "never answered" for a caller still waiting once every batch was handled."""
    callers = [asyncio.ensure_future(batcher.submit(payload)) for payload in payloads]
    await asyncio.sleep(0)  # every payload submitted
    await batcher.close()
    for _ in range(10):  # let the answered callers run
        await asyncio.sleep(0)
    return [(caller.exception() or caller.result()) if caller.done() else "never answered"
            for caller in callers]


def test_a_failing_batch_callback_still_answers_every_caller_and_is_counted(caplog):
    stats = DictStats()

    def count(results):
        raise KeyError("a bug in the stats callback")

    answers = asyncio.run(_delivered(
        Batcher(lambda payloads: [p * 10 for p in payloads], size=2, on_batch=count,
                stats=stats), [1, 2, 3]))
    assert answers == [10, 20, 30]
    assert stats.values["grocer/item_errors"] == 2  # once per batch
    assert "counting a batch of 2 items failed" in caplog.text


def test_a_batch_with_a_result_missing_fails_every_caller_instead_of_hanging():
    answers = asyncio.run(_delivered(Batcher(lambda payloads: payloads[1:], size=3), [1, 2, 3]))
    assert [type(answer) for answer in answers] == [RuntimeError] * 3
    assert "a batch of 3 gave 2 results" in str(answers[0])


def _chain(db_url, tmp_path, batch_size=100) -> PipelineChain:
    return PipelineChain(db_url, str(tmp_path), batch_size=batch_size)


def test_a_product_the_database_refuses_loses_only_its_item(db_url, engine, tmp_path,
                                                           monkeypatch):
    chain = _chain(db_url, tmp_path)
    resolve = chain.pipelines[2]
    resolve_item = resolve.process_item

    def refused_name(item):
        if item["product"]["sku"] == "13":
            item["product"]["name"] = None  # NOT NULL: both engines refuse the product row
        return resolve_item(item)

    monkeypatch.setattr(resolve, "process_item", refused_name)
    results = chain.run([woolworths(n, f"Product {n}", 2.0 + n) for n in STOCKCODES])

    lost = [r for r in results if isinstance(r, DropItem)]
    assert len(lost) == 1 and "db_error" in str(lost[0])
    assert chain.stats.values["grocer/lost/db_error"] == 1
    assert chain.stats.values["grocer/store/1147/lost"] == 1
    assert chain.stats.values["grocer/db_errors"] == 1
    with engine.connect() as connection:
        skus = set(connection.scalars(select(Sku.sku)))
    assert skus == {str(n) for n in STOCKCODES} - {"13"}
    assert count(engine, Price) == len(STOCKCODES) - 1


def _store_with_no_row(prices, monkeypatch) -> None:
    prices.directory.stores[("woolworths", "9999")] = 10**6  # a foreign key to no store


def _store_that_cannot_be_created(prices, monkeypatch) -> None:
    store_id = prices.directory.store_id

    def refusing(slug, store_code):
        if store_code == "9999":
            raise RuntimeError("the store could not be created")
        return store_id(slug, store_code)

    monkeypatch.setattr(prices.directory, "store_id", refusing)


@pytest.mark.parametrize("fault", [_store_with_no_row, _store_that_cannot_be_created])
def test_a_listing_whose_row_or_store_fails_loses_only_its_item(db_url, engine, tmp_path,
                                                                 monkeypatch, fault):
    chain = _chain(db_url, tmp_path)
    fault(chain.pipelines[3], monkeypatch)
    items = [woolworths(n, f"Product {n}", 2.0 + n) for n in STOCKCODES]
    items.append(woolworths(10, "Product 10", 2.5, store="9999"))
    chain.run(items)

    assert chain.stats.values["grocer/lost/db_error"] == 1
    assert chain.stats.values["grocer/store/9999/lost"] == 1
    assert chain.stats.values.get("grocer/store/1147/lost", 0) == 0
    assert chain.stats.values["grocer/prices/new"] == len(STOCKCODES)
    assert count(engine, Price) == len(STOCKCODES)


def test_a_product_merged_away_during_the_crawl_costs_no_batch(db_url, engine, tmp_path):
    chain = _chain(db_url, tmp_path, batch_size=10)
    first = chain.run([woolworths(21, "Oat Milk", 3.0), woolworths(22, "Almond Milk", 3.5)])
    merged, survivor = (item["product_id"] for item in first)
    keys = [item["product"]["normalized_name_brand_size"] for item in first]
    # Another crawl's reconciliation merges the first product into the second.
    assert reconcile_products(engine, {keys[0]: keys[1]}).products_merged == 1

    again = chain.run([woolworths(21, "Oat Milk", 2.9, store="1147"),
                       woolworths(21, "Oat Milk", 2.8, store="1148")])
    assert [item["product_id"] for item in again] == [merged, merged]  # the cache's stale id

    assert chain.stats.values.get("grocer/lost_total", 0) == 0
    assert chain.stats.values.get("grocer/db_errors", 0) == 0
    with engine.connect() as connection:
        rows = connection.execute(select(Store.store_code, Price.product_id, Price.price)
                                  .join(Store)).all()
        assert connection.scalar(select(Product.id).where(Product.id == merged)) is None
    assert {code: (pid, float(price)) for code, pid, price in rows} == {
        "1147": (survivor, 2.9), "1148": (survivor, 2.8)}
    # The resolver forgot the merged-away id: the next item resolves to the survivor.
    third, = chain.run([woolworths(21, "Oat Milk", 2.9)])
    assert third["product_id"] == survivor


def test_a_product_merged_away_costs_no_resolve_batch_either(db_url, engine, tmp_path):
    """A new SKU of a cached product that was merged away: its SKU row would name the gone
    product; the batch looks its products up again and links the SKU to the survivor."""
    chain = _chain(db_url, tmp_path, batch_size=10)
    first = chain.run([woolworths(31, "Oat Milk", 3.0, barcode="9300000000057"),
                       woolworths(32, "Almond Milk", 3.5)])
    merged, survivor = (item["product_id"] for item in first)
    keys = [item["product"]["normalized_name_brand_size"] for item in first]
    assert reconcile_products(engine, {keys[0]: keys[1]}).products_merged == 1

    new_sku, = chain.run([woolworths(33, "Oat Milk", 3.0, barcode="9300000000057")])
    assert new_sku["product_id"] == survivor
    assert chain.stats.values.get("grocer/lost_total", 0) == 0
    with engine.connect() as connection:
        assert connection.scalar(select(Sku.product_id).where(Sku.sku == "33")) == survivor


def test_a_company_that_cannot_be_found_or_created_loses_only_its_items(db_url, engine,
                                                                       tmp_path, monkeypatch):
    chain = _chain(db_url, tmp_path)
    directory = chain.pipelines[2].directory
    company_id = directory.company_id

    def refusing(slug):
        if slug == "aldi":
            raise RuntimeError("the company could not be created")
        return company_id(slug)

    monkeypatch.setattr(directory, "company_id", refusing)
    results = chain.run([*(woolworths(n, f"Product {n}", 2.0 + n) for n in STOCKCODES),
                         aldi("700", "Milk", 199)])

    assert isinstance(results[-1], DropItem)
    assert chain.stats.values["grocer/lost/db_error"] == 1
    assert chain.stats.values["grocer/store/G102/lost"] == 1
    assert count(engine, Price) == len(STOCKCODES)


WAITING_CODES = ("1147", "1148")


def _listings_that_wait(db_url, engine, tmp_path) -> tuple[PipelineChain, list]:
    """A crawl that stored Oat Milk (SKU 41) at two stores and Rice Milk (SKU 51) at one, and a
    second crawl's chain that sees only their other, dearer listings (SKUs 42, 52): those wait
    for the stored listings, which never come, and become the price when the pipeline closes.
    Returns the second chain and its items."""
    oat, rice = "9300000000088", "9300000000095"
    stored = [woolworths(41, "Oat Milk", 2.0, barcode=oat, store=code) for code in WAITING_CODES]
    stored.append(woolworths(51, "Rice Milk", 2.0, barcode=rice))
    _chain(db_url, tmp_path).run(stored)
    later = [woolworths(42, "Oat Milk", 3.0, barcode=oat, store=code, at=T1)
             for code in WAITING_CODES]
    later.append(woolworths(52, "Rice Milk", 3.0, barcode=rice, at=T1))
    return _chain(db_url, tmp_path), later


def _prices(engine) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(select(Store.store_code, Price.product_id, Price.sku,
                                         Price.price).join(Store))
        return {(code, sku): (product_id, float(price)) for code, product_id, sku, price in rows}


def test_a_waiting_listing_the_database_refuses_at_the_end_loses_only_itself(
        db_url, engine, tmp_path, monkeypatch):
    chain, later = _listings_that_wait(db_url, engine, tmp_path)
    write = PriceWriter._write

    def refuse_rice_milk(self, connection, candidates, final):
        if final and any(row["sku"] == "52" for row in candidates.values()):
            raise RuntimeError("refused by a trigger")
        return write(self, connection, candidates, final)

    monkeypatch.setattr(PriceWriter, "_write", refuse_rice_milk)
    chain.run(later)

    assert chain.stats.values["grocer/lost/db_error"] == 1
    assert chain.stats.values["grocer/store/1147/lost"] == 1  # its store fails
    assert chain.stats.values.get("grocer/store/1148/lost", 0) == 0
    assert chain.stats.values["grocer/db_errors"] == 1
    prices = _prices(engine)
    assert [prices[(code, "42")][1] for code in WAITING_CODES] == [3.0, 3.0]
    assert prices[("1147", "51")][1] == 2.0  # the refused listing changed nothing


def test_a_waiting_listing_whose_product_was_merged_away_is_written_to_the_survivor(
        db_url, engine, tmp_path, monkeypatch):
    chain, later = _listings_that_wait(db_url, engine, tmp_path)
    prices = chain.pipelines[3]
    close = prices.close_spider
    with engine.connect() as connection:
        keys = dict(connection.execute(select(Sku.sku, Product.normalized_name_brand_size)
                                       .join(Product)).all())

    async def merge_then_close():  # another crawl's reconciliation, while the listings wait
        await prices.flush()
        assert reconcile_products(engine, {keys["51"]: keys["41"]}).products_merged == 1
        await close()

    monkeypatch.setattr(prices, "close_spider", merge_then_close)
    chain.run(later)

    assert chain.stats.values.get("grocer/lost_total", 0) == 0
    assert chain.stats.values.get("grocer/db_errors", 0) == 0
    with engine.connect() as connection:
        survivor = connection.scalar(select(Sku.product_id).where(Sku.sku == "41"))
    assert _prices(engine) == {("1147", "42"): (survivor, 3.0), ("1148", "42"): (survivor, 3.0)}


def test_a_product_a_merge_re_resolution_creates_is_counted_created(db_url, engine, tmp_path):
    """Another crawl's clean-up removed a product this crawl's caches still hold: the price
    batch re-resolves its item, which creates the product again — counted as resolve counts."""
    chain = _chain(db_url, tmp_path, batch_size=10)
    first, = chain.run([woolworths(61, "Soy Milk", 3.0)])
    with engine.begin() as connection:
        for table in (Price, PriceHistory):
            connection.execute(delete(table).where(table.product_id == first["product_id"]))
    assert delete_orphans(engine) == 1

    again, = chain.run([woolworths(61, "Soy Milk", 2.9)])
    assert again["product_id"] == first["product_id"]  # the cache's stale id
    assert chain.stats.values["grocer/products/created"] == 2
    assert chain.stats.values.get("grocer/lost_total", 0) == 0
    with engine.connect() as connection:
        recreated = connection.scalar(select(Sku.product_id).where(Sku.sku == "61"))
    assert _prices(engine) == {("1147", "61"): (recreated, 2.9)}


def test_a_written_batch_is_freed_at_once_not_at_the_next_full_collection():
    class Row:
        pass

    rows = [Row() for _ in range(8)]
    alive = [weakref.ref(row) for row in rows]
    gc.disable()  # only reference counting frees them: no reference cycle may hold the batch
    try:
        done, lost = isolate(len, rows)
        del rows, done, lost
        assert [ref for ref in alive if ref() is not None] == []
    finally:
        gc.enable()
