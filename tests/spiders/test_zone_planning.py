"""A zone crawl plans with the zones of GROCER_ZONE_DIRECTORY, read with the stores in start()'s
thread: no database, nothing read on the reactor."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from grocer.crawlstate import StoreTarget
from grocer.db.zones import ChainZones
from grocer.spiders.aldi import AldiSpider
from grocer.zones.discovery import KnownZone
from tests.helpers.spiders import project_settings

REPRESENTATIVE = StoreTarget(99, "G110", "G110")
calls = []


def one_zone(crawler, chain) -> ChainZones:
    """G110 represents a zone G105 is a member of."""
    calls.append(chain.slug)
    return ChainZones([KnownZone(7, "G110", frozenset({"G105"}))], {"G110": REPRESENTATIVE})


def test_a_member_selected_brings_its_zone_representative_from_the_zone_directory():
    crawler = get_crawler(AldiSpider, project_settings(
        GROCER_ZONE_DIRECTORY="tests.spiders.test_zone_planning.one_zone"))
    spider = AldiSpider.from_crawler(crawler, stores="G102,G105", by="zone")
    spider.targets = spider.select_targets()  # what start() runs in a thread
    assert calls == ["aldi"]
    spider.targets_selected()
    assert [target.code for target in spider.targets] == ["G102", "G105", "G110"]
    assert spider.target_by_code["G110"] == REPRESENTATIVE
    # Representatives of known zones are checked first.
    assert [target.code for target in spider.pending][0] == "G110"


def test_a_crawl_by_store_never_asks_for_zones():
    calls.clear()
    crawler = get_crawler(AldiSpider, project_settings(
        GROCER_ZONE_DIRECTORY="tests.spiders.test_zone_planning.one_zone"))
    spider = AldiSpider.from_crawler(crawler, stores="G102")
    spider.targets = spider.select_targets()
    assert calls == [] and [target.code for target in spider.targets] == ["G102"]
