"""The data model's constraints are enforced by the database itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grocer.db.models import Company, Price, Product, ProductKeyVariation, Sku, Store

NOW = dt.datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=dt.timezone.utc)


@pytest.fixture
def world(db_session):
    company = Company(name="Coles", slug="coles")
    store = Store(company=company, store_code="COL:401", site_store_id="401")
    product = Product(name="Milk", normalized_name_brand_size="milk", sizes=[],
                      brand_name_company_pairs=[], category_paths=[])
    db_session.add_all([company, store, product])
    db_session.commit()
    return company, store, product


def price(product, store, value="3.10"):
    return Price(product_id=product.id, store_id=store.id, price=Decimal(value), price_hash="h",
                 scraped_at=NOW, scraped_date=NOW.date(), last_seen=NOW)


def test_a_second_price_for_the_same_product_and_store_is_refused(db_session, world):
    _, store, product = world
    db_session.add(price(product, store))
    db_session.commit()
    db_session.add(price(product, store, "2.00"))
    with pytest.raises(IntegrityError):
        db_session.commit()


@pytest.mark.parametrize("make", [
    lambda c, s, p: Product(name="Other", normalized_name_brand_size="milk", sizes=[],
                            brand_name_company_pairs=[], category_paths=[]),
    lambda c, s, p: Store(company_id=c.id, store_code="COL:401"),
    lambda c, s, p: ProductKeyVariation(key="milk 2l", product_id=p.id),
    lambda c, s, p: Sku(company_id=c.id, sku="123", product_id=p.id),
])
def test_unique_identities(db_session, world, make):
    company, store, product = world
    db_session.add(ProductKeyVariation(key="milk 2l", product_id=product.id))
    db_session.add(Sku(company_id=company.id, sku="123", product_id=product.id))
    db_session.commit()
    db_session.add(make(company, store, product))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_keys_compare_exactly_case_and_all(db_session, world):
    """MySQL's default collation would call 'Milk' and 'milk' the same key."""
    db_session.add(Product(name="Milk", normalized_name_brand_size="Milk", sizes=[],
                           brand_name_company_pairs=[], category_paths=[]))
    db_session.commit()
    assert db_session.scalar(select(Product.id).where(
        Product.normalized_name_brand_size == "milk")) == world[2].id


def test_barcodes_are_unique_but_optional(db_session, world):
    for key in ("a", "b"):
        db_session.add(Product(name=key, normalized_name_brand_size=key, sizes=[],
                               brand_name_company_pairs=[], category_paths=[]))
    db_session.commit()  # two products without a barcode
    world[2].barcode = "9300000000014"
    db_session.add(Product(name="c", normalized_name_brand_size="c", barcode="9300000000014",
                           sizes=[], brand_name_company_pairs=[], category_paths=[]))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_money_is_exact_and_times_come_back_aware_utc(db_session, world):
    _, store, product = world
    db_session.add(price(product, store, "0.10"))
    db_session.commit()
    db_session.expire_all()
    stored = db_session.scalar(select(Price))
    assert stored.price == Decimal("0.10")
    assert stored.scraped_at == NOW and stored.scraped_at.tzinfo is not None


def test_naive_datetimes_are_refused(db_session, world):
    _, store, product = world
    row = price(product, store)
    row.scraped_at = dt.datetime(2026, 1, 1)
    db_session.add(row)
    with pytest.raises(Exception, match="naive datetime"):
        db_session.commit()


def test_json_columns_round_trip(db_session, world):
    product = world[2]
    product.sizes = ["1000ml", "1l"]
    product.category_paths = [{"company": "coles", "path": ["Dairy", "Milk"]}]
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Product, product.id).category_paths[0]["path"] == ["Dairy", "Milk"]


def test_deleting_a_product_deletes_its_prices_and_skus(db_session, world):
    company, store, product = world
    db_session.add_all([price(product, store),
                        Sku(company_id=company.id, sku="1", product_id=product.id)])
    db_session.commit()
    db_session.delete(product)
    db_session.commit()
    assert db_session.scalar(select(Price)) is None
    assert db_session.scalar(select(Sku)) is None
