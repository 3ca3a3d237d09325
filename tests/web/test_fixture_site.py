"""Issue 17's 'Done when': a database filled by real crawls of the fixture site (two chains
selling one product, two crawls with price changes, a stale and a failed store), seen through
the JSON API and through a real headless Chromium."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from grocer.db.models import CrawlRun
from grocer.db.stores import load_stores
from grocer.normalization.dates import utcnow
from grocer.storelist import read_store_list
from grocer.web.app import create_app
from tests.helpers.browser import chromium_page
from tests.helpers.crawl_fixtures import STORES_FILE
from tests.helpers.crawling import Crawler
from tests.helpers.database import empty_tables
from tests.helpers.fixture_server import running_site
from tests.helpers.web_server import running_app

pytestmark = pytest.mark.slow

APPLES = "810001"  # Woolworths Royal Gala Apples; IGA sells it too (same barcode, below)
IGA_APPLES = "180000001001"
SECOND_PRICES = {("woolworths", "1147"): Decimal("5.20"), ("iga", "19587"): Decimal("2.99")}


def price_of(result, sku: str, store_code: str) -> Decimal:
    (item,) = [i["product"] for i in result.items_of(store_code) if i["product"]["sku"] == sku]
    return Decimal(str(item["price_current"]))


@pytest.fixture(scope="module")
def crawled(_migrated_engine, db_url, tmp_path_factory):
    """Woolworths (1147, 1148) and IGA (19587, 19588) crawled twice, the second time with one
    changed price each and IGA only at 19587 (19588's only crawl is made ten days old: stale);
    Aldi once with G105 failing (its pages answer 500)."""
    engine = _migrated_engine
    empty_tables(engine)
    load_stores(engine, read_store_list(STORES_FILE))
    with running_site() as site:
        iga_apples = next(p for p in site.all_products("iga") if p.get("sku") == IGA_APPLES)
        iga_apples["barcode"] = "9310000000018"  # the Woolworths apples' barcode
        crawl = Crawler(tmp_path_factory.mktemp("crawls"), db_url, site.urls)
        first = {"woolworths": crawl("woolworths", args={"stores": "1147,1148"}),
                 "iga": crawl("iga", args={"stores": "19587,19588"})}
        site.fault("servicePoint=G105", *["500"] * 200)
        aldi = crawl("aldi", args={"stores": "G102,G105"})
        for result in (*first.values(), aldi):
            assert result.reason == "finished", result.log[-3000:]
        assert aldi.store_status() == {"G102": "completed", "G105": "failed"}
        second_started = utcnow()
        site.set_price("woolworths", "1147", APPLES, 5.2)
        site.set_price("iga", "32600", IGA_APPLES, 2.99)
        second = {"woolworths": crawl("woolworths", args={"stores": "1147,1148"}),
                  "iga": crawl("iga", args={"stores": "19587"})}
        for result in second.values():
            assert result.reason == "finished", result.log[-3000:]
    with engine.begin() as connection:  # time passes: IGA's first crawl is ten days old
        first_iga = connection.scalar(select(CrawlRun.id).where(CrawlRun.spider == "iga")
                                      .order_by(CrawlRun.id).limit(1))
        connection.execute(update(CrawlRun).where(CrawlRun.id == first_iga).values(
            finished_at=utcnow() - dt.timedelta(days=10)))
    old = {("woolworths", "1147"): price_of(first["woolworths"], APPLES, "1147"),
           ("iga", "19587"): price_of(first["iga"], IGA_APPLES, "19587")}
    return {"db_url": db_url, "second_started": second_started, "old": old}


@pytest.fixture(scope="module")
def client(crawled):
    with TestClient(create_app(crawled["db_url"])) as test_client:
        yield test_client


def test_changes_lists_exactly_the_second_crawls_changes(client, crawled):
    expected = sorted((chain, code, float(crawled["old"][(chain, code)]), float(new))
                      for (chain, code), new in SECOND_PRICES.items())
    for params in ({}, {"since": crawled["second_started"].isoformat()}):
        body = client.get("/api/changes", params=params).json()
        assert sorted((c["chain"], c["store_code"], c["old_price"], c["new_price"])
                      for c in body["changes"]) == expected
        assert body["total_changes"] == 2
        percents = [abs(c["percent"]) for c in body["changes"]]
        assert percents == sorted(percents, reverse=True)  # biggest first
    since_second = client.get("/api/changes",
                              params={"since": crawled["second_started"].isoformat()}).json()
    assert since_second["total_first_seen"] == 0  # the first crawls' rows are first sightings
    assert client.get("/api/changes").json()["total_first_seen"] > 100
    page = client.get("/changes").text
    assert page.count("<tr class=\"drop\">") + page.count("<tr class=\"rise\">") == 2


def test_stores_shows_the_stale_and_failed_stores(client):
    body = client.get("/api/stores").json()
    states = {(c["chain"], s["store_code"]): s["state"] for c in body["chains"]
              for s in c["stores"]}
    assert states[("iga", "19588")] == "stale"
    assert states[("aldi", "G105")] == "failed"
    assert states[("iga", "19587")] == states[("aldi", "G102")] == "fresh"
    assert states[("woolworths", "1147")] == states[("woolworths", "1148")] == "fresh"
    assert states[("aldi", "G110")] == "never"
    counts = {c["chain"]: c["counts"] for c in body["chains"]}
    assert counts["iga"] == {"fresh": 1, "stale": 1, "failed": 0, "never": 1}
    page = client.get("/stores").text
    assert '<span class="badge stale">stale</span>' in page
    assert '<span class="badge failed">failed</span>' in page


def test_api_matches_the_pages(client):
    (hit,) = client.get("/api/products", params={"q": "royal gala"}).json()["items"]
    assert [p["chain"] for p in hit["prices"]] == ["iga", "woolworths"]  # cheapest first
    product = client.get(f"/api/products/{hit['id']}").json()
    assert {(p["chain"], p["store_code"]) for p in product["prices_by_store"]} == {
        ("woolworths", "1147"), ("woolworths", "1148"), ("iga", "19587"), ("iga", "19588")}
    history = client.get(f"/api/products/{hit['id']}/history").json()
    assert [s["chain"] for s in history["chains"]] == ["iga", "woolworths"]
    page = client.get(f"/products/{hit['id']}").text
    for row in product["prices_by_store"]:
        assert f"<td>{row['chain']}</td>" in page and row["store_code"] in page


def test_a_browser_searches_opens_the_product_and_sees_chart_and_store_prices(crawled,
                                                                              tmp_path):
    with running_app(create_app(crawled["db_url"])) as url, chromium_page() as page:
        page.goto(url + "/")
        page.fill("input[name=q]", "gala")
        page.click("button[type=submit]")
        page.wait_for_selector("ol.hits")
        page.screenshot(path=str(tmp_path / "web-search.png"), full_page=True)
        page.click("ol.hits a.name >> text=Royal Gala")
        page.wait_for_selector("svg.chart")
        lines = page.locator("svg.chart path.series")
        assert sorted(lines.nth(i).get_attribute("data-series")
                      for i in range(lines.count())) == ["iga", "woolworths"]
        rows = page.locator("table.prices tbody tr")
        assert rows.count() == 4
        cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(4)]
        assert sorted(row[0] for row in cells) == ["iga", "iga", "woolworths", "woolworths"]
        assert "$5.20" in page.inner_text("table.prices")
        assert "$2.99" in page.inner_text("table.prices")
        page.screenshot(path=str(tmp_path / "web-product.png"), full_page=True)
        page.click("text=one line per store")
        page.wait_for_selector("svg.chart path.series")
        assert page.locator("svg.chart path.series").count() == 4
        page.click("table.prices th >> text=Store")  # the table sorts by store name
        names = page.locator("table.prices tbody tr td:nth-child(2)").all_inner_texts()
        assert names == sorted(names)
    assert (tmp_path / "web-product.png").stat().st_size > 10_000
