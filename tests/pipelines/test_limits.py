"""Values the database cannot hold never fail a batch (issue 14): nulled and counted, or the
item dropped with a reason; every other item is stored. Runs on MariaDB under -m db."""

from __future__ import annotations

import datetime as dt

from scrapy.exceptions import DropItem
from sqlalchemy import func, select

from grocer.db.models import Price, Product
from grocer.items import ProductItem
from grocer.normalization import limits
from grocer.normalization.dates import utcnow
from tests.helpers.pipeline_runner import PipelineChain

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)


def archive_item(sku, *, store="G102", at=T0, **fields):
    product = {"sku": sku, "name": f"Product {sku} 500g", "brand": "FARMDALE", "size": "500g",
               "price_current": 4.0, "per_unit_price_string": "$8.00 per 1 kg",
               "per_unit_price_value": 8.0, "url": f"https://example.test/p/{sku}",
               "image_url": f"https://example.test/i/{sku}.jpg", **fields}
    return ProductItem(product=product, company="aldi", store_code=store, scraped_at=at)


def test_unstorable_values_are_nulled_or_dropped_and_the_rest_is_stored(db_url, engine,
                                                                         tmp_path):
    items = [archive_item(str(n)) for n in range(20)]
    items.append(archive_item("url", url="https://example.test/" + "x" * 1500,
                              image_url="https://example.test/" + "y" * 1500))
    items.append(archive_item("unit", per_unit_price_value=1e12,
                              per_unit_price_string="$1000000000000 per 1 kg"))
    items.append(archive_item("store", store="S" * (limits.STORE_CODE_LENGTH + 10)))
    items.append(archive_item("future", at=utcnow() + dt.timedelta(days=3)))
    chain = PipelineChain(db_url, str(tmp_path))
    results = chain.run(items)
    stats = chain.stats.values
    dropped = {r.args[0].split(":")[0] for r in results if isinstance(r, DropItem)}
    assert dropped == {"bad_store_code", "future_date"}
    assert stats["grocer/nulled/url"] == 1 and stats["grocer/nulled/image_url"] == 1
    assert stats["grocer/nulled/per_unit_price_value"] == 1
    assert stats.get("grocer/db_errors", 0) == 0
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Price)) == 22
        url = connection.scalar(select(Product.url).where(Product.name == "Product url 500g"))
        unit = connection.scalar(select(Price.unit_price).join(Product).where(
            Product.name == "Product unit 500g"))
    assert url is None and unit is None


def test_models_declare_their_columns_with_the_shared_limits():
    assert Product.__table__.c.url.type.length == limits.URL_LENGTH
    assert Price.__table__.c.unit_price.type.precision == limits.UNIT_MONEY_PRECISION
