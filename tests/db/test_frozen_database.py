"""A database that stops answering mid-crawl (issue 14): the crawl ends by itself within
GROCER_DB_TIMEOUT plus a margin, reason `db_errors`, exit code 1 — never hangs — and once the
database answers again a re-crawl gives the same database as one clean crawl.

The shared MariaDB is never paused: the crawl talks to it through a loopback proxy that freezes
(holds its connections open, forwards nothing) on the crawl's first price write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from grocer.db.models import Price, PriceHistory, Product, Sku, Store
from grocer.db.stores import load_stores
from grocer.storelist import read_store_list
from tests.commands.test_ingest import _good_lines, _ingest
from tests.helpers.crawl_fixtures import STORES_FILE
from tests.helpers.crawling import Crawler
from tests.helpers.database import empty_tables
from tests.helpers.db_proxy import FreezingProxy

DB_TIMEOUT = 3
# Start-up, and the close's own database work (each step waits at most DB_TIMEOUT).
MARGIN = 60
SETTINGS = {"GROCER_DB_TIMEOUT": str(DB_TIMEOUT), "GROCER_BATCH_SIZE": "20"}


def frozen_url(db_url, proxy) -> str:
    return make_url(db_url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


def proxy_for(db_url) -> FreezingProxy:
    """Forwards to the database until the first price write, then freezes."""
    url = make_url(db_url)
    return FreezingProxy((url.host or "127.0.0.1", url.port or 3306),
                         freeze_on=b"INSERT INTO price")


def snapshot(engine) -> dict:
    """The database's content without ids and times."""
    with engine.connect() as connection:
        key = Product.normalized_name_brand_size
        return {
            "products": sorted(connection.execute(select(key, Product.name, Product.barcode))),
            "skus": sorted(connection.execute(select(Sku.sku, key).join(Product))),
            "prices": sorted(connection.execute(
                select(key, Store.store_code, Price.price, Price.was_price, Price.unit_price,
                       Price.is_available, Price.delisted_at.is_(None))
                .join(Product, Price.product_id == Product.id).join(Store))),
            "history": connection.scalar(select(func.count()).select_from(PriceHistory)),
        }


@pytest.mark.mysql_only
@pytest.mark.slow
def test_a_frozen_database_ends_the_crawl_with_db_errors_and_a_recrawl_repairs_it(
        tmp_path, db_url, stores, site):
    with proxy_for(db_url) as proxy:
        # subprocess.run's timeout fails the test if the crawl hangs.
        frozen = Crawler(tmp_path / "frozen", frozen_url(db_url, proxy), site.urls)(
            "aldi", args={"stores": "G102"}, settings=SETTINGS, timeout=DB_TIMEOUT + MARGIN)
        assert proxy.frozen.is_set()  # the database froze mid-crawl
    assert frozen.close_reason == "db_errors", frozen.log[-3000:]
    assert frozen.returncode == 1
    assert frozen.stat("grocer/db_unavailable") == 1
    assert frozen.stat("grocer/lost/db_error") > 0

    again = Crawler(tmp_path / "again", db_url, site.urls)(
        "aldi", args={"stores": "G102"}, settings=SETTINGS)
    assert again.close_reason == "finished", again.log[-3000:]
    repaired = snapshot(stores)

    empty_tables(stores)
    load_stores(stores, read_store_list(STORES_FILE))
    clean = Crawler(tmp_path / "clean", db_url, site.urls)(
        "aldi", args={"stores": "G102"}, settings=SETTINGS)
    assert clean.close_reason == "finished"
    assert repaired == snapshot(stores)
    assert repaired["prices"]


@pytest.mark.mysql_only
@pytest.mark.slow
def test_a_frozen_database_stops_an_ingest_with_db_errors(tmp_path, db_url, stores):
    """`scrapy ingest` has no engine to close: the first unavailable batch stops its reading
    (the code before asked for the crawl's engine, which raised, and read on)."""
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(_good_lines(3000)) + b"\n")
    with proxy_for(db_url) as proxy:
        result = _ingest(feed, frozen_url(db_url, proxy), tmp_path,
                         *(f"-s{name}={value}" for name, value in SETTINGS.items()))
        assert proxy.frozen.is_set()
    assert "close reason db_errors" in result.stdout, result.stderr[-3000:]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "RuntimeError" not in result.stderr
