"""`scrapy crawl` tells the truth about itself: the close reason, the exit code, each store's
outcome in the CrawlRun and `scrapy report`, one-line start errors (issue 13)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from grocer.db.engine import is_mysql
from grocer.db.models import CrawlRun, Price, Product, Store
from tests.helpers.scrapy_cli import run_scrapy

pytestmark = pytest.mark.slow


def last_crawled(engine, code: str):
    with Session(engine) as session:
        return session.scalar(select(Store.last_crawled_at).where(Store.store_code == code))


def crawl_runs(engine) -> list[CrawlRun]:
    with Session(engine) as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def delisted(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(
            select(Product.name).join(Price, Price.product_id == Product.id)
            .where(Price.delisted_at.is_not(None))))


@contextmanager
def failing_price_writes(engine, above: float):
    """The database refuses any price history row dearer than `above` (as a column that cannot
    hold a value would): the price batch holding one is lost."""
    with engine.begin() as connection:
        if is_mysql(connection):
            connection.execute(text(
                "CREATE TRIGGER refuse_price BEFORE INSERT ON price_history FOR EACH ROW "
                f"BEGIN IF NEW.price > {above} THEN SIGNAL SQLSTATE '45000' "
                "SET MESSAGE_TEXT = 'price out of range'; END IF; END"))
        else:
            connection.execute(text(
                "CREATE TRIGGER refuse_price BEFORE INSERT ON price_history "
                f"WHEN NEW.price > {above} BEGIN SELECT RAISE(ABORT, 'price out of range'); "
                "END"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS refuse_price"))


def test_a_crawl_whose_every_store_failed_exits_non_zero_and_reports_them(
        crawl, engine, db_url, tmp_path):
    result = crawl("aldi", args={"stores": "G102,G105"},
                   env={"ALDI_BASE_URL": "http://127.0.0.1:1"},
                   settings={"RETRY_TIMES": "0", "ROBOTSTXT_OBEY": "False"})
    assert result.returncode == 1, result.log[-3000:]
    assert "Spider closed (no_store_completed)" in result.log
    assert "reconciliation skipped" in result.log
    (run,) = crawl_runs(engine)
    assert (run.close_reason, run.reconciled, run.stores_completed) == (
        "no_store_completed", False, [])
    assert {code: (store["status"], store["reason"]) for code, store in
            run.store_stats.items()} == {"G102": ("failed", "fetch_failed"),
                                          "G105": ("failed", "fetch_failed")}
    assert last_crawled(engine, "G102") is None
    report = run_scrapy(["report", "--company", "aldi"], db_url=db_url,
                        workdir=tmp_path / "report").stdout
    lines = {line.split()[0]: line for line in report.splitlines() if line.startswith("  G")}
    for code in ("G102", "G105"):
        assert "STALE fetch_failed" in lines[code] and "Connection" in lines[code]
        assert "crawl no_store_completed" in lines[code]


def test_a_price_batch_lost_to_the_database_fails_the_store_and_the_crawl(crawl, site,
                                                                            engine):
    first = crawl("aldi", args={"stores": "G102"})
    assert first.returncode == 0 and first.close_reason == "finished", first.log[-3000:]
    crawled_at = last_crawled(engine, "G102")
    assert crawled_at is not None
    gone = site.catalogues["aldi"]["5101"].pop(0)  # would be delisted by a finished crawl
    site.catalogues["aldi"]["5201"][0]["price"]["amount"] = 5_000_000  # $50,000: refused
    with failing_price_writes(engine, above=10_000):
        second = crawl("aldi", args={"stores": "G102"}, settings={"GROCER_BATCH_SIZE": "5"})
    assert second.returncode == 1, second.log[-3000:]
    assert second.close_reason == "db_errors"
    assert "price batch of" in second.log
    store = second.crawl_state["stores"]["G102"]
    assert (store["status"], store["reason"]) == ("failed", "db_error")
    assert 1 <= store["lost"] <= 5 and store["stored"] == store["items"] - store["lost"]
    health = next(line for line in second.log.splitlines() if "crawl closed (db_errors)" in line)
    assert f"{store['stored']} stored" in health and f"{store['lost']} lost" in health
    assert second.stats["grocer/health/stored"] == store["stored"]
    assert last_crawled(engine, "G102") == crawled_at  # did not move
    assert gone["name"] not in delisted(engine)  # nothing of the store delisted
    runs = crawl_runs(engine)
    assert [(run.close_reason, run.reconciled) for run in runs] == [
        ("finished", True), ("db_errors", False)]
    assert runs[1].store_stats["G102"]["reason"] == "db_error"
    assert not any(key.startswith("grocer/store/") for key in runs[1].stats)  # kept once


def test_a_bad_store_code_is_a_start_error_with_one_line_and_a_crawl_run(crawl, engine):
    result = crawl("aldi", args={"stores": "G999"})
    assert result.returncode == 2
    errors = [line for line in result.log.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "unknown Aldi store code(s): G999" in errors[0]
    assert "Traceback" not in result.log
    (run,) = crawl_runs(engine)
    assert run.close_reason == "start_error" and run.finished_at is not None


def test_a_bad_argument_value_is_one_line_exit_2_and_recorded(crawl, engine):
    result = crawl("aldi", args={"limit": "abc"})
    assert result.returncode == 2
    assert "Traceback" not in result.log
    assert "scrapy crawl aldi: -a limit='abc': expected a positive whole number" in result.log
    (run,) = crawl_runs(engine)
    assert run.close_reason == "start_error"


def test_an_unknown_argument_name_warns_and_names_the_valid_ones(crawl):
    result = crawl("aldi", args={"store": "G102", "limit": "1"})
    assert result.returncode == 0, result.log[-3000:]
    assert ("unknown spider argument(s) -a store= ignored; aldi takes: basket_day, by, "
            "categories, limit, stores") in result.log


def test_a_missing_cookies_file_is_one_line_exit_2(crawl, tmp_path):
    result = crawl("coles", env={"COLES_COOKIES_FILE": str(tmp_path / "nope.json")})
    assert result.returncode == 2
    assert "Traceback" not in result.log
    assert "scrapy crawl coles: COLES_COOKIES_FILE=" in result.log


def test_a_blocked_crawl_exits_3(crawl, site):
    site.fault("/_next/data/", "block")
    result = crawl("coles", args={"stores": "COL:401"})
    assert result.close_reason == "blocked" and result.returncode == 3
    assert result.crawl_state["stores"]["COL:401"]["reason"] == "blocked"


def test_an_error_budget_crawl_exits_1(crawl, site):
    for products in site.catalogues["aldi"].values():
        for product in products:
            product["price"] = {"amount": None}
    result = crawl("aldi", args={"stores": "G102"},
                   settings={"GROCER_MIN_ITEMS_FOR_BUDGET": "5"})
    assert result.close_reason == "error_budget" and result.returncode == 1


def test_an_unreachable_database_is_one_line(crawl):
    result = crawl("aldi", env={"GROCER_DATABASE_URL": "mysql+pymysql://root@127.0.0.1:1/x"})
    assert result.returncode == 2
    errors = [line for line in result.log.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "cannot use the database" in errors[0]
    assert "Traceback" not in result.log


def test_the_stats_dump_leaves_the_per_store_counters_out(crawl):
    result = crawl("aldi", args={"stores": "G102,G105"})
    assert result.returncode == 0, result.log[-3000:]
    dump = result.log.split("Dumping Scrapy stats:", 1)[1].split("Spider closed", 1)[0]
    assert "grocer/store/" not in dump and "grocer/health/stores" not in dump
    assert result.stats["grocer/store/G102/written"] > 0  # still counted, in the run record
    summaries = [line for line in result.log.splitlines() if "crawl closed (finished)" in line]
    assert len(summaries) == 1 and "stores: 2 completed, 0 failed" in summaries[0]


def test_the_crawl_freezes_its_start_up_closes_its_connections_and_skips_the_exits_collections(
        crawl, tmp_path):
    report = tmp_path / "exit.json"
    result = crawl("aldi", args={"stores": "G102"}, main_module="tests.helpers.exit_report",
                   env={"TEST_EXIT_REPORT_FILE": str(report)})
    assert result.returncode == 0, result.log[-3000:]
    # The start-up's objects frozen once the spider is open (no full collection of the crawl
    # walks them); the connections closed by the command before the exit, so freezing every
    # object at exit is safe.
    assert json.loads(report.read_text()) == {
        "gc_frozen_while_crawling": True, "gc_frozen": True, "connections_open": 0}
