"""`scrapy report`: last successful crawl, counts, coverage and STALE per store."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json

import pytest

from grocer.crawlstate import StoreRun
from grocer.db.crawlruns import record_crawl_run
from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, PriceZone, PriceZoneMember, Store
from grocer.db.report import crawl_report
from grocer.normalization.dates import utcnow
from tests.helpers.scrapy_cli import run_scrapy

DAY = dt.timedelta(days=1)


def store_run(code: str, status: str = "completed", reason: str | None = None,
              **counts) -> dict:
    """A StoreRun as CrawlRun.store_stats records it."""
    run = dataclasses.asdict(StoreRun(code, status=status, reason=reason,
                                      error=reason and f"{reason} happened"))
    run.update(counts)
    return {code: run}


@pytest.fixture
def world(engine):
    """Aldi: G102 fresh, G200 stale (then blocked), G300 never crawled, G400 lost to the
    database. Woolworths: 1147 fresh supermarket, 9000 a Metro store (not a supermarket), never
    crawled."""
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
            Store(company_id=aldi.id, store_code="G400", name="Aldi Lost"),
            Store(company_id=woolworths.id, store_code="1147", division_id=supermarkets.id),
            Store(company_id=woolworths.id, store_code="9000", division_id=metro.id),
        ])
    runs = {}
    runs["stale"] = record_crawl_run(
        engine, spider="aldi", stores=["G200"], stores_completed=["G200"],
        started_at=now - 10 * DAY - DAY / 24, finished_at=now - 10 * DAY,
        close_reason="finished", reconciled=True,
        store_stats=store_run("G200", items=90, stored=86, dropped=4, written=80, unchanged=6))
    runs["fresh"] = record_crawl_run(
        engine, spider="aldi", stores=["G102"], stores_completed=["G102"],
        started_at=now - DAY - DAY / 24, finished_at=now - DAY, close_reason="finished",
        reconciled=True, store_stats=store_run("G102", items=1203, stored=1200, dropped=3,
                                               written=1100, unchanged=100))
    # G200 was blocked mid-store: its last attempt failed; G102's failure came before its
    # successful crawl.
    runs["blocked"] = record_crawl_run(
        engine, spider="aldi", stores=["G200", "G102"], stores_completed=[],
        started_at=now - 2 * DAY - DAY / 24, finished_at=now - 2 * DAY,
        close_reason="blocked", reconciled=False,
        store_stats={**store_run("G200", "failed", "blocked", items=50),
                     **store_run("G102", "failed", "fetch_failed")})
    # G400 completed its pages, but a price batch was lost: failed with db_error.
    runs["lost"] = record_crawl_run(
        engine, spider="aldi", stores=["G400"], stores_completed=[],
        started_at=now - 3 * DAY, finished_at=now - 3 * DAY + DAY / 24,
        close_reason="db_errors", reconciled=False,
        store_stats=store_run("G400", "failed", "db_error", items=10, stored=4, lost=6))
    runs["woolworths"] = record_crawl_run(
        engine, spider="woolworths", stores=["1147"], stores_completed=["1147"],
        started_at=now - 3 * DAY, finished_at=now - 3 * DAY + DAY / 24,
        close_reason="finished", reconciled=True,
        store_stats=store_run("1147", items=10, stored=10, written=10, unchanged=0))
    return runs


def test_the_report_finds_the_last_successful_crawl_of_each_store(engine, world):
    aldi, woolworths = crawl_report(engine, days=7, companies=["aldi", "woolworths"])
    stores = {store.code: store for store in aldi.stores}
    fresh, stale, never = stores["G102"], stores["G200"], stores["G300"]
    assert fresh.fresh and fresh.last_success.id == world["fresh"]
    assert fresh.counts == {"items": 1203, "stored": 1200, "dropped": 3, "lost": 0,
                            "written": 1100, "unchanged": 100}
    assert not stale.fresh and stale.last_success.id == world["stale"]
    assert stale.counts == {"items": 90, "stored": 86, "dropped": 4, "lost": 0, "written": 80,
                            "unchanged": 6}
    assert stale.failed_since.id == world["blocked"] and stale.status == "blocked"
    assert fresh.failed_since is None and fresh.status == "ok"  # blocked before its success
    assert not never.crawled and not never.fresh and never.status == "never crawled"
    lost = stores["G400"]
    assert lost.last_success is None and lost.status == "db_error"
    assert lost.last_attempt.outcome == "failed" and lost.last_attempt.close_reason == "db_errors"
    assert (aldi.fresh_supermarkets, len(aldi.supermarkets)) == (1, 4)
    assert aldi.last_run.id == world["fresh"] and aldi.last_run.close_reason == "finished"
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
    assert "STALE = no crawl that completed the store in the last 7 day(s)" in out
    assert "Aldi (aldi): coverage 1 of 4 supermarket stores crawled in the last 7 day(s) " \
           "(25.0%)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  G")}
    fresh, stale = lines["G102"], lines["G200"]
    assert f"#{world['fresh']}" in fresh and fresh.split()[-1] == "ok"
    assert " 24h " in fresh and "1,203" in fresh and "1,200" in fresh and "1,100" in fresh
    assert f"#{world['stale']}" in stale and " 10d " in stale and "STALE" in stale
    assert "STALE blocked" in stale and "last attempt" in stale
    assert f"crawl blocked (#{world['blocked']})" in stale
    assert "STALE db_error" in lines["G400"] and "db_error happened" in lines["G400"]
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


def test_scrapy_report_for_machines_and_monitoring(engine, db_url, world, tmp_path):
    run = tmp_path / "run"
    result = run_scrapy(["report", "--company", "aldi", "--format", "json"], db_url=db_url,
                        workdir=run)
    rows = {row["store"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"G102", "G200", "G300", "G400"}  # every store, never crawled too
    assert rows["G102"]["status"] == "ok" and rows["G102"]["stored"] == 1200
    assert rows["G200"]["status"] == "blocked"
    assert rows["G200"]["last_attempt_run"] == world["blocked"]
    assert rows["G400"]["last_attempt_reason"] == "db_error" and rows["G400"]["lost"] is None
    assert rows["G300"]["status"] == "never crawled"
    csv_out = run_scrapy(["report", "--company", "aldi", "--format", "csv"], db_url=db_url,
                         workdir=run).stdout.splitlines()
    assert csv_out[0].startswith("chain,store,name,supermarket,status,")
    assert len(csv_out) == 5 and any(",G400," in line and ",db_error," in line
                                     for line in csv_out)
    assert run_scrapy(["report", "--company", "aldi"], db_url=db_url, workdir=run,
                      check=False).returncode == 0
    failing = run_scrapy(["report", "--company", "aldi", "--fail-on-stale"], db_url=db_url,
                         workdir=run, check=False)
    assert failing.returncode == 1


def test_scrapy_report_never_creates_a_database_at_a_mistyped_path(tmp_path):
    typo = tmp_path / "grocer.sqlite"
    result = run_scrapy(["report"], db_url=f"sqlite:///{typo}", workdir=tmp_path / "run",
                        check=False)
    assert result.returncode == 2 and not typo.exists()
    assert result.stderr.strip().splitlines() == [
        f"scrapy report: no database at {typo}: check GROCER_DATABASE_URL (a crawl or "
        "`scrapy migrate` creates it)"]


@pytest.fixture
def zoned(engine):
    """Aldi: one zone, G102 its representative (crawled fully a day ago); G500 a member basket-
    checked in the same zone crawl, G600 a member last verified ten days ago; G700 in no zone."""
    now = utcnow()
    with session_scope(engine) as session:
        aldi = Company(name="Aldi", slug="aldi")
        session.add(aldi)
        session.flush()
        stores = {code: Store(company_id=aldi.id, store_code=code)
                  for code in ("G102", "G500", "G600", "G700")}
        session.add_all(stores.values())
        session.flush()
        zone = PriceZone(company_id=aldi.id, representative_store_id=stores["G102"].id,
                         verified_at=now - DAY)
        session.add(zone)
        session.flush()
        session.add_all([
            PriceZoneMember(store_id=stores[code].id, zone_id=zone.id, verified_at=at)
            for code, at in (("G102", now - DAY), ("G500", now - DAY),
                             ("G600", now - 10 * DAY))])
        zone_id = zone.id
    record_crawl_run(
        engine, spider="aldi", stores=["G102", "G500"], stores_completed=["G102"],
        started_at=now - DAY - DAY / 24, finished_at=now - DAY, close_reason="finished",
        reconciled=True, store_stats={**store_run("G102", items=100, stored=100),
                                      **store_run("G500", "checked")})
    return {"zone": zone_id, "verified": now - DAY}


def test_the_report_shows_price_zones_and_inferred_prices(engine, zoned):
    (aldi,) = crawl_report(engine, days=7, companies=["aldi"])
    stores = {store.code: store for store in aldi.stores}
    assert aldi.zones == 1
    representative, member, old, alone = (stores[code] for code in
                                          ("G102", "G500", "G600", "G700"))
    assert (representative.zone, representative.inferred_from) == (zoned["zone"], None)
    assert (member.zone, member.inferred_from) == (zoned["zone"], "G102")
    assert member.zone_verified_at == zoned["verified"]
    # A basket check is not a failed crawl: the member has its zone's fresh prices.
    assert member.failed_since is None and member.fresh and member.status == "ok"
    assert old.inferred_from == "G102" and not old.fresh and old.status == "stale"
    assert alone.zone is None and alone.status == "never crawled"
    assert (aldi.fresh_supermarkets, len(aldi.supermarkets)) == (2, 4)


def test_scrapy_report_shows_zones_in_every_format(engine, db_url, zoned, tmp_path):
    run = tmp_path / "run"
    text = run_scrapy(["report", "--company", "aldi"], db_url=db_url, workdir=run).stdout
    assert "; 1 price zone(s)" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  G")}
    assert f"zone {zoned['zone']} representative" in lines["G102"]
    assert f"zone {zoned['zone']}: prices inferred from G102, verified" in lines["G500"]
    assert lines["G500"].split("(")[0].rstrip().endswith("ok")
    assert "STALE" in lines["G600"] and "prices inferred from G102" in lines["G600"]
    assert "G700" not in lines  # in no zone, never crawled: only counted

    rows = {row["store"]: row for row in json.loads(run_scrapy(
        ["report", "--company", "aldi", "--format", "json"], db_url=db_url,
        workdir=run).stdout)}
    assert rows["G500"]["zone"] == zoned["zone"] and rows["G500"]["inferred_from"] == "G102"
    assert rows["G500"]["zone_verified_at"] == zoned["verified"].isoformat()
    assert rows["G102"]["inferred_from"] is None and rows["G700"]["zone"] is None

    csv_rows = {row["store"]: row for row in csv.DictReader(io.StringIO(run_scrapy(
        ["report", "--company", "aldi", "--format", "csv"], db_url=db_url,
        workdir=run).stdout))}
    assert csv_rows["G500"]["inferred_from"] == "G102"
    assert csv_rows["G500"]["zone"] == str(zoned["zone"]) and csv_rows["G700"]["zone"] == ""
