"""Fixtures of the spider tests: the fixture server, the test stores, a crawl runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from grocer.db.stores import load_stores
from grocer.storelist import read_store_list
from tests.helpers.fixture_server import SITES_DIR, running_site
from tests.helpers.crawling import Crawler

STORES_FILE = SITES_DIR / "stores.json"


@pytest.fixture
def site():
    """The fixture sites, fresh for each test; `site.urls` names each chain's server."""
    with running_site() as fixture_site:
        yield fixture_site


@pytest.fixture
def stores(engine):
    """The test store list loaded into the (emptied) test database."""
    load_stores(engine, read_store_list(STORES_FILE))
    return engine


@pytest.fixture
def crawl(tmp_path: Path, db_url, stores, site) -> Crawler:
    """crawl("aldi", args={...}, settings={...}) → CrawlResult."""
    return Crawler(tmp_path, db_url, site.urls)
