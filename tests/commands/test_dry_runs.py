"""Dry runs stay dry (issue 13): `scrapy parse` prints a page's items and `scrapy check` passes,
and neither writes to the database — no CrawlRun, no store, no price — nor crawls a store."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grocer.db.models import CrawlRun, Price, Product, Store
from tests.helpers.scrapy_cli import run_scrapy

QUIET = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]


def row_counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (CrawlRun, Store, Product, Price)}


def aldi_page_url(site, category: str) -> str:
    return (f"{site.urls['aldi']}/v3/product-search?currency=AUD&serviceType=walk-in"
            f"&categoryKey={category}&limit=30&offset=0&sort=relevance&testVariant=A"
            "&servicePoint=G105")


def test_scrapy_parse_prints_the_items_of_a_page_and_writes_nothing(engine, site, tmp_path):
    url = aldi_page_url(site, "5101")
    for extra in ([], ["--pipelines"]):  # the computing pipelines only: still nothing written
        result = run_scrapy(["parse", url, "--spider", "aldi", "-a", "stores=G105", *QUIET,
                             *extra],
                            db_url=str(engine.url.render_as_string(hide_password=False)),
                            workdir=tmp_path, env={"ALDI_BASE_URL": site.urls["aldi"]},
                            timeout=120)
        for product in site.catalogues["aldi"]["5101"]:
            assert product["sku"] in result.stdout, result.stdout[-3000:]
        assert "'store_code': 'G105'" in result.stdout
    assert row_counts(engine) == {"crawl_run": 0, "store": 0, "product": 0, "price": 0}
    # The page asked for, nothing else: no category tree, no store loop, no default store.
    assert [r.path for r in site.log if r.path != "/robots.txt"] == ["/v3/product-search"] * 2


def test_scrapy_check_passes_and_writes_nothing(engine, tmp_path):
    result = run_scrapy(["check"], db_url=str(engine.url.render_as_string(hide_password=False)),
                        workdir=tmp_path, timeout=120)
    assert "OK" in result.stderr + result.stdout
    assert row_counts(engine) == {"crawl_run": 0, "store": 0, "product": 0, "price": 0}


def test_a_dry_run_on_a_missing_sqlite_file_leaves_no_file(site, tmp_path):
    database = tmp_path / "mistyped.sqlite3"
    run_scrapy(["parse", aldi_page_url(site, "5102"), "--spider", "aldi", *QUIET],
               db_url=f"sqlite:///{database}", workdir=tmp_path / "work",
               env={"ALDI_BASE_URL": site.urls["aldi"]}, timeout=120)
    assert not database.exists()  # no schema created, no CrawlRun recorded
