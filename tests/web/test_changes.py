"""/changes reads each history row's previous_price (migration 0009): the price writer fills
it, the migration fills existing rows, and /changes lists what the row-by-row look-up of the
previous history row listed before."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from grocer.db import migrate
from grocer.db.models import PriceHistory
from grocer.db.prices import PriceWriter
from grocer.web.app import create_app
from tests.reconcile.helpers import Rows

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CRAWLS = 5


def price_row(product_id, store_id, price, at, sku=None):
    return {"product_id": product_id, "store_id": store_id, "price": price, "was_price": None,
            "unit_price": None, "unit_of_measure": None, "per_unit_price_string": None,
            "is_on_special": False, "is_available": True, "price_hash": f"{price}",
            "sku": sku, "scraped_at": at, "scraped_date": at.date()}


@pytest.fixture
def crawled(engine):
    """Five daily crawls of 30 products at 3 stores through the price writer, prices moving at
    random (some products appear late, some stores list a product twice)."""
    rows = Rows(engine)
    company = rows.company("aldi")
    stores = [rows.store(company, code) for code in ("G1", "G2", "G3")]
    products = [rows.product(f"product {n}", name=f"Product {n}") for n in range(30)]
    rng = random.Random(9)
    for crawl in range(CRAWLS):
        at = T0 + dt.timedelta(days=crawl)
        writer = PriceWriter(engine)
        batch = []
        for product in products[:10 + 5 * crawl]:
            for store in stores:
                price = Decimal(rng.choice(["1.00", "1.50", "2.00", "2.50"]))
                batch.append(price_row(product, store, price, at, sku="A"))
                if rng.random() < 0.1:  # a second listing: the lower one is the price
                    batch.append(price_row(product, store, price - Decimal("0.25"), at, "B"))
        rng.shuffle(batch)
        for start in range(0, len(batch), 17):
            writer.write(batch[start:start + 17])
        writer.finish()
    return stores, products


def looked_up_changes(engine, since):
    """What /changes listed before 0009: each window row against the newest history row of
    its product and store with an earlier scraped_at (ties by id)."""
    with engine.connect() as connection:
        history = connection.execute(
            select(PriceHistory.product_id, PriceHistory.store_id, PriceHistory.scraped_at,
                   PriceHistory.price)
            .order_by(PriceHistory.scraped_at, PriceHistory.id)).all()
    earlier = defaultdict(list)
    changes, first = set(), set()
    for product_id, store_id, at, price in history:
        before = [p for when, p in earlier[(product_id, store_id)] if when < at]
        if at >= since:
            if not before:
                first.add((at.isoformat(), product_id, store_id, price))
            elif before[-1] != price:
                changes.add((at.isoformat(), product_id, store_id, before[-1], price))
        earlier[(product_id, store_id)].append((at, price))
    return changes, first


def listed_changes(client, since):
    body = client.get("/api/changes", params={"since": since.isoformat(),
                                               "per_page": 200}).json()
    assert body["total_changes"] <= 200 and body["total_first_seen"] <= 200
    changes = {(c["at"], c["product_id"], c["store_id"], Decimal(str(c["old_price"])),
                Decimal(str(c["new_price"]))) for c in body["changes"]}
    first = {(c["at"], c["product_id"], c["store_id"], Decimal(str(c["new_price"])))
             for c in body["first_seen"]}
    assert len(changes) == body["total_changes"] and len(first) == body["total_first_seen"]
    return changes, first


@pytest.mark.parametrize("day", [0, 2, 4])
def test_changes_from_written_previous_prices_equal_the_old_look_up(engine, db_url, crawled,
                                                                    day):
    since = T0 + dt.timedelta(days=day)
    expected_changes, expected_first = looked_up_changes(engine, since)
    assert expected_changes and expected_first
    with TestClient(create_app(db_url)) as client:
        assert listed_changes(client, since) == (expected_changes, expected_first)


def test_migration_fills_previous_prices_of_existing_history(engine, db_url, crawled):
    with engine.connect() as connection:
        written = dict(connection.execute(select(PriceHistory.id, PriceHistory.previous_price)).all())
    migrate.downgrade(engine, "0008")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        filled = dict(connection.execute(select(PriceHistory.id, PriceHistory.previous_price)).all())
    assert filled == written and any(filled.values()) and None in filled.values()
    since = T0 + dt.timedelta(days=3)
    with TestClient(create_app(db_url)) as client:
        assert listed_changes(client, since) == looked_up_changes(engine, since)


def test_migration_compares_rows_of_one_moment_with_the_moment_before(engine):
    """Two history rows at the same time (possible in data written before the writer kept one
    row per crawl) both get the price before that moment, as the old look-up gave them."""
    rows = Rows(engine)
    company = rows.company("aldi")
    store, other = rows.store(company, "G1"), rows.store(company, "G2")
    product = rows.product("milk")
    ids = [rows.history(product, store, scraped_at=at, price=price) for at, price in [
        (T0, "1.00"), (T0 + dt.timedelta(days=1), "2.00"), (T0 + dt.timedelta(days=1), "3.00"),
        (T0 + dt.timedelta(days=2), "4.00")]]
    elsewhere = rows.history(product, other, scraped_at=T0 + dt.timedelta(days=3), price="5.00")
    migrate.downgrade(engine, "0008")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        filled = dict(connection.execute(select(PriceHistory.id, PriceHistory.previous_price)).all())
    assert [filled[i] for i in ids] == [None, Decimal("1.00"), Decimal("1.00"), Decimal("3.00")]
    assert filled[elsewhere] is None
