"""`scrapy reconcile` and `scrapy tables generate` from the command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grocer.db.models import Product
from tests.reconcile.helpers import at, write_tables

PROJECT = Path(__file__).resolve().parents[2]


def scrapy(db_url, tables_dir, *args):
    env = {**os.environ, "GROCER_DATABASE_URL": db_url, "TRANSLATION_TABLES_DIR": str(tables_dir)}
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_reconcile_then_generate(engine, rows, db_url, tables_dir):
    company = rows.company()
    store = rows.store(company, "G1")
    canon, dupe = rows.product("a"), rows.product("b")
    rows.price(canon, store, scraped_at=at(-1))
    rows.price(dupe, store, scraped_at=at(0))
    rows.product("orphan")
    write_tables(tables_dir, product={"b": "a"})
    done = scrapy(db_url, tables_dir, "reconcile", "--orphan-grace", "0")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "products merged: 1" in done.stdout and "orphan products deleted: 1" in done.stdout
    assert rows.all(Product, "normalized_name_brand_size") == [("a",)]
    (tables_dir / "product_translation_table.json").unlink()
    done = scrapy(db_url, tables_dir, "tables", "generate")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 product entries" in done.stdout
    assert json.loads((tables_dir / "product_translation_table.json").read_text()) == {"b": "a"}
