"""Each chain end to end: two stores from the fixture sites through all pipelines into a fresh
database; a second crawl with one changed price adds exactly one price-history row."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grocer.db.models import Company, Price, PriceHistory, Product, Sku, Store


@dataclass(frozen=True)
class Case:
    stores: dict[str, str]  # store code → the id the site knows it by
    products: int  # distinct products a store lists
    with_barcode: int  # of them, with a barcode from the browse data
    changed_sku: str  # the product whose price the second crawl changes
    new_site_price: object  # in the site's own unit (Aldi: cents)
    new_price: Decimal
    category_path: list[str]  # the path stored for changed_sku


CASES = {
    "aldi": Case({"G102": "G102", "G105": "G105"}, 35, 0, "000000000000700001", 599,
                 Decimal("5.99"), ["Fruits & Vegetables", "Fresh Fruits"]),
    "woolworths": Case({"1147": "1147", "1148": "1148"}, 41, 40, "810001", 5.2, Decimal("5.20"),
                       ["Fruit & Veg", "Fruit"]),
    "coles": Case({"COL:401": "401", "COL:402": "402"}, 4, 0, "4000002", 10.5, Decimal("10.50"),
                  ["Meat & Seafood", "Seafood", "Salmon"]),
    "iga": Case({"19587": "32600", "19588": "83253"}, 41, 41, "180000001001", 5.49,
                Decimal("5.49"), ["Grocery", "Fruit And Vegetable", "Fruit"]),  # title-cased
}


def check_aldi_requests(site):
    searches = site.requests_to("/v3/product-search")
    assert {key: value[0] for key, value in searches[0].query.items() if key not in (
        "categoryKey", "offset", "servicePoint")} == {
        "currency": "AUD", "serviceType": "walk-in", "limit": "30", "sort": "relevance",
        "testVariant": "A"}
    assert sorted({r.query["offset"][0] for r in searches}) == ["0", "30"]
    assert {r.query["categoryKey"][0] for r in searches} == {"5101", "5102", "5201"}
    assert searches[0].headers["user-agent"].startswith("grocer/")


def check_woolworths_requests(site):
    first_of_each_store = [r for r in site.log if r.path != "/robots.txt"]
    assert first_of_each_store[0].path == "/"  # the warm-up comes first
    assert len(site.requests_to("/apis/ui/PiesCategoriesWithSpecials")) == 1  # once per crawl
    posts = site.requests_to("/apis/ui/browse/category", "POST")
    body = json.loads(posts[0].body)
    slug = body["formatObject"][len('{"name":"'):-2]
    url = f"/shop/browse/{slug}?pageNumber={body['pageNumber']}&sortBy=PriceAsc"
    assert body == {
        "categoryId": body["categoryId"], "pageNumber": body["pageNumber"], "pageSize": 36,
        "sortType": "PriceAsc", "url": url, "location": url + "&filter=SoldBy(Woolworths)",
        "formatObject": json.dumps({"name": slug}, separators=(",", ":")), "isSpecial": False,
        "isBundle": False, "isMobile": False,
        "filters": [{"Key": "SoldBy", "Items": [{"Term": "Woolworths"}]}], "token": "",
        "gpBoost": 0, "isHideUnavailableProducts": False, "isHideEverydayMarketProducts": True,
        "isRegisteredRewardCardPromotion": False, "categoryVersion": "v2",
        "enableAdReRanking": False, "groupEdmVariants": False,
        "activePersonalizedViewType": "", "storeId": body["storeId"]}
    assert {json.loads(p.body)["storeId"] for p in posts} == {"1147", "1148"}
    assert {json.loads(p.body)["categoryId"] for p in posts} == {"1_FRUIT1", "1_VEG01",
                                                                   "1_BISC01"}
    headers = posts[0].headers
    assert "Chrome/" in headers["user-agent"] and headers["sec-fetch-mode"] == "cors"
    assert headers["origin"] == site.urls["woolworths"]


def check_coles_requests(site):
    build = site.coles_build_id
    pages = site.requests_to(f"/_next/data/{build}/en/browse/")
    assert {(r.path, r.query["page"][0]) for r in pages} == {
        (f"/_next/data/{build}/en/browse/meat-seafood.json", "1"),
        (f"/_next/data/{build}/en/browse/meat-seafood.json", "2"),
        (f"/_next/data/{build}/en/browse/dairy-eggs-fridge.json", "1")}
    assert {r.cookies["fulfillmentStoreId"] for r in pages} == {"401", "402"}
    for request in pages:
        assert request.cookies["shopping-method"] == "clickAndCollect"
        assert request.cookies["reese84"] == "browser-session"  # from COLES_COOKIES_FILE
        assert "other-site" not in request.cookies  # another site's cookie in the export
        assert "Chrome/" in request.headers["user-agent"]


def check_iga_requests(site):
    searches = site.requests_to("/search")
    assert {r.path.split("/")[4] for r in searches} == {"32600", "83253"}
    assert {r.path.split("/")[6] for r in searches} == {"Fruit", "Biscuits_and_Crackers",
                                                         "Tea & Coffee"}
    assert {(r.query["take"][0], r.query["skip"][0]) for r in searches} == {("36", "0"),
                                                                           ("36", "36")}
    biscuits = [r for r in searches if "Biscuits" in r.path and "32600" in r.path]
    assert len({r.query["sessionId"][0] for r in biscuits}) == 1  # one session per category
    assert all(r.headers["x-shopping-mode"] for r in searches)


CHECK_REQUESTS = {"aldi": check_aldi_requests, "woolworths": check_woolworths_requests,
                  "coles": check_coles_requests, "iga": check_iga_requests}


def history_rows(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PriceHistory))


def current_price(engine, chain: str, sku: str, store_code: str) -> Decimal:
    with Session(engine) as session:
        return session.scalar(
            select(Price.price).join(Sku, Sku.product_id == Price.product_id)
            .join(Company, Sku.company_id == Company.id).join(Store, Store.id == Price.store_id)
            .where(Company.slug == chain, Sku.sku == sku, Store.store_code == store_code))


@pytest.mark.parametrize("chain", sorted(CASES))
def test_two_stores_then_one_changed_price(chain, crawl, site, engine):
    case = CASES[chain]
    codes = list(case.stores)
    first = crawl(chain, args={"stores": ",".join(codes)})
    assert first.reason == "finished", first.log[-4000:]
    assert first.store_status() == {code: "completed" for code in codes}
    assert all(len(first.items_of(code)) == case.products for code in codes)
    item = first.items[0]
    assert item["company"] == chain and item["scraped_at"].endswith("+00:00")
    CHECK_REQUESTS[chain](site)  # paths, parameters, bodies, headers and cookies of the site

    with Session(engine) as session:
        company_id = session.scalar(select(Company.id).where(Company.slug == chain))
        skus = session.scalars(select(Sku.sku).where(Sku.company_id == company_id)).all()
        assert len(skus) == case.products and all(isinstance(sku, str) for sku in skus)
        products = session.scalars(select(Product).join(Sku, Sku.product_id == Product.id)
                                   .where(Sku.company_id == company_id)).all()
        assert sum(p.barcode is not None for p in products) == case.with_barcode
        stores = session.scalars(select(Store).where(Store.store_code.in_(codes))).all()
        for store in stores:  # a current price per product and store
            assert session.scalar(select(func.count()).select_from(Price).where(
                Price.store_id == store.id)) == case.products
            assert store.last_crawled_at is not None
        changed = session.scalar(select(Product).join(Sku, Sku.product_id == Product.id).where(
            Sku.company_id == company_id, Sku.sku == case.changed_sku))
        assert {"company": chain, "path": case.category_path} in changed.category_paths
    rows_before = history_rows(engine)
    assert rows_before == case.products * len(codes)

    site.set_price(chain, case.stores[codes[0]], case.changed_sku, case.new_site_price)
    second = crawl(chain, args={"stores": ",".join(codes)})
    assert second.reason == "finished", second.log[-4000:]
    assert history_rows(engine) == rows_before + 1
    assert current_price(engine, chain, case.changed_sku, codes[0]) == case.new_price
    assert current_price(engine, chain, case.changed_sku, codes[1]) != case.new_price


def test_scrapy_list_prints_the_spiders(tmp_path):
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
    result = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "aldi", "aldi_stores", "coles", "coles_barcodes", "coles_stores",
        "iga", "iga_stores", "woolworths", "woolworths_stores",
    ]
