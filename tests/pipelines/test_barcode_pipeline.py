"""The Coles barcode phase's pipeline (issue 14): batched like the other database pipelines, one
product the database refuses costs only itself, and an unavailable database closes the crawl
`db_errors` at once."""

from __future__ import annotations

import asyncio

import pytest
from scrapy.exceptions import DropItem
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from grocer.db.errors import DatabaseUnavailable
from grocer.db.models import Company, Product, Sku
from grocer.items import BarcodeItem
from grocer.pipelines import barcodes
from grocer.pipelines.barcodes import BarcodePipeline
from tests.helpers.db_proxy import FreezingProxy
from tests.helpers.pipeline_runner import DictStats

BARCODES = ["9300000000019", "9300000000026", None, "9300000000033"]


def coles_products(engine, count: int) -> list[int]:
    with Session(engine) as session, session.begin():
        coles = Company(name="Coles", slug="coles")
        products = [Product(name=f"P{i}", normalized_name_brand_size=f"p{i}")
                    for i in range(count)]
        session.add_all([coles, *products])
        session.flush()
        session.add_all([Sku(company_id=coles.id, sku=str(100 + i), product_id=p.id)
                         for i, p in enumerate(products)])
        return [p.id for p in products]


def stored(engine, ids) -> list[tuple]:
    with engine.connect() as connection:
        rows = dict((pid, (barcode, flag)) for pid, barcode, flag in connection.execute(
            select(Product.id, Product.barcode, Product.has_no_coles_barcode)))
    return [rows[pid] for pid in ids]


def found(ids) -> list[BarcodeItem]:
    """What the barcode spider yields for these products: BARCODES in order."""
    return [BarcodeItem(product_id=pid, barcode=code)
            for pid, code in zip(ids, BARCODES, strict=True)]


def run(pipeline: BarcodePipeline, items) -> list:
    """The items through the pipeline as a crawl sends them (concurrently), then its close;
    each item, or the exception that stopped it."""
    async def crawl():
        results = await asyncio.gather(*(pipeline.process_item(item) for item in items),
                                       return_exceptions=True)
        await pipeline.close_spider()
        return results

    return asyncio.run(crawl())


def test_barcodes_are_written_in_batches_and_one_refused_product_costs_only_itself(
        db_url, engine, monkeypatch):
    ids = coles_products(engine, 4)
    refused = ids[1]
    write = barcodes.write_coles_barcodes

    def refusing(engine_, found, missing):
        if refused in found:
            raise RuntimeError("refused by a trigger")
        return write(engine_, found, missing)

    monkeypatch.setattr(barcodes, "write_coles_barcodes", refusing)
    stats = DictStats()
    results = run(BarcodePipeline(db_url, 10, stats), found(ids))

    assert isinstance(results[1], DropItem) and "db_error" in str(results[1])
    assert [type(result) for i, result in enumerate(results) if i != 1] == [BarcodeItem] * 3
    assert stored(engine, ids) == [(BARCODES[0], False), (None, False), (None, True),
                                   (BARCODES[3], False)]
    assert stats.values["grocer/barcodes/written"] == 2
    assert stats.values["grocer/barcodes/marked_missing"] == 1
    assert stats.values["grocer/lost/db_error"] == 1
    assert stats.values["grocer/db_errors"] == 1
    assert "grocer/db_unavailable" not in stats.values


def test_an_unavailable_database_loses_the_batch_at_once_and_closes_the_crawl(
        db_url, engine, monkeypatch):
    ids = coles_products(engine, 4)
    writes = []

    def unavailable(engine_, found, missing):
        writes.append((found, missing))
        raise DatabaseUnavailable("the database stopped answering")

    monkeypatch.setattr(barcodes, "write_coles_barcodes", unavailable)
    stats = DictStats()
    pipeline = BarcodePipeline(db_url, 2, stats)
    results = run(pipeline, found(ids))

    assert len(writes) == 1  # never split, and the next batch does not wait for it again
    assert [type(result) for result in results] == [DropItem] * 4
    assert stats.values["grocer/db_unavailable"] == 1
    assert stats.values["grocer/lost/db_error"] == 4
    assert stored(engine, ids) == [(None, False)] * 4


@pytest.mark.mysql_only
def test_a_frozen_database_ends_the_barcode_batch_within_the_timeout(db_url, engine):
    ids = coles_products(engine, 2)
    url = make_url(db_url)
    with FreezingProxy((url.host or "127.0.0.1", url.port or 3306),
                       freeze_on=b"UPDATE product") as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        stats = DictStats()
        results = run(BarcodePipeline(proxied, 10, stats, timeout=2),
                      [BarcodeItem(product_id=pid, barcode=None) for pid in ids])
        assert proxy.frozen.is_set()
    assert [type(result) for result in results] == [DropItem] * 2
    assert stats.values["grocer/db_unavailable"] == 1
    assert stored(engine, ids) == [(None, False)] * 2
