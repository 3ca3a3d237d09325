"""The four pipelines end to end on the test database, called directly (no Scrapy engine).

Includes the never-again tests of DESIGN.md §7 items 1, 7, 8 and 9.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from decimal import Decimal

import pytest
from scrapy.exceptions import DropItem
from sqlalchemy import func, select

from grocer.db.models import (
    Brand, Price, PriceHistory, Product, ProductKeyVariation, Sku, Store,
)
from grocer.items import ProductItem
from tests.helpers.pipeline_runner import PipelineChain

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)
T1 = T0 + dt.timedelta(days=1)


def woolworths(stockcode, name, price, *, barcode=None, brand="Farmhouse", size="2L",
               was=None, store="1147", at=T0):
    raw = {"Stockcode": stockcode, "Name": name, "Brand": brand, "PackageSize": size,
           "Price": price, "WasPrice": was if was is not None else price,
           "CupString": f"${price / 2:.2f} / 1L", "InstoreCupPrice": round(price / 2, 2),
           "CupMeasure": "1L", "IsAvailable": True, "UrlFriendlyName": "x"}
    if barcode:
        raw["Barcode"] = barcode
    return ProductItem(raw=raw, company="woolworths", store_code=store, scraped_at=at,
                       category_path=["Dairy, Eggs & Fridge", "Milk"])


def aldi(sku, name, cents, *, store="G102", at=T0):
    raw = {"sku": sku, "name": name, "brandName": "FARMDALE", "sellingSize": "2 L",
           "notForSale": True, "urlSlugText": "milk",
           "price": {"amount": cents, "comparison": cents // 2,
                     "comparisonDisplay": f"${cents / 200:.2f} per 1 L"},
           "categories": [{"name": "Dairy"}]}
    return ProductItem(raw=raw, company="aldi", store_code=store, scraped_at=at)


@pytest.fixture
def crawl(db_url, engine, tmp_path):
    """crawl(items, batch_size=…) runs one crawl's worth of items through new pipelines."""
    tables = tmp_path / "tables"
    tables.mkdir()

    def run(items, batch_size=1000):
        chain = PipelineChain(db_url, str(tables), batch_size=batch_size)
        results = chain.run(items)
        run.stats = chain.stats.values
        return results

    return run


def count(engine, model, *where):
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


def price_of(engine, product_id, store_code):
    with engine.connect() as connection:
        return connection.execute(
            select(Price).join(Store).where(Price.product_id == product_id,
                                            Store.store_code == store_code)).one_or_none()


# --- never again (DESIGN.md §7) -----------------------------------------------------------

@pytest.mark.parametrize("evidence", ["barcode", "sku"])
def test_product_matched_by_barcode_or_sku_with_another_key_gets_its_price(
        crawl, engine, evidence):
    """§7.1: SplitCart looked prices up by the incoming key and skipped this product."""
    first, = crawl([woolworths(111, "Full Cream Milk", 3.10, barcode="9300000000019")])
    renamed = woolworths(111 if evidence == "sku" else 222, "Milk Full Cream Fresh", 3.30,
                         barcode="9300000000019" if evidence == "barcode" else None, at=T1)
    second, = crawl([renamed])

    assert second["product_id"] == first["product_id"]
    assert second["incoming_key"] != first["product"]["normalized_name_brand_size"]
    # The key is rewritten to the canonical product's, the incoming one remembered.
    assert second["product"]["normalized_name_brand_size"] == \
        first["product"]["normalized_name_brand_size"]
    assert count(engine, ProductKeyVariation,
                 ProductKeyVariation.key == second["incoming_key"]) == 1
    assert price_of(engine, first["product_id"], "1147").price == Decimal("3.30")
    assert count(engine, Product) == 1


def test_two_products_with_identical_price_data_both_keep_their_prices(crawl, engine):
    """§7.7: the hash holds no product identity; SplitCart kept one price per hash."""
    items = [aldi("000000000000000001", "Apple Juice 2L", 400),
             aldi("000000000000000002", "Orange Juice 2L", 400)]
    first = crawl(items)
    assert first[0]["product"]["price_hash"] == first[1]["product"]["price_hash"]
    assert count(engine, Price) == 2

    # A later change of one to equal data of the other is still written.
    crawl([aldi("000000000000000001", "Apple Juice 2L", 500, at=T1),
           aldi("000000000000000002", "Orange Juice 2L", 500, at=T1)])
    for result in first:
        assert price_of(engine, result["product_id"], "G102").price == Decimal("5.00")
    assert count(engine, PriceHistory) == 4


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_barcode_attached_earlier_in_the_same_crawl_resolves(crawl, engine, batch_size):
    """§7.8: a barcode attached to an existing product was missing from the lookup cache, so a
    later item with that barcode was inserted again and hit the unique constraint."""
    existing, = crawl([woolworths(500, "Greek Yoghurt", 5.00, size="1kg")])
    results = crawl([
        woolworths(500, "Greek Yoghurt", 5.00, size="1kg", barcode="9300000000026", at=T1),
        woolworths(501, "Yoghurt Greek Style Tub", 5.20, size="1kg", barcode="9300000000026",
                   at=T1, store="1148"),
    ], batch_size=batch_size)

    assert all(not isinstance(r, DropItem) for r in results)
    assert {r["product_id"] for r in results} == {existing["product_id"]}
    with engine.connect() as connection:
        assert connection.scalar(select(Product.barcode)) == "9300000000026"
    assert count(engine, Product) == 1
    assert count(engine, Sku) == 2


def test_integer_sku_from_the_api_matches_the_stored_string_sku(crawl, engine):
    """§7.9: Woolworths Stockcode arrives as a JSON int, the database holds strings."""
    first, = crawl([woolworths(136341, "Chilli Hot", 0.14, size="each")])
    with engine.connect() as connection:
        assert connection.scalar(select(Sku.sku)) == "136341"
    second, = crawl([woolworths(136341, "Hot Chilli Birds Eye", 0.15, size="each", at=T1)])
    assert second["product_id"] == first["product_id"]
    assert count(engine, Sku) == 1
    assert count(engine, Product) == 1


# --- resolution rules ---------------------------------------------------------------------

def test_barcode_wins_over_sku_and_the_sku_is_repointed(crawl, engine):
    by_barcode, by_sku = crawl([
        woolworths(1, "Butter Salted", 4.0, size="250g", barcode="9300000000033"),
        woolworths(2, "Butter Unsalted", 4.0, size="250g"),
    ])
    moved, = crawl([woolworths(2, "Butter Unsalted", 4.5, size="250g",
                               barcode="9300000000033", at=T1)])
    assert moved["product_id"] == by_barcode["product_id"]
    with engine.connect() as connection:
        assert connection.scalar(select(Sku.product_id).where(Sku.sku == "2")) == \
            by_barcode["product_id"]


def test_a_known_key_variation_resolves_to_its_product(crawl, engine):
    product, = crawl([aldi("000000000000000009", "Milk Full Cream 2L", 310)])
    with engine.begin() as connection:
        connection.execute(ProductKeyVariation.__table__.insert().values(
            key="2000ml 2l cream farmdale fresh milk", product_id=product["product_id"]))
    # Another chain, no barcode, no shared SKU: only the learned variation connects them.
    item = aldi("000000000000000010", "Fresh Milk Cream 2L", 320, store="G103")
    result, = crawl([item])
    assert result["incoming_key"] == "2000ml 2l cream farmdale fresh milk"
    assert result["product_id"] == product["product_id"]


def test_new_products_sku_brand_and_category_are_stored(crawl, engine, db_session):
    result, = crawl([woolworths(77, "Lite Milk", 2.5, barcode="9300000000040")])
    product = db_session.get(Product, result["product_id"])
    assert product.barcode == "9300000000040"
    assert product.brand.normalized_name == "farmhouse"
    assert product.category_paths == [
        {"company": "woolworths", "path": ["Dairy, Eggs & Fridge", "Milk"]}]
    assert [s.sku for s in product.skus] == ["77"]


# --- prices -------------------------------------------------------------------------------

def test_unchanged_price_writes_nothing_moves_freshness_and_a_change_adds_history(crawl,
                                                                                 engine):
    from grocer.db.storecrawls import price_last_seen

    crawl([woolworths(5, "Cream 300ml", 3.0, size="300ml")])
    with engine.connect() as connection:
        row_before = connection.execute(select(Price)).one()
    crawl([woolworths(5, "Cream 300ml", 3.0, size="300ml", at=T1)])
    assert crawl.stats["grocer/prices/unchanged"] == 1
    assert count(engine, PriceHistory) == 1
    with engine.connect() as connection:
        assert connection.execute(select(Price)).one() == row_before  # the row is not written
        assert connection.scalar(select(Price.scraped_at)) == T0
        assert price_last_seen(connection, row_before.store_id, [row_before.product_id]) == {
            row_before.product_id: T1}

    crawl([woolworths(5, "Cream 300ml", 2.5, size="300ml", was=3.0, at=T1)])
    assert count(engine, PriceHistory) == 2
    with engine.connect() as connection:
        price = connection.execute(select(Price)).one()
    assert (price.price, price.was_price, price.is_on_special) == \
        (Decimal("2.50"), Decimal("3.00"), True)


def test_woolworths_was_price_equal_to_price_is_no_strike_through(crawl, engine):
    crawl([woolworths(6, "Eggs 12 Pack", 6.0, size="12 pack")])
    with engine.connect() as connection:
        assert connection.scalar(select(Price.was_price)) is None


def test_scraped_date_is_the_sydney_date(crawl, engine):
    late_utc = dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.timezone.utc)  # 01:30 next day AEDT
    crawl([woolworths(7, "Bread", 3.0, size="700g", at=late_utc)])
    with engine.connect() as connection:
        assert connection.scalar(select(Price.scraped_date)) == dt.date(2026, 11, 21)


def test_one_price_per_product_and_store(crawl, engine):
    crawl([woolworths(8, "Tea 100 Pack", 4.0, size="100 pack", store=code)
           for code in ("1147", "1148", "1147")])
    assert count(engine, Price) == 2


def test_bad_items_are_dropped_with_a_reason_and_the_rest_are_stored(crawl, engine):
    results = crawl([
        woolworths(9, "Good Product", 2.0),
        ProductItem(raw={"Stockcode": 10, "Name": "", "Price": 2.0}, company="woolworths",
                    store_code="1147", scraped_at=T0),
        ProductItem(raw={"Stockcode": 11, "Name": "No Price"}, company="woolworths",
                    store_code="1147", scraped_at=T0),
        ProductItem(raw={"Stockcode": 12, "Name": "x" * 10_000, "Price": 2.0},
                    company="woolworths", store_code="1147", scraped_at=T0),
        woolworths(13, "Bad Barcode", 2.0, barcode="12345678"),
    ])
    dropped = [r for r in results if isinstance(r, DropItem)]
    assert len(dropped) == 3
    assert crawl.stats["grocer/dropped/no_name"] == 1
    assert crawl.stats["grocer/dropped/no_price"] == 1
    assert crawl.stats["grocer/dropped/name_too_long"] == 1
    assert crawl.stats["grocer/invalid_barcode"] == 1
    assert count(engine, Price) == 2


def test_a_failing_price_batch_writes_nothing_and_is_counted(db_url, engine, caplog):
    from tests.helpers.pipeline_runner import DictStats
    from grocer.pipelines.prices import PricePipeline

    stats = DictStats()
    pipeline = PricePipeline(db_url, batch_size=10, stats=stats)
    good = {"price_current": 2.0, "price_hash": "a" * 32}
    pipeline.process_item(ProductItem(product=good, product_id=None, company="aldi",
                                      store_code="G102", scraped_at=T0))
    asyncio.run(pipeline.close_spider())
    assert stats.values["grocer/db_errors"] == 1
    assert stats.values["grocer/lost/db_error"] == 1
    assert count(engine, Price) == 0
    assert "price batch of 1 rows: 1 not written" in caplog.text


def test_a_resolve_batch_lost_before_it_could_be_split_is_logged(db_url, engine, caplog):
    from grocer import stats as keys
    from grocer.pipelines.resolve import ResolvePipeline
    from tests.helpers.pipeline_runner import DictStats

    stats = DictStats()
    stats.set_value(keys.DB_UNAVAILABLE, 1)  # found down by an earlier batch
    pipeline = ResolvePipeline(db_url, batch_size=10, stats=stats)
    item = ProductItem(product={"normalized_name_brand_size": "milk 2l"}, company="aldi",
                       store_code="G102", scraped_at=T0)

    async def run():
        resolving = asyncio.ensure_future(pipeline.process_item(item))
        await pipeline.close_spider()
        return await asyncio.gather(resolving, return_exceptions=True)

    result, = asyncio.run(run())
    assert isinstance(result, DropItem)
    assert stats.values["grocer/db_error_items"] == 1
    assert "product resolution lost 1 of a batch of 1 items" in caplog.text


# --- review findings: consistency of caches and database ----------------------------------

def test_keys_learned_inside_one_batch_are_stored_as_variations(crawl, engine):
    first, second = crawl([
        woolworths(30, "Oat Milk", 3.0, size="1L", barcode="9300000000057"),
        woolworths(31, "Milk Oat Barista Edition", 3.2, size="1L", barcode="9300000000057"),
    ])
    assert first["product_id"] == second["product_id"]
    with engine.connect() as connection:
        learned = set(connection.scalars(select(ProductKeyVariation.key)))
    assert learned == {second["incoming_key"]}


def test_an_sku_staged_in_the_batch_follows_the_barcode_that_wins(crawl, engine):
    existing, = crawl([woolworths(40, "Rice Crackers", 2.0, size="100g",
                                  barcode="9300000000064")])
    crawl([woolworths(41, "Crackers Rice Plain", 2.1, size="100g", at=T1),
           woolworths(41, "Crackers Rice Plain", 2.1, size="100g", barcode="9300000000064",
                      at=T1, store="1148")])
    with engine.connect() as connection:
        assert connection.scalar(select(Sku.product_id).where(Sku.sku == "41")) == \
            existing["product_id"]
    again, = crawl([woolworths(41, "Crackers Rice Plain", 2.1, size="100g", at=T1)])
    assert again["product_id"] == existing["product_id"]


def test_a_product_merged_away_by_another_crawl_is_not_used_after_a_minute(db_url, engine,
                                                                           tmp_path):
    from grocer.db.resolution import VERIFY_EVERY_SECONDS

    chain = PipelineChain(db_url, str(tmp_path))
    chain.run([woolworths(50, "Honey 500g", 6.0, size="500g")])
    with engine.begin() as connection:  # what another crawl's reconciliation may do
        connection.execute(Product.__table__.delete())
    chain.pipelines[2].resolver.verified_since -= VERIFY_EVERY_SECONDS + 1  # a minute later
    second, = chain.run([woolworths(50, "Honey 500g", 6.5, size="500g", at=T1)])
    assert not isinstance(second, DropItem)
    assert chain.stats.values.get("grocer/db_errors", 0) == 0
    assert count(engine, Product) == 1 and count(engine, Sku) == 1
    assert price_of(engine, second["product_id"], "1147").price == Decimal("6.50")


def test_a_failed_batch_leaves_nothing_in_the_caches(db_url, engine, tmp_path, monkeypatch):
    from grocer.db.resolution import ProductResolver

    chain = PipelineChain(db_url, str(tmp_path))
    original = ProductResolver._write

    def fail_after_writing(self, connection, plan):
        original(self, connection, plan)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ProductResolver, "_write", fail_after_writing)
    failed, = chain.run([woolworths(60, "Jam", 4.0, size="250g", brand="Cadbury")])
    assert isinstance(failed, DropItem) and chain.stats.values["grocer/db_errors"] == 1
    resolver = chain.pipelines[2].resolver
    assert not resolver.products and not resolver.by_sku
    monkeypatch.setattr(ProductResolver, "_write", original)

    item, = chain.run([woolworths(61, "Chocolate", 5.0, size="200g", brand="Nestle")])
    with engine.connect() as connection:
        brand = connection.scalar(select(Product.brand_id).where(
            Product.id == item["product_id"]))
        names = dict(connection.execute(select(Brand.id, Brand.normalized_name)).all())
    assert names[brand] == "nestle"


def test_an_older_observation_never_replaces_a_newer_price(crawl, engine):
    crawl([woolworths(70, "Coffee 200g", 9.0, size="200g", at=T1)])
    crawl([woolworths(70, "Coffee 200g", 7.0, size="200g", at=T0)])  # an old archive replayed
    assert crawl.stats["grocer/prices/older"] == 1
    with engine.connect() as connection:
        price = connection.execute(select(Price)).one()
    assert (price.price, price.last_seen) == (Decimal("9.00"), T1)
    assert count(engine, PriceHistory) == 1


def test_a_key_longer_than_its_column_is_dropped_with_a_reason(crawl, engine):
    name = " ".join(f"w{n:03}" for n in range(50))  # 249 characters; with brand and size more
    assert len(name) < 255
    results = crawl([woolworths(80, name, 2.0, brand="A Very Long Brand Name Indeed")])
    assert isinstance(results[0], DropItem)
    assert crawl.stats["grocer/dropped/key_too_long"] == 1


def test_a_known_product_resolves_at_once_without_waiting_for_a_batch(db_url, engine,
                                                                      tmp_path):
    """The steady state of a re-crawl: nothing to look up or write, so no batch, no query."""
    chain = PipelineChain(db_url, str(tmp_path))
    first, = chain.run([woolworths(90, "Biscuits", 2.0, size="200g", barcode="9300000000101")])
    clean, normalize, resolve, _ = chain.pipelines
    item = normalize.process_item(clean.process_item(
        woolworths(90, "Biscuits", 2.5, size="200g", barcode="9300000000101", at=T1)))
    result = resolve.process_item(item)
    assert result is item and item["product_id"] == first["product_id"]

    new = normalize.process_item(clean.process_item(woolworths(91, "Crackers", 2.0)))
    waiting = resolve.process_item(new)  # unknown: it waits for its batch
    assert asyncio.iscoroutine(waiting)
    waiting.close()


def test_small_caches_evict_and_still_resolve_every_product_to_its_id(db_url, engine):
    """The bounded caches evict on their own; what they forgot is looked up again."""
    from grocer.db.resolution import ProductResolver
    from grocer.db.stores import StoreDirectory

    company_id = StoreDirectory(engine, logging.getLogger("test")).company_id("woolworths")
    resolver = ProductResolver(engine, cache_limit=20)
    products = [{"sku": str(n), "barcode": f"93{n:011d}", "name": f"Product {n}",
                 "normalized_name_brand_size": f"key {n}"} for n in range(60)]

    def resolve(chunk):
        return [r.product_id for r in resolver.resolve_batch(
            chunk, [company_id] * len(chunk), ["woolworths"] * len(chunk))]

    ids = resolve(products)
    assert resolve(products[:20]) == ids[:20]  # evicted: looked up again
    assert resolve(products[40:]) == ids[40:]
    assert count(engine, Product) == 60


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_two_listings_of_one_product_give_one_price_whatever_the_order(crawl, engine,
                                                                       batch_size):
    """Two SKUs of one product at one store (same barcode): the lowest price counts, ties by
    SKU; two identical crawls end alike and the second writes no history (issue 14)."""
    def listings(at, reverse=False):
        items = [woolworths(90, "Oat Milk 1L", 3.2, size="1L", barcode="9300000000076", at=at),
                 woolworths(91, "Oat Milk 1L", 2.9, size="1L", barcode="9300000000076", at=at)]
        return items[::-1] if reverse else items

    first = crawl(listings(T0), batch_size=batch_size)
    assert first[0]["product_id"] == first[1]["product_id"]
    with engine.connect() as connection:
        after_first = tuple(connection.execute(select(Price.price, Price.sku)).one())
    crawl(listings(T1, reverse=True), batch_size=batch_size)
    with engine.connect() as connection:
        assert tuple(connection.execute(select(Price.price, Price.sku)).one()) == \
            after_first == (Decimal("2.90"), "91")
    assert count(engine, PriceHistory) == 1


@dataclasses.dataclass
class DataclassProductItem:
    """An item type that is not a mapping: the pipelines reach it through an ItemAdapter."""

    raw: dict
    company: str
    store_code: str
    scraped_at: dt.datetime
    category_path: list | None = None
    product: dict | None = None
    incoming_key: str | None = None
    product_id: int | None = None


@pytest.mark.parametrize("kind", ["dict", "dataclass"])
def test_dict_and_dataclass_items_go_through_the_pipelines_like_a_product_item(crawl, engine,
                                                                                 kind):
    item = woolworths(111, "Full Cream Milk", 3.10, barcode="9300000000019")
    reference, = crawl([woolworths(111, "Full Cream Milk", 3.10, barcode="9300000000019")])
    other = dict(item) if kind == "dict" else DataclassProductItem(**dict(item))

    result, = crawl([other])

    values = result if kind == "dict" else dataclasses.asdict(result)
    assert values["product_id"] == reference["product_id"]
    assert values["product"] == reference["product"]
    assert values["incoming_key"] == reference["incoming_key"]
    assert price_of(engine, reference["product_id"], "1147").price == Decimal("3.10")
