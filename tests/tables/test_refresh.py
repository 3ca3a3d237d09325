"""Translation tables during a crawl: downloaded through Scrapy at the start, refreshed after
every 5th store (a 304 keeps the file), never replaced by a bad download."""

from __future__ import annotations

import json

from grocer.tables.refresh import etag_path

BRAND = "brand_translation_table.json"
PRODUCT = "product_translation_table.json"
BRAND_V1 = {"farmwood fresh": "farmwood"}
BRAND_V2 = {"farmwood fresh": "farmwood", "belmont biscuits": "belmont"}
PRODUCT_V1 = {"1kg apples farmwood lady pink": "1kg apples farmwood pink lady"}
SIX_STORES = "G102,G105,G110,G111,G112,G113"


def tables_env(site) -> dict:
    return {"TRANSLATION_TABLES_URL": site.urls["tables"] + "/tables",
            "GROCER_TABLES_TOKEN": site.tables_token}


def sequence(site) -> list[str]:
    """The fixture site's log as 'tables' and store codes, in order."""
    events = []
    for request in site.log:
        if request.path.startswith("/tables/"):
            events.append("tables")
        elif request.path == "/v3/product-search":
            events.append(request.query["servicePoint"][0])
    return events


def test_tables_downloaded_at_start_and_refreshed_after_the_fifth_store(crawl, site):
    site.tables = {BRAND: [BRAND_V1, BRAND_V2], PRODUCT: [PRODUCT_V1]}
    result = crawl("aldi", args={"stores": SIX_STORES, "categories": "fresh-fruits"},
                   env=tables_env(site), settings={"GROCER_RECONCILE_ON_CLOSE": "False"})
    assert result.reason == "finished", result.log[-4000:]
    assert sequence(site) == ["tables", "tables", "G102", "G105", "G110", "G111", "G112",
                              "tables", "tables", "G113"]
    table_requests = site.requests_to("/tables/")
    assert all(r.headers["x-grocer-token"] == site.tables_token for r in table_requests)
    assert [("if-none-match" in r.headers) for r in table_requests] == [False, False, True, True]
    # The brand table changed on the server: replaced; the product table did not: 304, kept.
    assert json.loads((crawl.tables_dir / BRAND).read_text()) == BRAND_V2
    assert json.loads((crawl.tables_dir / PRODUCT).read_text()) == PRODUCT_V1
    assert etag_path(crawl.tables_dir / PRODUCT).read_text().startswith('"')
    assert result.stat("grocer/tables/updated") == 3
    assert result.stat("grocer/tables/not_modified") == 1
    assert result.stat("grocer/tables/refreshed") == 2  # at the start and after store 5
    assert result.stat("grocer/tables_loaded") == 3  # the normalize pipeline reloaded each time
    # Table downloads ignore robots.txt (which disallows /tables/ here) and are no store pages.
    assert not result.stat("robotstxt/forbidden")
    assert result.stat("grocer/pages") == 6


def test_a_bad_download_never_replaces_a_good_table(crawl, site):
    crawl.tables_dir.joinpath(BRAND).write_text(json.dumps(BRAND_V1))
    crawl.tables_dir.joinpath(PRODUCT).write_text(json.dumps(PRODUCT_V1))
    site.tables = {BRAND: [b'{"truncated": '], PRODUCT: [{}]}
    result = crawl("aldi", args={"categories": "fresh-fruits"}, env=tables_env(site),
                   settings={"GROCER_RECONCILE_ON_CLOSE": "False"})
    assert result.reason == "finished", result.log[-4000:]
    assert result.stat("grocer/tables/invalid") == 2  # not JSON; empty instead of non-empty
    assert not result.stat("grocer/tables/refreshed")
    assert json.loads((crawl.tables_dir / BRAND).read_text()) == BRAND_V1
    assert json.loads((crawl.tables_dir / PRODUCT).read_text()) == PRODUCT_V1
    assert result.store_status() == {"G102": "completed"}


def test_without_a_url_the_directory_is_reloaded_after_the_fifth_store(crawl, site):
    result = crawl("aldi", args={"stores": SIX_STORES, "categories": "fresh-fruits"})
    assert result.reason == "finished", result.log[-4000:]
    assert result.stat("grocer/tables/refreshed") == 1
    assert result.stat("grocer/tables_loaded") == 2
    assert not site.requests_to("/tables/")
