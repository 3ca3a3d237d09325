"""Meta-tests over every spider and chain (in the style of alltheplaces): what each chain must
have, checked for all of them at once, so a new chain cannot be half-added."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from grocer import settings as grocer_settings
from grocer.chains import CHAINS
from grocer.normalization.cleaners import CLEANERS, Cleaner
from grocer.spiders.base import StoreSpider
from grocer.spiders.locator import LocatorSpider
from grocer.spiders.site import GrocerSpider

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sites"
SPIDERS = SpiderLoader(get_project_settings())
SPIDER_CLASSES = [SPIDERS.load(name) for name in SPIDERS.list()]


def spiders_of(base):
    return [cls for cls in SPIDER_CLASSES if issubclass(cls, base)]


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_every_chain_has_a_price_spider_a_store_locator_a_cleaner_and_fixtures(chain):
    names = SPIDERS.list()
    assert chain in names, f"no spider named {chain!r}"
    assert issubclass(SPIDERS.load(chain), StoreSpider)
    assert issubclass(SPIDERS.load(f"{chain}_stores"), LocatorSpider)
    assert isinstance(CLEANERS.get(chain), Cleaner), f"no cleaner for {chain!r}"
    site = FIXTURES / chain
    assert site.is_dir() and any(site.glob("*.json")), f"no fixture site under {site}"
    assert (site / "locator_stores.json").is_file()


@pytest.mark.parametrize("spider", SPIDER_CLASSES, ids=lambda cls: cls.name)
def test_every_spider_takes_its_base_url_and_user_agent_from_settings(spider):
    assert issubclass(spider, GrocerSpider)
    for setting in (spider.base_url_setting, spider.user_agent_setting):
        value = getattr(grocer_settings, setting, None)
        assert isinstance(value, str) and value, f"{spider.name}: {setting} not in settings.py"
    assert getattr(grocer_settings, spider.base_url_setting).startswith("https://")


@pytest.mark.parametrize("spider", SPIDER_CLASSES, ids=lambda cls: cls.name)
def test_no_spider_is_less_polite_than_the_project(spider):
    custom = dict(spider.custom_settings or {})
    for name in ("DOWNLOAD_DELAY", "AUTOTHROTTLE_START_DELAY"):
        if name in custom:
            assert custom[name] >= getattr(grocer_settings, name), f"{spider.name} lowers {name}"
    for name in ("CONCURRENT_REQUESTS_PER_DOMAIN", "CONCURRENT_REQUESTS"):
        if name in custom:
            assert custom[name] <= getattr(grocer_settings, name), f"{spider.name} raises {name}"
    assert custom.get("ROBOTSTXT_OBEY", True), f"{spider.name} ignores robots.txt"


@pytest.mark.parametrize("spider", SPIDER_CLASSES, ids=lambda cls: cls.name)
def test_spider_modules_speak_no_sql(spider):
    source = Path(__import__(spider.__module__, fromlist=["_"]).__file__).read_text()
    assert "sqlalchemy" not in source, f"{spider.__module__} imports SQLAlchemy"


def test_every_spider_is_a_chain_spider_or_a_known_helper():
    assert {cls.name for cls in spiders_of(StoreSpider)} == set(CHAINS)
    assert {cls.name for cls in spiders_of(LocatorSpider)} == {f"{c}_stores" for c in CHAINS}
