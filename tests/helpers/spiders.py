"""Chain spiders built in-process without a database: the store directory is replaced by a
fixed list of stores (GROCER_STORE_DIRECTORY), the drift guard's by no known store
(GROCER_KNOWN_STORES) and the zone directory by no zones (GROCER_ZONE_DIRECTORY), as a
parse_page unit test needs. Also a known-stores directory for crawls in a subprocess that says
where it was called from."""

from __future__ import annotations

import json

from scrapy.utils.test import get_crawler
from twisted.python import threadable

import grocer.settings
from grocer.crawlstate import StoreSelectionError, StoreTarget
from grocer.db.targets import known_stores
from grocer.db.zones import ChainZones

# The fixture site's stores (tests/fixtures/sites/stores.json): code → site id.
FIXTURE_STORES = {"G102": "G102", "G105": "G105", "COL:401": "401", "COL:402": "402",
                  "1147": "1147", "1148": "1148", "19587": "32600", "19588": "83253"}


def fixture_directory(crawler, chain, stores_argument):
    """A store directory without a database: `-a stores=` codes of FIXTURE_STORES."""
    codes = [code.strip() for code in (stores_argument or "").split(",") if code.strip()]
    unknown = [code for code in codes if code not in FIXTURE_STORES]
    if unknown or not codes:
        raise StoreSelectionError(f"unknown {chain.name} store code(s): {', '.join(unknown)}")
    return [StoreTarget(number, code, FIXTURE_STORES[code])
            for number, code in enumerate(codes, start=1)]


def no_known_stores(crawler, chain) -> dict[str, StoreTarget]:
    """A drift guard's directory without a database: the site names no store grocer knows."""
    return {}


def recording_known_stores(crawler, chain) -> dict[str, StoreTarget]:
    """grocer's GROCER_KNOWN_STORES, appending to the TEST_KNOWN_STORES_FILE setting's file one
    JSON line per call: whether it ran in the reactor's thread, the responses the crawl had."""
    call = {"reactor_thread": threadable.isInIOThread(),
            "responses": crawler.stats.get_value("response_received_count", 0)}
    with open(crawler.settings.get("TEST_KNOWN_STORES_FILE"), "a", encoding="utf-8") as record:
        record.write(json.dumps(call) + "\n")
    return known_stores(crawler, chain)


def no_zones(crawler, chain) -> ChainZones:
    """A zone directory without a database: the chain has no zone yet."""
    return ChainZones([], {})


def project_settings(**overrides) -> dict:
    settings = {name: getattr(grocer.settings, name) for name in dir(grocer.settings)
                if name.isupper()}
    return {**settings, "GROCER_STORE_DIRECTORY": "tests.helpers.spiders.fixture_directory",
            "GROCER_KNOWN_STORES": "tests.helpers.spiders.no_known_stores",
            "GROCER_ZONE_DIRECTORY": "tests.helpers.spiders.no_zones", **overrides}


def make_spider(spider_class, **kwargs):
    """A spider whose stores are selected as start() would, without a database."""
    crawler = get_crawler(spider_class, project_settings())
    spider = spider_class.from_crawler(crawler, **kwargs)
    spider.targets = spider.select_targets()
    spider.targets_selected()
    return spider
