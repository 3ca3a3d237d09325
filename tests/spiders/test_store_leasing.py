"""Crawls with -a stores=lease:N, run at the same time, share out the chain's stores."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from grocer.db.models import Store
from tests.helpers.crawling import Crawler


@pytest.mark.slow
def test_concurrent_leased_crawls_crawl_every_store_once(tmp_path, db_url, stores, site):
    crawlers = [Crawler(tmp_path / f"node{n}", db_url, site.urls) for n in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda crawl: crawl("aldi", args={"stores": "lease:3"}),
                                crawlers))
    crawled = [sorted(result.crawl_state["stores"]) for result in results]
    assert all(result.returncode == 0 for result in results), [r.log[-2000:] for r in results]
    assert sorted(crawled[0] + crawled[1]) == ["G102", "G105", "G110", "G111", "G112", "G113"]
    assert "released the lease of 3 stores" in results[0].log
    with stores.connect() as connection:  # every lease was released
        assert set(connection.scalars(select(Store.lease_holder))) == {None}
    # A third crawl of the same round finds nothing left to lease.
    again = Crawler(tmp_path / "node2", db_url, site.urls)("aldi", args={"stores": "lease:3"})
    assert again.crawl_state["stores"] == {}
    assert "nothing to do" in again.log
