"""Exports (DESIGN §7 item 6): SKUs live in their own table; the barcode export goes through
the products in chunks with their SKUs loaded eagerly — never one query per product."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event

from grocer.db import exports
from tests.reconcile.helpers import at

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalogue(rows):
    coles, aldi = rows.company("coles"), rows.company("aldi")
    store, aldi_store = rows.store(coles, "COL:1"), rows.store(aldi, "G1")
    for i in range(35):
        product = rows.product(f"p{i:02d}", barcode=f"{i:013d}" if i % 2 else None,
                               has_no_coles_barcode=i % 5 == 0)
        rows.sku(coles, f"{i}a", product)
        rows.sku(coles, f"{i}b", product)
        rows.sku(aldi, f"aldi{i}", product)
        rows.price(product, store, scraped_at=at(-i), price=f"{i}.50")
        rows.price(product, aldi_store, scraped_at=at(-i))
        rows.history(product, store, scraped_at=at(-i))
    rows.product("no coles sku")
    return coles


class StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.bump)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.bump)

    def bump(self, *args, **kwargs):
        self.count += 1


def test_barcode_export_streams_chunks_with_eager_skus(engine, catalogue):
    with StatementCounter(engine) as counter:
        rows = exports.iter_barcodes(engine, "coles", chunk_size=10)
        first = next(rows)
        # company id, the first page of 10 products, their SKUs in one query: nothing more yet
        assert counter.count == 3
        everything = [first, *rows]
    assert len(everything) == 70
    # 4 pages × (products + SKUs) + the empty page + the company: no per-product queries
    assert counter.count == 1 + 4 * 2 + 1
    assert first == {"sku": "0a", "barcode": None, "has_no_coles_barcode": True,
                     "product_id": first["product_id"], "product_key": "p00"}
    assert {row["sku"] for row in everything} == {f"{i}{s}" for i in range(35) for s in "ab"}
    assert everything[3]["barcode"] == "0000000000001"


def test_barcode_export_memory_does_not_grow_with_the_table(engine, catalogue):
    """The session is emptied between pages: no page keeps its products alive."""
    from sqlalchemy.orm import Session

    sizes = []
    original = Session.expunge_all

    def spy(self):
        sizes.append(len(self.identity_map))
        original(self)

    Session.expunge_all = spy
    try:
        assert sum(1 for _ in exports.iter_barcodes(engine, "coles", chunk_size=10)) == 70
    finally:
        Session.expunge_all = original
    assert sizes and max(sizes) <= 10 + 20  # one page of products and their SKUs at most


def test_price_and_history_exports_filter_and_stream(engine, catalogue):
    prices = list(exports.iter_prices(engine, company="coles", chunk_size=7))
    assert len(prices) == 35 and {row["store_code"] for row in prices} == {"COL:1"}
    assert len(list(exports.iter_prices(engine, store="G1"))) == 35
    (one,) = exports.iter_prices(engine, product_key="p03", company="coles")
    assert str(one["price"]) == "3.50"
    recent = list(exports.iter_history(engine, since=at(-4).date()))
    assert len(recent) == 5
    out = io.StringIO()
    assert exports.write_rows(iter([one]), out, "csv", exports.PRICE_FIELDS) == 1
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["price"] == "3.50" and row["product_key"] == "p03" and row["was_price"] == ""


def run_export(db_url, *args):
    env = {**os.environ, "GROCER_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "scrapy", "export", *args], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_export_command(engine, catalogue, db_url, tmp_path):
    done = run_export(db_url, "barcodes", "--company", "coles")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 70 and lines[0]["sku"] == "0a"
    target = tmp_path / "prices.csv"
    done = run_export(db_url, "prices", "--company", "coles", "--since",
                      at(-2).date().isoformat(), "-o", str(target))
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(csv.DictReader(target.open()))) == 3
    done = run_export(db_url, "barcodes", "--company", "nope")
    assert done.returncode != 0 and "no company" in done.stderr
