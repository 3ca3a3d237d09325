"""Incomplete pages are failures (issue 14): a page that is not a valid page of products never
ends its category. It is retried; if it stays bad its store fails (`incomplete_page`) and
reconciliation delists nothing of that store, while the other stores of the crawl are
reconciled as usual."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grocer.db.models import Price, Sku, Store

RETRIES = 4  # RETRY_TIMES: a fault on 1 + 4 responses stays bad past every retry


def delisted(engine) -> dict[str, set[str]]:
    """Store code → SKUs whose price is delisted."""
    with Session(engine) as session:
        rows = session.execute(
            select(Store.store_code, Sku.sku).join(Price, Price.store_id == Store.id)
            .join(Sku, Sku.product_id == Price.product_id)
            .where(Price.delisted_at.is_not(None))).all()
    found: dict[str, set[str]] = {}
    for code, sku in rows:
        found.setdefault(code, set()).add(sku)
    return found


def test_a_null_product_list_once_is_retried_and_the_store_completes(crawl, site):
    site.fault(("categoryKey=5101", "servicePoint=G102"), "null_data")
    result = crawl("aldi", args={"stores": "G102"})
    assert result.close_reason == "finished", result.log[-4000:]
    assert result.store_status() == {"G102": "completed"}
    assert len(result.items_of("G102")) == 35
    assert result.stat("grocer/bad_response/unexpected_shape") == 1


@pytest.mark.parametrize("fault, kind", [
    ("null_data", "unexpected_shape"),  # {"data": null} with HTTP 200
    ("400", "http_400_too_soon"),  # the end-of-list status answering the first page
    ("truncated", "invalid_json"),  # a body that is not JSON is no page either
])
def test_a_page_staying_bad_fails_its_store_and_nothing_of_it_is_delisted(
        crawl, site, engine, fault, kind):
    first = crawl("aldi", args={"stores": "G102,G105"})
    assert first.close_reason == "finished", first.log[-4000:]
    gone = site.catalogues["aldi"]["5201"].pop()  # no longer sold: delisted where complete
    site.fault(("categoryKey=5101", "servicePoint=G102"), *[fault] * (1 + RETRIES))

    second = crawl("aldi", args={"stores": "G102,G105"})
    # G105 completed: the crawl is finished and reconciled …
    assert second.close_reason == "finished", second.log[-4000:]
    assert second.store_status() == {"G102": "failed", "G105": "completed"}
    store = second.crawl_state["stores"]["G102"]
    assert store["reason"] == "incomplete_page" and kind in store["error"]
    assert second.stat(f"grocer/bad_response/{kind}") == 1 + RETRIES
    assert len(site.requests_to("/v3/product-search")) >= 1 + RETRIES
    # … so the product gone from the site is delisted at G105, but nothing at G102, whose
    # category 5101 never ended the way Aldi ends one (the old spider took it as empty and
    # delisted its two products and the gone one).
    assert delisted(engine) == {"G105": {gone["sku"]}}


@pytest.mark.parametrize("fault, kind", [("truncated", "invalid_json"),
                                         ("null_data", "unexpected_shape")])
def test_a_category_tree_staying_unreadable_fails_its_store_as_incomplete(crawl, site, fault,
                                                                         kind):
    site.fault(("/v2/product-category-tree", "servicePoint=G102"), *[fault] * (1 + RETRIES))
    result = crawl("aldi", args={"stores": "G102,G105"})
    assert result.store_status() == {"G102": "failed", "G105": "completed"}, result.log[-4000:]
    store = result.crawl_state["stores"]["G102"]
    assert store["reason"] == "incomplete_page" and kind in store["error"]
    assert result.stat(f"grocer/bad_response/{kind}") == 1 + RETRIES


def test_fewer_products_than_the_sites_total_fail_the_store(crawl, site, engine):
    first = crawl("aldi", args={"stores": "G102"})
    assert first.close_reason == "finished", first.log[-4000:]
    # The site says 5101 holds 4 products but lists 2: a list cut short, not the category.
    site.reported_totals[("aldi", "5101")] = 4
    site.catalogues["aldi"]["5201"].pop()
    second = crawl("aldi", args={"stores": "G102"})
    assert second.close_reason == "no_store_completed", second.log[-4000:]
    store = second.crawl_state["stores"]["G102"]
    assert (store["status"], store["reason"]) == ("failed", "incomplete_page")
    assert second.stat("grocer/bad_response/incomplete_page") == 1 + RETRIES
    # The products of the short page are still stored; nothing is delisted.
    assert len(second.items_of("G102")) == 34
    assert delisted(engine) == {}
