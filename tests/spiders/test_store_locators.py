"""The store-locator spiders (`<chain>_stores`): against the fixture locators, an empty database
gets every store once, a second sweep changes nothing, a store the locator drops is closed (not
deleted) and `-a stores=all` then skips it; a sweep with a failed point closes nothing. Plus the
parsing of the real Aldi service-points and Woolworths store-locator samples."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select

import grocer.settings
from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, Store
from grocer.spiders.aldi_stores import AldiStoresSpider
from grocer.spiders.locator import POPULATED_AREAS, australia_grid, grid
from grocer.spiders.woolworths_stores import (
    DIVISIONS,
    WoolworthsStoresSpider,
    opening_hours,
)
from tests.helpers.fixture_server import SITES_DIR
from tests.helpers.locator_site import CODES, LOCATOR_CHAINS, distance_km, running_locator_site
from tests.helpers.scrapy_cli import run_scrapy
from tests.helpers.crawling import Crawler

STEP_KM = 400  # 51 points: every fixture store is within the locators' radius of one or two
IGA_STEP = 500  # 47 location ids
STATS_ONLY = json.dumps({"tests.helpers.stats_dump.StatsDump": 0})
EXPECTED = {  # chain → {code: (name, division, site_store_id, state, postcode)} of the fixtures
    "aldi": {"G102": ("1151 Creek Road", None, None, "QLD", "4152")},
    "coles": {"COL:401": ("Coles Firle", "Coles Supermarkets", "401", "SA", "5070"),
              "LQR:7001": ("Liquorland Test", "Liquorland", "7001", "NSW", "2060")},
    "woolworths": {"1147": ("Bass Hill", "SUPERMARKETS", None, "NSW", "2197"),
                   "7001": ("Ampol Footscray", "AMPOL", None, "VIC", "3011")},
    "iga": {"19587": ("IGA Test One", None, "32600", "NSW", "2576"),
            "19600": ("IGA Without Site Id", None, None, "WA", "6725")},
}


@pytest.fixture
def site():
    with running_locator_site() as locator_site:
        yield locator_site


@pytest.fixture
def sweep(tmp_path, db_url, engine, site):
    """sweep(chain) → CrawlResult of `scrapy crawl <chain>_stores` on the (emptied) database."""
    crawler = Crawler(tmp_path, db_url, site.urls)

    def run(chain: str, **settings):
        args = {"step": IGA_STEP if chain == "iga" else STEP_KM}
        return crawler(f"{chain}_stores", args=args,
                       settings={"EXTENSIONS": STATS_ONLY, **settings},
                       env={"IGA_STORES_BASE_URL": site.urls["salefinder"]})

    run.crawler = crawler
    return run


def stores_in_db(engine, slug: str) -> dict[str, dict]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(Store, Division.name).join(Company, Store.company_id == Company.id)
            .outerjoin(Division, Store.division_id == Division.id).where(Company.slug == slug))
        return {store.store_code: {
            "id": store.id, "name": store.name, "division": division,
            "site_store_id": store.site_store_id, "state": store.state,
            "postcode": store.postcode, "latitude": store.latitude,
            "longitude": store.longitude, "address": store.address, "suburb": store.suburb,
            "closed_at": store.closed_at} for store, division in rows}


def fixture_codes(chain: str) -> set[str]:
    raw = json.loads((SITES_DIR / chain / "locator_stores.json").read_text())
    return {CODES[chain](store) for store in raw}


# --- the grid -------------------------------------------------------------------------------

def test_the_grid_covers_every_populated_area_within_half_a_cell():
    points = australia_grid(50)
    for area in POPULATED_AREAS:
        middle = ((area.south + area.north) / 2, (area.west + area.east) / 2)
        for place in [(area.south, area.west), (area.north, area.east), middle]:
            assert min(distance_km(*place, *point) for point in points) < 40  # 35 km: a half
    assert len(grid(POPULATED_AREAS[-1], 10_000)) == 1  # a small area still gets its point


def test_woolworths_opening_hours_name_today_and_tomorrow_by_their_day():
    hours = opening_hours([
        {"Day": "Today", "OpenHour": "Closed", "TradingHourForDisplay": "Sat: Closed"},
        {"Day": "Monday", "OpenHour": "6:00 AM - 8:00 PM",
         "TradingHourForDisplay": "Mon: 0600-2000"}, {"Day": "x"}])
    assert hours == {"Sat": "closed", "Mon": "06:00-20:00"}
    assert opening_hours(None) is None


# --- parsing without a crawl (no database) ----------------------------------------------------

def locator_spider(spider_class, **kwargs):
    settings = {name: getattr(grocer.settings, name) for name in dir(grocer.settings)
                if name.isupper()}
    return spider_class.from_crawler(get_crawler(spider_class, settings), **kwargs)


def point_response(spider_class, body: bytes, point=(-31.9, 115.8)):
    """A spider (built without a database) and its response `body` to a point's request."""
    spider = locator_spider(spider_class)
    request = spider.point_request(point, {"point": 0})
    return spider, TextResponse(request.url, body=body, request=request, encoding="utf-8")


def aldi_response(body: bytes):
    return point_response(AldiStoresSpider, body)


def test_store_locators_sweep_every_store_and_take_no_store_selection():
    with pytest.raises(ValueError, match="every store"):
        locator_spider(AldiStoresSpider, stores="G102")
    with pytest.raises(ValueError, match="step"):
        locator_spider(AldiStoresSpider, step="0")


def test_aldi_pages_a_point_until_its_total_and_dedupes_by_code():
    page = {"data": [{"id": "G1", "name": "One", "address": {"regionIsoCode": "WA"}},
                     {"id": "G1", "name": "Again"}, {"name": "no code"}],
            "meta": {"pagination": {"offset": 0, "limit": 3, "totalCount": 5}}}
    spider, response = aldi_response(json.dumps(page).encode())
    output = list(spider.parse_point(response))
    items, requests = output[:-1], output[-1:]
    assert [dict(item)["store_code"] for item in items] == ["G1"]
    assert "offset=3" in requests[0].url and requests[0].meta["point"] == 0
    assert spider.crawler.stats.get_value("grocer/locator/duplicates") == 1
    assert spider.crawler.stats.get_value("grocer/locator/stores_without_code") == 1
    assert spider.points_done == 0  # its next page is still to come


def test_real_aldi_service_points_parse_to_stores(shared_dir):
    path = shared_dir / "samples" / "aldi" / "service_points_v2__splitcart_2025-08.json"
    spider, response = aldi_response(path.read_bytes())
    output = list(spider.parse_point(response))
    items = [dict(item) for item in output if not hasattr(item, "url")]
    assert len(items) == len(json.loads(path.read_text())["data"]) == 10
    for item in items:
        assert item["store_code"].startswith("G") and item["store_code"][1:].isdigit()
        assert item["name"] and item["state"] == "WA"
        assert len(item["postcode"]) == 4 and item["postcode"].isdigit()
        assert -36 < item["latitude"] < -30 and 114 < item["longitude"] < 117
        assert item["company"] == "aldi" and item["suburb"]
    yokine = next(item for item in items if item["store_code"] == "G075")
    assert (yokine["suburb"], yokine["postcode"]) == ("Yokine", "6060")
    # totalCount 47 > 10: the point goes on with its next page
    assert any("offset=10" in getattr(request, "url", "") for request in output)


def test_real_woolworths_store_locator_parses_to_stores(shared_dir):
    path = shared_dir / "samples" / "woolworths" / "store_locator__splitcart_2025-08.json"
    spider, response = point_response(WoolworthsStoresSpider, path.read_bytes(),
                                      (-33.86, 151.2))
    items = [dict(item) for item in spider.parse_point(response)]
    assert len(items) == len(json.loads(path.read_text())["Stores"]) == 30
    for item in items:
        assert item["store_code"].isdigit() and item["name"] and item["suburb"]
        assert item["division"] in DIVISIONS and item["state"] in ("NSW", "ACT")
        assert len(item["postcode"]) == 4 and -34.5 < item["latitude"] < -33
    metro = next(item for item in items if item["store_code"] == "1550")
    assert metro["opening_hours"]["Mon"] == "06:00-20:00"
    assert metro["opening_hours"]["Sat"] == "closed"
    assert spider.points_done == 1


# --- sweeps against the fixture locators ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("chain", LOCATOR_CHAINS)
def test_a_sweep_fills_an_empty_database_then_changes_nothing_then_closes_a_dropped_store(
        chain, sweep, engine, site):
    first = sweep(chain)
    assert first.reason == "finished", first.log[-3000:]
    assert "StorePipeline" in first.log and "CleanPipeline" not in first.log
    stores = stores_in_db(engine, chain)
    assert set(stores) == fixture_codes(chain)
    assert first.stat("grocer/locator/duplicates") > 0  # overlapping points listed stores twice
    assert first.stat("grocer/stores/created") == len(stores)
    for code, (name, division, site_id, state, postcode) in EXPECTED[chain].items():
        store = stores[code]
        assert (store["name"], store["division"], store["site_store_id"], store["state"],
                store["postcode"]) == (name, division, site_id, state, postcode)
        assert isinstance(store["latitude"], Decimal) and store["address"] and store["suburb"]
    assert all(store["closed_at"] is None for store in stores.values())
    points = first.stat("grocer/locator/points")
    assert f"{points}/{points} points done, {len(stores)} stores found" in first.log  # progress
    assert f"0 failed, {len(stores)} stores" in first.log  # the closing summary

    second = sweep(chain)
    assert second.reason == "finished"
    assert (second.stat("grocer/stores/created"), second.stat("grocer/stores/updated"),
            second.stat("grocer/stores/closed")) == (0, 0, 0)
    assert stores_in_db(engine, chain) == stores

    dropped = sorted(stores)[-1]
    site.drop_store(chain, dropped)
    third = sweep(chain)
    assert third.reason == "finished" and third.stat("grocer/stores/closed") == 1
    after = stores_in_db(engine, chain)
    assert set(after) == set(stores)  # never deleted
    assert after[dropped]["closed_at"] is not None
    assert {code for code, store in after.items() if store["closed_at"]} == {dropped}


@pytest.mark.slow
def test_iga_stores_all_crawls_the_swept_stores_and_skips_a_closed_one(sweep, engine, site):
    assert sweep("iga").reason == "finished"
    crawl = sweep.crawler
    result = crawl("iga", args={"stores": "all", "limit": 1},
                   settings={"EXTENSIONS": STATS_ONLY, "ITEM_PIPELINES": "{}"})
    assert result.reason == "finished", result.log[-3000:]
    with_site_id = {code for code, store in stores_in_db(engine, "iga").items()
                    if store["site_store_id"]}
    assert set(result.store_status()) == with_site_id
    assert set(result.store_status().values()) == {"completed"}

    site.drop_store("iga", "20002")
    assert sweep("iga").stat("grocer/stores/closed") == 1
    result = crawl("iga", args={"stores": "all", "limit": 1},
                   settings={"EXTENSIONS": STATS_ONLY, "ITEM_PIPELINES": "{}"})
    assert set(result.store_status()) == with_site_id - {"20002"}


@pytest.mark.slow
def test_a_sweep_with_a_failed_point_closes_nothing(sweep, engine, site):
    assert sweep("aldi").reason == "finished"
    site.drop_store("aldi", "G400")
    latitude, longitude = australia_grid(STEP_KM)[0]
    site.fault(("/v2/service-points", f"latitude={latitude}&longitude={longitude}"),
               *["500"] * 10)
    failed = sweep("aldi")
    assert failed.reason == "sweep_incomplete"
    assert failed.stat("grocer/locator/points_failed") == 1
    assert "point 0: HTTP 500" in failed.log
    assert "the sweep is incomplete: no store was closed" in failed.log
    assert all(store["closed_at"] is None for store in stores_in_db(engine, "aldi").values())


@pytest.mark.slow
def test_a_locator_that_fails_everywhere_stops_the_sweep_early(sweep, site):
    site.fault("/apis/ui/StoreLocator/Stores", *["403"] * 1000)
    result = sweep("woolworths")
    assert result.reason == "sweep_incomplete"
    assert "20 points failed: the sweep stops" in result.log
    # 20 failed points and those in flight (8 at a time in tests), not all 51
    assert len(site.requests_to("/apis/ui/StoreLocator/Stores")) <= 20 + 2 * 8


@pytest.mark.slow
def test_a_sweep_closing_too_many_stores_closes_none(sweep, engine, site):
    assert sweep("woolworths").reason == "finished"
    for code in ("1147", "1148", "1550"):
        site.drop_store("woolworths", code)
    result = sweep("woolworths")
    assert result.reason == "finished" and result.stat("grocer/stores/close_refused") == 3
    assert "GROCER_STORES_MAX_CLOSED_SHARE" in result.log
    assert all(store["closed_at"] is None
               for store in stores_in_db(engine, "woolworths").values())


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_a_sweep_creates_the_schema_of_a_new_database(tmp_path, site):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    crawler = Crawler(tmp_path, url, site.urls)
    result = crawler("aldi_stores", args={"step": STEP_KM}, settings={"EXTENSIONS": STATS_ONLY})
    assert result.reason == "finished", result.log[-3000:]
    assert "empty database: creating grocer's schema" in result.log
    assert result.stat("grocer/stores/created") == len(fixture_codes("aldi"))


@pytest.mark.slow
def test_coles_sweep_without_the_browser_session_closes_blocked(sweep, engine):
    result = sweep("coles", COLES_COOKIES_FILE="")
    assert result.reason == "blocked"
    assert stores_in_db(engine, "coles") == {}


@pytest.mark.slow
def test_the_feed_of_a_sweep_is_a_store_list_loadstores_reads(sweep, engine, db_url, tmp_path):
    assert sweep("coles").reason == "finished"
    swept = stores_in_db(engine, "coles")
    feed = tmp_path / f"items-{sweep.crawler.runs}.jsonl"
    with session_scope(engine) as session:
        for store in session.scalars(select(Store)):
            session.delete(store)
    output = run_scrapy(["loadstores", str(feed)], db_url=db_url, workdir=tmp_path / "load")
    assert f"{len(swept)} stores read" in output.stdout
    loaded = stores_in_db(engine, "coles")
    strip = lambda stores: {code: {k: v for k, v in s.items() if k != "id"}  # noqa: E731
                            for code, s in stores.items()}
    assert strip(loaded) == strip(swept)
