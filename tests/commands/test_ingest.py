"""`scrapy ingest`: SplitCart archive lines and grocer feed lines through the pipelines."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re

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


def test_coroutine_receivers_of_the_item_signals_are_awaited(db_url, engine, tmp_path):
    """The ingest sends item signals synchronously only when no receiver is a coroutine."""
    feed = tmp_path / "archive.jsonl"
    feed.write_text("\n".join(json.dumps(line) for line in [
        splitcart_line("000000000000000001", "Rice 1kg", 2.0),
        splitcart_line("000000000000000002", "Flour 1kg", 3.0),
        splitcart_line("000000000000000003", "", 3.0)]) + "\n")  # no name: dropped
    stats_file = tmp_path / "stats.json"
    extensions = {"grocer.extensions.health.CrawlHealth": 400,
                  "tests.helpers.async_receivers.AsyncItemCounter": 600,
                  "tests.helpers.stats_dump.StatsDump": 900}
    run_scrapy(["ingest", str(feed), "-s", "GROCER_RECONCILE_ON_CLOSE=0",
                "-s", "GROCER_MAX_DROP_RATE=1", "-s", f"EXTENSIONS={json.dumps(extensions)}",
                "-s", f"TEST_STATS_FILE={stats_file}"], db_url=db_url, workdir=tmp_path / "run")
    stats = json.loads(stats_file.read_text())["stats"]
    assert stats["item_scraped_count"] == 2  # CoreStats: a plain receiver
    assert stats["test/async_scraped"] == 2
    assert stats["test/async_dropped"] == 1


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


def _ingest(feed, db_url, tmp_path, *args):
    return run_scrapy(["ingest", str(feed), "-s", "GROCER_RECONCILE_ON_CLOSE=0", *args],
                      db_url=db_url, workdir=tmp_path / "run", check=False)


def _good_lines(count, **kwargs):
    return [json.dumps(splitcart_line(f"{n:018d}", f"Rice {n} 1kg", 2.0, **kwargs)).encode()
            for n in range(1, count + 1)]


def test_lines_that_cannot_be_read_are_counted_and_the_rest_loads(db_url, engine, tmp_path):
    good = _good_lines(40)
    bad = [
        b'{"product": {"name": "Caf\xe9 1kg"}, "metadata": {"company": "aldi"}}',  # latin-1
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than any parser goes
        b'{"product": {"sku": ' + b"9" * 5000 + b'}, "metadata": {"company": "aldi"}}',
        b"\x00\xff\xfe garbage",
    ]
    lines = good[:10] + bad[:2] + good[10:30] + bad[2:] + good[30:]
    feed = tmp_path / "archive.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    result = _ingest(feed, db_url, tmp_path, "-s", "GROCER_MAX_DROP_RATE=0.2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "40 items stored, 0 dropped, 4 invalid lines" in result.stdout
    for number in (11, 12, 33, 34):
        assert f"line {number} skipped" in result.stderr
    assert "not UTF-8" in result.stderr and "nested too deeply" in result.stderr
    assert "Traceback" not in result.stderr
    assert _count(engine, Price) == 40


def test_a_gzip_archive_is_read_as_it_is(db_url, engine, tmp_path):
    feed = tmp_path / "archive.jsonl.gz"
    feed.write_bytes(gzip.compress(b"\n".join(_good_lines(25)) + b"\n"))
    result = _ingest(feed, db_url, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "25 items stored, 0 dropped, 0 invalid lines" in result.stdout
    assert _count(engine, Price) == 25


def test_a_truncated_gzip_loads_what_it_holds_and_counts_the_break(db_url, engine, tmp_path):
    data = gzip.compress(b"\n".join(_good_lines(200)) + b"\n")
    feed = tmp_path / "archive.jsonl.gz"
    feed.write_bytes(data[:len(data) * 2 // 3])
    result = _ingest(feed, db_url, tmp_path, "-s", "GROCER_MAX_DROP_RATE=1")
    assert "cannot be read on" in result.stderr and "Traceback" not in result.stderr
    assert 0 < _count(engine, Price) < 200


def test_ingest_company_refuses_lines_of_another_chain(db_url, engine, tmp_path):
    feed = tmp_path / "aldi.jsonl"
    feed.write_bytes(b"\n".join(_good_lines(5)) + b"\n")
    result = _ingest(feed, db_url, tmp_path, "--company", "coles")
    assert result.returncode == 1
    assert "metadata.company is 'aldi', not --company 'coles'" in result.stderr
    assert "0 items stored, 0 dropped, 5 invalid lines" in result.stdout
    assert _count(engine, Price) == 0
    # A line without a company of its own takes --company.
    line = splitcart_line("1", "Rice 1kg", 2.0, company="")
    assert item_from_line(line, "coles", None)["company"] == "coles"


@pytest.mark.parametrize("lines, settings, reason, code", [
    ([], [], "no_store_completed", 1),  # nothing stored
    ([b"not json"] * 3, ["-s", "GROCER_MAX_DROP_RATE=1"], "no_store_completed", 1),
    ([b"not json"] * 2 + _good_lines(18), ["-s", "GROCER_MAX_DROP_RATE=0.05"],
     "error_budget", 1),  # 10% of the lines invalid
    ([b"not json"] + _good_lines(19), ["-s", "GROCER_MAX_DROP_RATE=0.1"], "finished", 0),
])
def test_ingest_exit_code_follows_its_close_reason(db_url, engine, tmp_path, lines, settings,
                                                    reason, code):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    result = _ingest(feed, db_url, tmp_path, *settings)
    assert f"close reason {reason}" in result.stdout, result.stderr[-2000:]
    assert result.returncode == code


def test_ingest_of_a_missing_file_is_a_one_line_usage_error(db_url, tmp_path):
    result = _ingest(tmp_path / "nope.jsonl", db_url, tmp_path)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_progress_lines_name_the_line_the_speed_and_an_eta(db_url, engine, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(_good_lines(300)) + b"\n")
    result = _ingest(feed, db_url, tmp_path, "-s", "GROCER_INGEST_PROGRESS_SECONDS=0",
                     "-s", "GROCER_BATCH_SIZE=50")
    assert result.returncode == 0
    assert re.search(r"feed\.jsonl: line [\d,]+ \(\d+%\), [\d,]+ items/s, ETA \d+ s",
                     result.stderr)


def test_ingest_runs_no_engine(db_url, engine, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(_good_lines(3)) + b"\n")
    result = _ingest(feed, db_url, tmp_path)
    assert "Spider opened" not in result.stderr and "scrapy.core.engine" not in result.stderr
    assert "Error caught on signal handler" not in result.stderr
