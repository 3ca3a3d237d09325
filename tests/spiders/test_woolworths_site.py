"""Woolworths as the real site behaves: the store of a session (store choice), answers naming
another store (drift guard), transient and lasting 403s."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from grocer.db.models import Price, Store
from grocer.db.stores import load_stores
from grocer.crawlstate import DRIFT
from grocer.outcome import BLOCKED
from grocer.storelist import read_store_list


def prices_by_store(engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(Store.store_code, Price.id).join(
            Store, Price.store_id == Store.id)).all()
    counts: dict[str, int] = {}
    for code, _ in rows:
        counts[code] = counts.get(code, 0) + 1
    return counts


def test_the_store_is_chosen_for_each_session_and_its_prices_written(crawl, site, engine):
    result = crawl("woolworths", args={"stores": "1147,1148"})
    assert result.reason == "finished", result.log[-4000:]
    choices = site.requests_to("/apis/ui/Fulfilment", "POST")
    assert [c.body for c in choices] == [b'{"fulfilmentMethod": "Pickup", "fulfilmentStoreId": '
                                         b'"1147"}', b'{"fulfilmentMethod": "Pickup", '
                                         b'"fulfilmentStoreId": "1148"}']
    browse = site.requests_to("/apis/ui/browse/category", "POST")
    assert {r.cookies.get("w-fulfilment-store") for r in browse} == {"1147", "1148"}
    assert result.stat("grocer/woolworths/store_choice/chosen") == 2


def answer_every_store_as_1101(site, engine, tmp_path) -> None:
    """The live site to a guest: every answer is store 1101's, a store grocer knows."""
    known = tmp_path / "store-1101.json"
    known.write_text(json.dumps([{"company": "Woolworths", "store_code": "1101",
                                  "name": "Woolworths Default", "division": "SUPERMARKETS"}]))
    load_stores(engine, read_store_list(known))
    site.woolworths_store_choice_status = 401


def test_a_site_answering_every_store_as_1101_writes_no_price_under_another_store(
        crawl, site, engine, tmp_path):
    answer_every_store_as_1101(site, engine, tmp_path)
    result = crawl("woolworths", args={"stores": "1147,1148"})

    # (The close reason of a crawl without a completed store is the crawl-health work's.)
    assert result.store_status() == {"1147": "failed", "1148": "failed"}
    assert {run["reason"] for run in result.crawl_state["stores"].values()} == {DRIFT}
    assert {item["store_code"] for item in result.items} == {"1101"}  # attributed to 1101
    assert set(prices_by_store(engine)) == {"1101"}
    # Each store stopped after its first page instead of crawling someone else's prices.
    pages = site.requests_to("/apis/ui/browse/category", "POST")
    assert len(pages) <= 2 * 4  # the first pages of the store's categories, nothing more
    assert result.stat("grocer/woolworths/store_choice/401") == 2


def test_the_known_stores_are_read_once_off_the_reactor_before_the_first_response(
        crawl, site, engine, tmp_path):
    answer_every_store_as_1101(site, engine, tmp_path)
    calls = tmp_path / "known-stores.jsonl"
    result = crawl("woolworths", args={"stores": "1147,1148"}, settings={
        "GROCER_KNOWN_STORES": "tests.helpers.spiders.recording_known_stores",
        "TEST_KNOWN_STORES_FILE": str(calls)})

    assert {item["store_code"] for item in result.items} == {"1101"}  # the drift guard used it
    assert [json.loads(line) for line in calls.read_text().splitlines()] == [
        {"reactor_thread": False, "responses": 0}]


def test_an_unknown_store_named_by_the_site_gets_nothing(crawl, site, engine):
    site.woolworths_store_choice_status = 401
    result = crawl("woolworths", args={"stores": "1147"})
    assert result.store_status() == {"1147": "failed"}
    assert result.items == [] and prices_by_store(engine) == {}
    assert result.stat("grocer/drift/dropped") > 0


def test_a_transient_403_is_retried_and_the_store_completes(crawl, site):
    site.fault("/apis/ui/browse/category", "403", "403")
    result = crawl("woolworths", args={"stores": "1147"})
    assert result.reason == "finished", result.log[-4000:]
    assert result.store_status() == {"1147": "completed"}
    assert result.stat("grocer/retried/http_403") == 2
    assert result.stat("grocer/retry/backoff_waits") >= 2


def test_403s_past_every_retry_close_the_crawl_as_blocked(crawl, site):
    site.fault("/apis/ui/browse/category", *["403"] * 40)
    result = crawl("woolworths", args={"stores": "1147,1148"})
    assert result.reason == BLOCKED, result.log[-4000:]
    assert "1148" not in result.store_status()  # never started


def test_marketplace_items_mixed_into_a_page_do_not_break_the_error_budget(crawl, site,
                                                                           engine):
    # The site mixes marketplace sellers' items in despite SoldBy(Woolworths): dropped
    # (`marketplace`), counted, but no error of grocer's — GROCER_BUDGET_IGNORED_REASONS.
    sellers = site.catalogues["woolworths"]["1_BISC01"][:6]  # 6 of 41 products: over 5 %
    for product in sellers:
        product["IsMarketProduct"] = True
    result = crawl("woolworths", args={"stores": "1147"})
    assert result.close_reason == "finished", result.log[-4000:]
    assert result.stat("grocer/dropped/marketplace") == 6
    assert result.stat("grocer/health/ignored") == 6
    assert result.store_status() == {"1147": "completed"}
    # … nor make the store's crawl doubtful proof of what it no longer sells.
    gone = site.catalogues["woolworths"]["1_BISC01"].pop()
    again = crawl("woolworths", args={"stores": "1147"})
    assert again.close_reason == "finished", again.log[-4000:]
    with Session(engine) as session:
        delisted = session.scalars(select(Price.sku).where(
            Price.delisted_at.is_not(None))).all()
    assert delisted == [str(gone["Stockcode"])]
