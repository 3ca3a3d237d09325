"""Orphan clean-up, delisting and the reconciliation lock."""

import datetime as dt
import threading

import pytest

from grocer.db.delisting import CompletedStore, delist_unseen
from grocer.db.locks import LockTimeout, reconcile_lock, sqlite_lock_path
from grocer.db.models import Price, Product
from grocer.db.reconcile.orphans import delete_orphans
from grocer.normalization.dates import utcnow
from tests.reconcile.helpers import at, snapshot


def test_orphans_without_price_or_history_are_deleted_in_batches(engine, rows):
    company = rows.company()
    store = rows.store(company, "G1")
    priced, historic = rows.product("priced"), rows.product("historic")
    rows.price(priced, store)
    rows.history(historic, store)
    for i in range(5):
        rows.product(f"orphan {i}")
    assert delete_orphans(engine, batch_size=2) == 5
    assert [pid for (pid,) in rows.all(Product, "id")] == [priced, historic]
    assert delete_orphans(engine) == 0


def test_young_orphans_are_spared_by_the_grace_cutoff(engine, rows):
    rows.product("new", created_at=utcnow())
    old = rows.product("old")
    assert delete_orphans(engine, created_before=utcnow() - dt.timedelta(hours=1)) == 1
    assert rows.one(Product, old) is None


def test_orphan_clean_up_on_empty_database(engine):
    assert delete_orphans(engine) == 0


def test_complete_store_crawl_delists_unseen_prices(engine, rows):
    company = rows.company("aldi")
    g1, g2 = rows.store(company, "G1"), rows.store(company, "G2")
    seen = rows.price(rows.product("seen"), g1, scraped_at=at(-5), last_seen=at(0, 1))
    unseen = rows.price(rows.product("unseen"), g1, scraped_at=at(-5), last_seen=at(-1))
    other_store = rows.price(rows.product("elsewhere"), g2, last_seen=at(-1))
    rows.history(rows.one(Price, unseen)["product_id"], g1)
    delisted = delist_unseen(engine, "aldi", [CompletedStore("G1", at(0))])
    assert delisted == {"G1": 1}
    assert [(r["id"], r["is_available"], r["delisted_at"] is not None)
            for r in map(lambda i: rows.one(Price, i), (seen, unseen, other_store))] == [
        (seen, True, False), (unseen, False, True), (other_store, True, False)]
    before = snapshot(engine)
    assert delist_unseen(engine, "aldi", [CompletedStore("G1", at(0))]) == {"G1": 0}
    assert snapshot(engine) == before


@pytest.mark.sqlite_only
def test_sqlite_lock_file_makes_a_second_reconciliation_wait(engine):
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with reconcile_lock(engine, timeout=5):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(5)
    assert sqlite_lock_path(engine).exists()
    with pytest.raises(LockTimeout):
        with reconcile_lock(engine, timeout=0.2):
            pass
    release.set()
    thread.join()
    with reconcile_lock(engine, timeout=1):
        pass
