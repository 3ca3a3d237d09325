"""`scrapy ingest`: SplitCart archive lines and grocer feed lines through the pipelines."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from grocer.db.models import Price, PriceHistory, Product, Store
from grocer.ingest.lines import BadLine, item_from_line, splitcart_scraped_at
from tests.helpers.scrapy_cli import run_scrapy


def splitcart_line(sku, name, price, *, company="aldi", store_id=None, **derived):
    metadata = {"company": company, "scraped_date": "2026-06-29"}
    if store_id:
        metadata["store_id"] = store_id
    return {"product": {"sku": sku, "name": name, "brand": "FARMDALE", "size": "1 kg",
                        "price_current": price, "per_unit_price_value": price,
                        "per_unit_price_string": f"${price:.2f} per 1 kg",
                        "is_on_special": False, **derived},
            "metadata": metadata}


def test_a_splitcart_line_becomes_an_item_without_raw_at_the_default_store():
    item = item_from_line(splitcart_line("000000000000000001", "Rice", 2.0), None, None)
    assert "raw" not in item and item["product"]["name"] == "Rice"
    assert (item["company"], item["store_code"]) == ("aldi", "G102")
    # Midday in Sydney keeps the archive's date.
    assert item["scraped_at"] == dt.datetime(2026, 6, 29, 2, 0, tzinfo=dt.timezone.utc)


def test_store_comes_from_the_option_then_the_metadata_then_the_chain_default():
    line = splitcart_line("1", "Rice", 2.0, company="coles", store_id="COL:999")
    assert item_from_line(line, None, "COL:7")["store_code"] == "COL:7"
    assert item_from_line(line, None, None)["store_code"] == "COL:999"
    del line["metadata"]["store_id"]
    assert item_from_line(line, None, None)["store_code"] == "COL:401"
    with pytest.raises(BadLine):  # IGA has no default store
        item_from_line(splitcart_line("1", "Rice", 2.0, company="iga"), None, None)


def test_a_grocer_feed_line_is_replayed_from_raw():
    record = {"raw": {"Stockcode": 5}, "company": "woolworths", "store_code": "1147",
              "scraped_at": "2026-11-20T01:00:00+00:00", "product": {"ignored": True}}
    item = item_from_line(record, None, None)
    assert item["raw"] == {"Stockcode": 5} and "product" not in item


@pytest.mark.parametrize("record", [
    [], "text", {"neither": 1}, {"product": {}, "metadata": {}},
    {"raw": {}, "company": "aldi", "scraped_at": "yesterday"},
    {"raw": {}, "company": "aldi", "scraped_at": 1732400000},
])
def test_lines_of_no_known_shape_are_bad(record):
    with pytest.raises(BadLine):
        item_from_line(record, None, None)


def test_bad_scraped_date_is_a_bad_line():
    line = splitcart_line("1", "Rice", 2.0)
    line["metadata"]["scraped_date"] = "29/06/2026"
    with pytest.raises(BadLine):
        item_from_line(line, None, None)
    assert splitcart_scraped_at({}).tzinfo is not None


def test_ingest_recomputes_derived_fields_and_reports_bad_lines(db_url, engine, tmp_path):
    lines = [
        json.dumps(splitcart_line("000000000000000001", "Rice 1kg", 2.0,
                                  normalized_name_brand_size="forged key", price_hash="x")),
        "{not json",
        json.dumps(splitcart_line("000000000000000002", "Flour 1kg", 3.0)),
        json.dumps(splitcart_line("000000000000000003", "", 3.0)),  # no name: dropped
        "",
    ]
    feed = tmp_path / "archive.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    # One bad product in three is over any error budget: switch it off for this test.
    result = run_scrapy(["ingest", str(feed), "-s", "GROCER_RECONCILE_ON_CLOSE=0",
                         "-s", "GROCER_MAX_DROP_RATE=1"],
                        db_url=db_url, workdir=tmp_path / "run")
    assert "line 2 skipped" in result.stderr
    assert "2 items stored, 1 dropped, 1 invalid lines" in result.stdout
    with engine.connect() as connection:
        keys = set(connection.scalars(select(Product.normalized_name_brand_size)))
        assert keys == {"1000g 1kg farmdale rice", "1000g 1kg farmdale flour"}
        assert connection.scalar(select(Store.store_code)) == "G102"
        assert connection.scalar(select(func.count()).select_from(Price)) == 2


def _count(engine, model):
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


@pytest.mark.slow
def test_golden_aldi_archive_ingests_replays_and_records_only_changes(
        shared_dir, db_url, engine, tmp_path):
    golden = shared_dir / "corpus" / "aldi-g102-2026-06-29.golden.jsonl"
    args = ["-s", "GROCER_RECONCILE_ON_CLOSE=0"]
    run_scrapy(["ingest", str(golden), *args], db_url=db_url, workdir=tmp_path / "run")
    assert _count(engine, Product) == 2552
    with engine.connect() as connection:
        at_g102 = connection.scalar(select(func.count()).select_from(Price).join(Store).where(
            Store.store_code == "G102"))
    assert at_g102 == 2552
    assert _count(engine, PriceHistory) == 2552

    run_scrapy(["ingest", str(golden), *args], db_url=db_url, workdir=tmp_path / "run")
    assert _count(engine, PriceHistory) == 2552

    changed = tmp_path / "changed.jsonl"
    with golden.open() as source, changed.open("w") as target:
        for number, line in enumerate(source):
            record = json.loads(line)
            if number % 10 == 0:
                record["product"]["price_current"] = round(
                    record["product"]["price_current"] + 0.5, 2)
            target.write(json.dumps(record) + "\n")
    run_scrapy(["ingest", str(changed), *args], db_url=db_url, workdir=tmp_path / "run")
    assert _count(engine, PriceHistory) == 2552 + 256


def test_a_feed_line_written_by_scrapy_replays_with_its_time():
    """`scrapy crawl … -O feed.jsonl` writes items with Scrapy's JSON encoder."""
    from scrapy.utils.serialize import ScrapyJSONEncoder

    from grocer.items import ProductItem
    from grocer.pipelines.prices import as_utc

    scraped_at = dt.datetime(2026, 11, 20, 1, 2, 3, tzinfo=dt.timezone.utc)
    line = ScrapyJSONEncoder().encode(ProductItem(
        raw={"sku": "1"}, company="aldi", store_code="G102", scraped_at=scraped_at,
        product={"normalized_name_brand_size": "derived"}, product_id=7))
    item = item_from_line(json.loads(line), None, None)
    assert item["raw"] == {"sku": "1"} and "product_id" not in item
    assert as_utc(item["scraped_at"]) == scraped_at
