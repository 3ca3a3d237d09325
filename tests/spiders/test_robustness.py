"""Crawls that meet trouble: bad responses, a failing store, a block page, a changed build,
store drift, partial crawls and bad arguments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grocer.db.models import Store


def last_crawled(engine, code: str):
    with Session(engine) as session:
        return session.scalar(select(Store.last_crawled_at).where(Store.store_code == code))


def test_bad_responses_are_retried_counted_or_dropped_and_good_products_all_arrive(
        crawl, site, engine):
    # One request of each kind of trouble, then the normal answer (retried and recovered) …
    site.fault(("/v3/product-search", "servicePoint=G102"),
               "500", "truncated", "html", "empty")
    site.fault("/v2/product-category-tree", "503")
    # … a category of the second store that fails past every retry …
    site.fault(("categoryKey=5102", "servicePoint=G105"), *["500"] * 5)
    # … and broken products among good ones.
    site.catalogues["aldi"]["5101"] += ["not a product", {"sku": "000000000000700077",
                                                          "name": "No Price Here"}]
    result = crawl("aldi", args={"stores": "G102,G105"})

    assert result.reason == "finished", result.log[-4000:]
    assert result.store_status() == {"G102": "completed", "G105": "failed"}
    assert "HTTP 500" in result.crawl_state["stores"]["G105"]["error"]
    assert len(result.items_of("G102")) == 35  # every good product of the recovered store
    assert len(result.items_of("G105")) == 34  # all but the failed category's one product
    assert result.stat("grocer/bad_response/invalid_json") == 3  # truncated, html, empty
    assert result.stat("grocer/request_failed/http_500") == 1
    assert result.stat("grocer/stores/completed") == 1
    assert result.stat("grocer/stores/failed") == 1
    assert result.stat("grocer/skipped/not_a_product") == 2  # one per store
    assert sum(v for k, v in result.stats.items() if k.startswith("grocer/dropped/")) >= 2
    assert result.stat("grocer/retry/backoff_waits") >= 9
    assert "store G105 (2/2) FAILED (HTTP 500)" in result.log
    assert last_crawled(engine, "G102") is not None
    assert last_crawled(engine, "G105") is None  # only completed stores count as crawled


def test_coles_block_page_closes_the_crawl_as_blocked(crawl, site):
    site.fault("/_next/data/", "block")
    result = crawl("coles", args={"stores": "COL:401,COL:402"})
    assert result.reason == "blocked", result.log[-4000:]
    assert result.store_status() == {"COL:401": "failed"}  # COL:402 never started
    assert "blocked" in result.crawl_state["stores"]["COL:401"]["error"]
    assert result.stat("grocer/coles/blocked") == 1
    assert not site.requests_to("/browse/") or all(
        r.cookies.get("fulfillmentStoreId") == "401" for r in site.requests_to("/browse"))


def test_coles_without_browser_cookies_is_blocked_at_the_home_page(crawl, site):
    result = crawl("coles", env={"COLES_COOKIES_FILE": ""})
    assert result.reason == "blocked"
    assert [r.path for r in site.log if r.path != "/robots.txt"] == ["/"]


def test_coles_reads_html_pages_when_the_data_route_is_gone(crawl, site):
    build = site.coles_build_id
    site.fault(f"/_next/data/{build}/en/browse/meat-seafood.json", "404")
    result = crawl("coles", args={"stores": "COL:401"})
    assert result.reason == "finished", result.log[-4000:]
    assert result.store_status() == {"COL:401": "completed"}
    assert len(result.items_of("COL:401")) == 4
    assert result.stat("grocer/coles/html_fallback") == 1
    assert [r.query["page"] for r in site.requests_to("/browse/meat-seafood")
            if not r.path.startswith("/_next")] == [["1"], ["2"]]
    assert result.crawl_state["stores"]["COL:401"]["drift"] == 0


def test_coles_store_answered_for_an_unknown_store_fails_with_drift_and_writes_nothing(
        crawl, site):
    site.drift[("coles", "402")] = "0766"  # initStoreId of a store grocer does not know
    result = crawl("coles", args={"stores": "COL:401,COL:402"})
    assert result.store_status() == {"COL:401": "completed", "COL:402": "failed"}
    assert result.crawl_state["stores"]["COL:402"]["reason"] == "drift"
    assert result.items_of("COL:402") == []  # the old spider kept 4 items of store 766 here
    assert result.stat("grocer/drift/dropped") >= 1
    assert "store COL:402 (2/2) FAILED (drift" in result.log


def test_categories_and_limit_make_a_partial_crawl(crawl, site):
    result = crawl("aldi", args={"stores": "G102,G105", "categories": "fresh-fruits,pantry",
                                 "limit": "3", "_job": "scrapyd-job-id"})
    assert result.reason == "finished", result.log[-4000:]
    assert result.crawl_state["partial"] is True
    assert all(len(result.items_of(code)) == 3 for code in ("G102", "G105"))
    assert {r.query["categoryKey"][0] for r in site.requests_to("/v3/product-search")} <= {
        "5101", "5201"}


def test_unknown_store_code_stops_before_crawling(crawl, site):
    result = crawl("aldi", args={"stores": "G102,G999"})
    assert result.returncode != 0
    assert "unknown Aldi store code(s): G999" in result.log
    assert not site.log


def test_iga_default_store_is_the_first_with_a_site_id(crawl, site):
    result = crawl("iga", args={"categories": "Fruit"})
    assert result.store_status() == {"19587": "completed"}
    assert {r.path.split("/")[4] for r in site.requests_to("/api/storefront")} == {"32600"}


def test_http_cache_replays_a_crawl_store_by_store(crawl, site):
    cache = {"HTTPCACHE_ENABLED": "True", "HTTPCACHE_DIR": str(crawl.workdir / "httpcache")}
    site.set_price("coles", "402", "4000001", 6.0)  # the same URL answers per store (cookie)
    first = crawl("coles", args={"stores": "COL:401,COL:402"}, settings=cache)
    assert first.reason == "finished", first.log[-4000:]
    requests_seen = len(site.log)
    site.set_price("coles", "401", "4000001", 99.0)  # the site changes; the cache does not
    replay = crawl("coles", args={"stores": "COL:401,COL:402"}, settings=cache)
    assert replay.reason == "finished", replay.log[-4000:]
    assert len(site.log) == requests_seen  # nothing fetched: all from the cache
    prices = {(item["store_code"], item["raw"]["id"]): item["raw"]["pricing"]["now"]
              for item in replay.items}
    assert prices[("COL:401", 4000001)] == 7.5 and prices[("COL:402", 4000001)] == 6.0


def test_pages_forbidden_by_robots_txt_fail_the_store(crawl, site, engine):
    # Never a "completed" store with no products: reconciliation would delist all its prices.
    site.robots_txt = "User-agent: *\nDisallow: /v3/\n"
    result = crawl("aldi", args={"stores": "G102"})
    assert result.reason == "no_store_completed"
    assert result.store_status() == {"G102": "failed"}
    assert "robots.txt" in result.crawl_state["stores"]["G102"]["error"]
    assert result.stat("robotstxt/forbidden") == 3
    assert not site.requests_to("/v3/")


def test_a_store_without_any_product_is_not_completed(crawl, site):
    site.catalogues["aldi"] = {}  # every category answers with an empty page
    result = crawl("aldi", args={"stores": "G102"})
    assert result.store_status() == {"G102": "failed"}
    assert result.crawl_state["stores"]["G102"]["error"] == "no products found"
