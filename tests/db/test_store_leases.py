"""Store leasing (-a stores=lease:N): concurrent leases never share a store, a lease expires,
a release frees it, and a store crawled in this round is not leased again."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from grocer.chains import CHAINS
from grocer.db.models import Store
from grocer.db.stores import lease_stores, release_leases, renew_leases
from grocer.normalization.dates import utcnow
from grocer.crawlstate import StoreSelectionError
from grocer.db.storeselection import StoreLease, select_stores, stores_query
from grocer.db.targets import LeaseKeeper
from grocer.storelist import StoreList, StoreRow
from grocer.db.stores import load_stores

ALDI = CHAINS["aldi"]


@pytest.fixture
def many_stores(engine):
    rows = [StoreRow(company="Aldi", store_code=f"G{n:03d}", division="ALDI Stores")
            for n in range(200, 260)]
    load_stores(engine, StoreList(rows, companies={"Aldi": None}))
    return engine


def lease(engine, count, holder, seconds=60.0):
    return lease_stores(engine, stores_query(ALDI), count, holder, seconds)


def test_concurrent_leases_never_share_a_store_and_cover_the_chain(many_stores):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: lease(many_stores, 8, f"crawl-{n}"), range(8)))
    leased = [store for result in results for store in result]
    assert len(leased) == len(set(leased)) == 60  # 8 × 8 wanted, 60 stores: all, once
    # None gets more than it asked for. Which crawls end short is a race: the last free stores
    # may all go to one crawl while another, one store short, waits for its locks.
    assert max(len(result) for result in results) == 8


def test_the_stalest_stores_are_leased_first(many_stores):
    with many_stores.begin() as connection:
        connection.execute(update(Store).values(last_crawled_at=utcnow() - dt.timedelta(days=1)))
        connection.execute(update(Store).where(Store.store_code == "G250")
                           .values(last_crawled_at=None))
        connection.execute(update(Store).where(Store.store_code == "G240")
                           .values(last_crawled_at=utcnow() - dt.timedelta(days=9)))
    targets = select_stores(many_stores, ALDI, "lease:2", lease=StoreLease(many_stores, 60, 12))
    assert [target.code for target in targets] == ["G250", "G240"]


def test_a_lease_expires_and_a_release_frees_the_stores(many_stores):
    first = lease(many_stores, 30, "killed", seconds=0.5)
    second = lease(many_stores, 60, "other")
    assert len(first) == 30 and set(second).isdisjoint(first)
    time.sleep(0.6)  # the killed crawl renews nothing
    assert set(lease(many_stores, 60, "late")) == set(first)
    assert renew_leases(many_stores, "killed", 60) == 0  # it lost them
    assert release_leases(many_stores, "other") == 30
    assert len(lease(many_stores, 60, "after-release")) == 30


def test_a_store_crawled_in_this_round_is_not_leased_again(many_stores):
    with many_stores.begin() as connection:
        connection.execute(update(Store).where(Store.store_code != "G200")
                           .values(last_crawled_at=utcnow() - dt.timedelta(hours=1)))
    targets = select_stores(many_stores, ALDI, "lease:5", lease=StoreLease(many_stores, 60, 12))
    assert [target.code for target in targets] == ["G200"]
    assert select_stores(many_stores, ALDI, "lease:5",
                         lease=StoreLease(many_stores, 60, 12)) == []


@pytest.mark.parametrize("spec", ["lease:0", "lease:x", "lease:"])
def test_a_bad_lease_count_is_refused(many_stores, spec):
    with pytest.raises(StoreSelectionError, match="lease:N"):
        select_stores(many_stores, ALDI, spec, lease=StoreLease(many_stores, 60, 12))


def test_closing_the_crawl_releases_its_lease(many_stores):
    lease = StoreLease(many_stores, 60, 12)
    assert len(select_stores(many_stores, ALDI, "lease:3", lease=lease)) == 3
    keeper = LeaseKeeper(lease)
    asyncio.run(keeper.close())  # what spider_closed awaits
    assert lease.held == [] and len(lease_stores(many_stores, stores_query(ALDI), 60, "next",
                                                 60)) == 60


def test_a_renewal_of_an_expired_lease_says_so(many_stores, caplog):
    lease = StoreLease(many_stores, 60, 12)
    select_stores(many_stores, ALDI, "lease:2", lease=lease)
    release_leases(many_stores, lease.holder)  # as if it had expired and been taken
    lease.renew()
    assert "holds 0 of its 2 leased stores" in caplog.text
