"""`scrapy report`: last successful crawl, counts, coverage and STALE per store."""

from __future__ import annotations

import datetime as dt

import pytest

from grocer.db.crawlruns import record_crawl_run
from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, Store, utcnow
from grocer.db.report import crawl_report
from tests.helpers.scrapy_cli import run_scrapy

DAY = dt.timedelta(days=1)


def health_stats(code: str, stored: int, dropped: int, written: int, unchanged: int) -> dict:
    return {"grocer/health/stores": {code: {
        "items": stored + dropped, "stored": stored, "dropped": dropped, "written": written,
        "unchanged": unchanged, "drop_rate": 0.0, "dropped_by_reason": {}}}}


@pytest.fixture
def world(engine):
    """Aldi: G102 fresh, G200 stale (then blocked), G300 never crawled. Woolworths: 1147 fresh
    supermarket, 9000 a Metro store (not a supermarket), never crawled."""
    now = utcnow()
    with session_scope(engine) as session:
        aldi = Company(name="Aldi", slug="aldi")
        woolworths = Company(name="Woolworths", slug="woolworths")
        session.add_all([aldi, woolworths])
        session.flush()
        supermarkets = Division(company_id=woolworths.id, name="SUPERMARKETS")
        metro = Division(company_id=woolworths.id, name="METRO")
        session.add_all([supermarkets, metro])
        session.flush()
        session.add_all([
            Store(company_id=aldi.id, store_code="G102", name="Aldi Fresh",
                  last_crawled_at=now - DAY),
            Store(company_id=aldi.id, store_code="G200", name="Aldi Stale",
                  last_crawled_at=now - 2 * DAY),
            Store(company_id=aldi.id, store_code="G300", name="Aldi Never"),
            Store(company_id=woolworths.id, store_code="1147", division_id=supermarkets.id),
            Store(company_id=woolworths.id, store_code="9000", division_id=metro.id),
        ])
    runs = {}
    runs["stale"] = record_crawl_run(
        engine, spider="aldi", stores=["G200"], stores_completed=["G200"],
        started_at=now - 10 * DAY - DAY / 24, finished_at=now - 10 * DAY,
        close_reason="finished", reconciled=True,
        stats={"grocer/store/G200/scraped": 90, "grocer/store/G200/dropped": 4,
               "grocer/store/G200/written": 80, "grocer/store/G200/unchanged": 6})
    runs["fresh"] = record_crawl_run(
        engine, spider="aldi", stores=["G102"], stores_completed=["G102"],
        started_at=now - DAY - DAY / 24, finished_at=now - DAY, close_reason="finished",
        reconciled=True, stats=health_stats("G102", 1200, 3, 1100, 100))
    # G200 was completed again in a crawl that then got blocked: not a successful crawl.
    runs["blocked"] = record_crawl_run(
        engine, spider="aldi", stores=["G200", "G102"], stores_completed=["G200"],
        started_at=now - 2 * DAY - DAY / 24, finished_at=now - 2 * DAY,
        close_reason="blocked", reconciled=False, stats=health_stats("G200", 50, 0, 50, 0))
    runs["woolworths"] = record_crawl_run(
        engine, spider="woolworths", stores=["1147"], stores_completed=["1147"],
        started_at=now - 3 * DAY, finished_at=now - 3 * DAY + DAY / 24,
        close_reason="finished", reconciled=True, stats=health_stats("1147", 10, 0, 10, 0))
    return runs


def test_the_report_finds_the_last_successful_crawl_of_each_store(engine, world):
    aldi, woolworths = crawl_report(engine, days=7, companies=["aldi", "woolworths"])
    stores = {store.code: store for store in aldi.stores}
    fresh, stale, never = stores["G102"], stores["G200"], stores["G300"]
    assert fresh.fresh and fresh.last_success.id == world["fresh"]
    assert fresh.counts == {"items": 1203, "stored": 1200, "dropped": 3, "written": 1100,
                            "unchanged": 100}
    assert not stale.fresh and stale.last_success.id == world["stale"]
    # Counts of the successful run, from the per-store counters (no health summary there).
    assert stale.counts == {"stored": 86, "dropped": 4, "written": 80, "unchanged": 6}
    assert stale.failed_since.id == world["blocked"]
    assert fresh.failed_since is None  # the blocked crawl came before its successful one
    assert not never.crawled and not never.fresh
    assert (aldi.fresh_supermarkets, len(aldi.supermarkets)) == (1, 3)
    # Woolworths: the Metro store is not a supermarket, so coverage is 1 of 1.
    assert (woolworths.fresh_supermarkets, len(woolworths.supermarkets)) == (1, 1)
    # --days widens the window.
    (aldi_30,) = crawl_report(engine, days=30, companies=["aldi"])
    assert aldi_30.fresh_supermarkets == 2


def test_a_store_without_any_run_record_falls_back_to_last_crawled_at(engine):
    with session_scope(engine) as session:
        aldi = Company(name="Aldi", slug="aldi")
        session.add(aldi)
        session.flush()
        session.add(Store(company_id=aldi.id, store_code="G1", last_crawled_at=utcnow() - DAY))
    ((store,),) = [report.stores for report in crawl_report(engine, companies=["aldi"])]
    assert store.fresh and store.last_success.id is None


def test_scrapy_report_prints_fresh_and_stale_stores(engine, db_url, world, tmp_path):
    result = run_scrapy(["report", "--days", "7", "--company", "aldi"], db_url=db_url,
                        workdir=tmp_path / "run")
    out = result.stdout
    assert "STALE = no successful (finished) crawl in the last 7 day(s)" in out
    assert "Aldi (aldi): coverage 1 of 3 supermarket stores crawled in the last 7 day(s) " \
           "(33.3%)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  G")}
    fresh, stale = lines["G102"], lines["G200"]
    assert f"#{world['fresh']}" in fresh and fresh.split()[-1] == "ok"
    assert " 24h " in fresh and "1,203" in fresh and "1,200" in fresh and "1,100" in fresh
    assert f"#{world['stale']}" in stale and " 10d " in stale and "STALE" in stale
    assert "last attempt" in stale and f"blocked (#{world['blocked']})" in stale
    assert "G300" not in lines  # never crawled: only counted
    assert "+ 1 supermarket stores never crawled (STALE); --all lists them" in out
    assert "Woolworths" not in out

    listed = run_scrapy(["report", "--company", "aldi,woolworths", "--all"], db_url=db_url,
                        workdir=tmp_path / "run").stdout
    g300 = next(line for line in listed.splitlines() if line.startswith("  G300"))
    assert "never" in g300 and g300.rstrip().endswith("STALE")
    assert "Woolworths (woolworths): coverage 1 of 1 supermarket stores" in listed
    metro = next(line for line in listed.splitlines() if line.startswith("  9000"))
    assert metro.rstrip().endswith("-  (not a supermarket)")  # not expected to be crawled
    woolworths = run_scrapy(["report", "--company", "woolworths"], db_url=db_url,
                            workdir=tmp_path / "run").stdout
    assert ("+ 0 supermarket stores never crawled (STALE) and 1 other stores never crawled"
            in woolworths)


def test_scrapy_report_rejects_an_unknown_company(engine, db_url, tmp_path):
    result = run_scrapy(["report", "--company", "foodland"], db_url=db_url,
                        workdir=tmp_path / "run", check=False)
    assert result.returncode != 0
    assert "unknown company 'foodland'" in result.stderr + result.stdout
