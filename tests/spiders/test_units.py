"""Fast in-process tests of the spiders' parts: no crawl, no reactor."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grocer.chains import CHAINS
from grocer.db.barcodes import coles_products_needing_barcode, write_coles_barcodes
from grocer.db.models import Company, Product, Sku, Store
from grocer.items import ProductItem
from grocer.middlewares import RetryBackoffMiddleware, StoreAwareRequestFingerprinter
from grocer.spiders.aldi import AldiSpider
from grocer.spiders.arguments import positive_int, split_argument
from grocer.spiders.base import END, INCOMPLETE, MORE, page_verdict
from grocer.spiders.categories import Category
from grocer.spiders.coles import (
    ColesSpider,
    build_id_from_html,
    gtin_from_product_page,
    is_block_page,
    page_data,
    read_cookies_file,
)
from grocer.spiders.coles_barcodes import product_path
from grocer.spiders.iga import IgaSpider
from grocer.crawlstate import StoreSelectionError
from grocer.db.storeselection import select_stores
from grocer.spiders.woolworths import WoolworthsSpider
from tests.helpers.fixture_server import SITES_DIR
from tests.helpers.spiders import make_spider


DEFAULT_FIXTURE_STORE = {"aldi": "G102", "woolworths": "1147", "coles": "COL:401",
                         "iga": "19587"}


def tree(chain: str, name: str):
    return json.loads((SITES_DIR / chain / name).read_text())


# --- category trees ------------------------------------------------------------------------


@pytest.mark.parametrize("spider_class, tree_file, keys", [
    (AldiSpider, "category_tree.json", ["5101", "5102", "5201"]),
    (WoolworthsSpider, "categories.json", ["1_FRUIT1", "1_VEG01", "1_BISC01"]),
    (ColesSpider, "categories.json", ["7238", "1300"]),
    (IgaSpider, "category_hierarchy.json", ["Fruit", "Biscuits_and_Crackers", "Tea & Coffee"]),
])
def test_category_trees_follow_the_skip_rules(spider_class, tree_file, keys):
    spider = spider_class()
    chain = spider_class.name
    categories, _ = spider.categories_in(tree(chain, tree_file))
    assert [category.key for category in categories] == keys


def test_woolworths_paths_and_wanted_categories_at_any_depth():
    data = tree("woolworths", "categories.json")
    spider = WoolworthsSpider(categories="pantry, fruit, nowhere")
    categories, matched = spider.categories_in(data)
    assert [(c.slug, c.path) for c in categories] == [
        ("fruit", ("Fruit & Veg", "Fruit")), ("biscuits-crackers", ("Pantry", "Biscuits & Crackers"))]
    assert matched == {"pantry", "fruit"}


def test_coles_crawls_departments_or_the_wanted_subcategory():
    data = tree("coles", "categories.json")
    categories, _ = ColesSpider(categories="beef-veal").categories_in(data)
    assert [c.slug_path for c in categories] == ["meat-seafood/beef-veal"]


# --- Coles pages, cookies and blocks --------------------------------------------------------


def next_html(data: dict, head: str = "") -> str:
    return (f"<html><head>{head}</head><body><script id=\"__NEXT_DATA__\" "
            f"type=\"application/json\">{json.dumps(data)}</script></body></html>")


def test_coles_build_id_in_old_and_new_format():
    assert build_id_from_html(next_html({"buildId": "20240827.02_v4.7.7"})) == "20240827.02_v4.7.7"
    new = "20260812.2-bb7ba0d5c9ea46ad61a08d677a91d58d0e18ba03"
    assert build_id_from_html(f'<script src="/_next/static/{new}/_buildManifest.js">') == new
    assert build_id_from_html("<html>nothing</html>") is None


def test_coles_page_data_from_json_and_html():
    props = {"searchResults": {"results": [], "noOfResults": 0}}
    assert page_data(json.dumps({"pageProps": props})) == {"pageProps": props}
    assert page_data(next_html({"props": {"pageProps": props}})) == {"pageProps": props}
    assert page_data('{"pageProps": ') is None
    assert page_data("<html>Service unavailable</html>") is None


def test_block_page_and_gtin():
    assert is_block_page((SITES_DIR / "coles" / "block_page.html").read_text())
    assert not is_block_page(next_html({"props": {}}))
    ld = '<script type="application/ld+json">{"@type": "Product", "gtin13": "9300000000019"}</script>'
    assert gtin_from_product_page(next_html({}, ld)) == "9300000000019"
    data = {"props": {"pageProps": {"product": {"gtin": "9300000000026"}}}}
    assert gtin_from_product_page(next_html(data)) == "9300000000026"
    assert gtin_from_product_page(next_html({"props": {}})) is None


def test_cookies_file_json_and_netscape(tmp_path):
    exported = tmp_path / "cookies.json"
    exported.write_text(json.dumps({"cookies": [
        {"name": "reese84", "value": "abc", "domain": ".coles.com.au"},
        {"name": "visid_incap_1", "value": "def", "domain": "www.coles.com.au"},
        {"name": "_ga", "value": "zzz", "domain": ".google.com"}]}))
    assert read_cookies_file(exported) == {"reese84": "abc", "visid_incap_1": "def"}
    netscape = tmp_path / "cookies.txt"
    netscape.write_text("# Netscape HTTP Cookie File\n"
                        ".coles.com.au\tTRUE\t/\tTRUE\t1999999999\treese84\tabc\n"
                        "#HttpOnly_www.coles.com.au\tFALSE\t/\tTRUE\t0\tincap_ses_1\tghi\n"
                        ".other.com\tTRUE\t/\tFALSE\t0\tx\ty\n")
    assert read_cookies_file(netscape) == {"reese84": "abc", "incap_ses_1": "ghi"}


def test_product_path_of_a_barcode_lookup():
    assert product_path("https://www.coles.com.au/product/coles-milk-3l-123", "Milk", "123") == (
        "/product/coles-milk-3l-123")
    assert product_path(None, "Full Cream Milk 3L", "123") == "/product/full-cream-milk-3l-123"


# --- arguments, stores and requests ---------------------------------------------------------


def test_arguments():
    assert split_argument(" a, b ,,c") == ["a", "b", "c"]
    assert positive_int("5", "limit") == 5 and positive_int(None, "limit") is None
    with pytest.raises(ValueError, match="limit"):
        positive_int("0", "limit")
    spider = AldiSpider(stores="G102", limit="2", _job="abc123", categories="pantry")
    assert spider._job == "abc123" and spider.crawl_state.partial


def test_store_selection(stores):
    engine = stores
    def codes(chain, spec):
        return [t.code for t in select_stores(engine, CHAINS[chain], spec)]
    assert codes("aldi", None) == ["G102"]
    assert codes("coles", "") == ["COL:401"]
    assert codes("iga", None) == ["19587"]  # the first IGA store with a site id
    assert codes("woolworths", "all") == ["1147", "1148"]  # supermarkets only
    assert codes("coles", "all") == ["COL:401", "COL:402"]
    assert codes("iga", "all") == ["19587", "19588"]
    assert [t.site_id for t in select_stores(engine, CHAINS["coles"], "COL:402")] == ["402"]
    with Session(engine) as session, session.begin():
        session.execute(update(Store).where(Store.store_code == "G102").values(
            last_crawled_at=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)))
        session.execute(update(Store).where(Store.store_code.in_(["G105", "G110", "G111"]))
                        .values(last_crawled_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))
    assert codes("aldi", "stalest:3") == ["G112", "G113", "G105"]  # never crawled first
    assert codes("iga", "19600,19588") == ["19588"]  # no site id: skipped with a warning
    with pytest.raises(StoreSelectionError, match="G999"):
        codes("aldi", "G102,G999")
    with pytest.raises(StoreSelectionError, match="stalest"):
        codes("aldi", "stalest:none")


def test_page_requests_carry_their_store():
    spider = make_spider(IgaSpider, stores="19588")
    store = spider.targets[0]
    category = spider.categories_in(tree("iga", "category_hierarchy.json"))[0][2]
    request = spider.page_request(store, category, 1, {"category": category, "page": 1})
    assert request.url.endswith("/api/storefront/stores/83253/categories/Tea%20%26%20Coffee/"
                                "search?take=36&skip=36&sessionId="
                                + request.meta["paging"]["session_id"])
    assert request.meta["store"] == "19588" and request.meta["cookiejar"] == "19588"
    assert request.cookies == {"iga-shop.retailerStoreId": "83253"}
    assert spider.settings.get("USER_AGENT") == spider.settings.get("IGA_USER_AGENT")


def test_requests_of_two_stores_at_one_url_are_different_pages():
    fingerprinter = StoreAwareRequestFingerprinter()
    url = "https://www.coles.com.au/browse/pantry?page=1"
    one, two = Request(url, meta={"store": "COL:401"}), Request(url, meta={"store": "COL:402"})
    assert fingerprinter.fingerprint(one) != fingerprinter.fingerprint(two)
    assert fingerprinter.fingerprint(Request(url)) != fingerprinter.fingerprint(one)


def test_retry_backoff_grows_and_is_capped():
    middleware = RetryBackoffMiddleware(base=2.0, cap=10.0)
    assert [middleware.delay_for(n) for n in range(5)] == [0.0, 2.0, 4.0, 8.0, 10.0]


# --- Coles barcodes in the database ---------------------------------------------------------


def test_barcode_writes_skip_taken_barcodes_and_flag_missing_ones(engine):
    with Session(engine) as session, session.begin():
        coles = Company(name="Coles", slug="coles")
        session.add(coles)
        products = [Product(name=f"P{i}", normalized_name_brand_size=f"p{i}") for i in range(4)]
        products.append(Product(name="Other", normalized_name_brand_size="other",
                                barcode="9300000000057"))
        session.add_all(products)
        session.flush()
        session.add_all([Sku(company_id=coles.id, sku=str(100 + i), product_id=p.id)
                         for i, p in enumerate(products[:4])])
        ids = [p.id for p in products]
    candidates = coles_products_needing_barcode(engine, 0, 10)
    assert [c.product_id for c in candidates] == ids[:4] and candidates[0].sku == "100"
    result = write_coles_barcodes(engine, {ids[0]: "9300000000040", ids[1]: "9300000000040",
                                           ids[2]: "9300000000057"}, {ids[3]})
    assert (result.written, result.marked_missing) == (1, 1)
    assert sorted(result.conflicts) == [(ids[1], "9300000000040", ids[0]),
                                        (ids[2], "9300000000057", ids[4])]
    with Session(engine) as session:
        rows = dict(session.execute(select(Product.id, Product.barcode)).all())
        flagged = session.scalars(select(Product.id).where(Product.has_no_coles_barcode)).all()
    assert rows[ids[0]] == "9300000000040" and rows[ids[1]] is None and flagged == [ids[3]]
    assert [c.product_id for c in coles_products_needing_barcode(engine, 0, 10)] == ids[1:3]


def test_paging_stops_when_the_site_repeats_its_last_page():
    spider = make_spider(IgaSpider, stores="19587")
    spider.start_store(spider.pending.popleft())
    category = spider.categories_in(tree("iga", "category_hierarchy.json"))[0][0]
    products = [{"sku": "1", "name": "A"}, {"sku": "2", "name": "B"}]

    def page(previous_skus, **total):
        body = json.dumps({"items": products, **total}).encode()
        meta = {"category": category, "page": 3, "previous_skus": frozenset(previous_skus)}
        request = spider.page_request(spider.current.target, category, 3, meta)
        return list(spider.parse_page(TextResponse(request.url, body=body, request=request)))

    assert page({"1", "2"}) == []  # the same SKUs as the page before: the end
    # … unless the site's total says more products follow: the page is retried.
    [retry] = page({"1", "2"}, total=500)
    assert retry.meta["retry_times"] == 1 and "skip=108" in retry.url
    assert spider.current.failure is None  # not yet: only once retries are exhausted
    *items, next_page = page({"7", "8"})
    assert [item["raw"]["sku"] for item in items] == ["1", "2"]
    assert items[0]["store_code"] == "19587" and items[0]["scraped_at"].tzinfo is not None
    assert next_page.meta["page"] == 4 and next_page.meta["previous_skus"] == {"1", "2"}
    assert "skip=144" in next_page.url and next_page.meta["store"] == "19587"


def test_a_failing_store_loop_closes_the_crawl_with_its_own_reason(monkeypatch):
    """Scrapy would swallow the error and close as `finished`, skipping the stores left."""
    from scrapy.exceptions import CloseSpider

    spider = AldiSpider()
    monkeypatch.setattr(spider, "_next_requests", lambda: 1 / 0)
    with pytest.raises(CloseSpider) as closed:
        spider.on_idle()
    assert closed.value.reason == "store_loop_error"


# --- where a category ends (issue 14) -------------------------------------------------------


@pytest.mark.parametrize("number, count, total, full_pages, verdict", [
    (0, 30, 78, True, MORE), (2, 18, 78, True, END),  # Aldi's captured 78: 30 + 30 + 18
    (1, 30, 60, True, END),  # the total reached on a full page
    (0, 0, 0, True, END), (0, 0, None, False, END),  # an empty category
    (0, None, None, True, INCOMPLETE),  # an end status (Aldi 400) to the first page
    (3, None, None, True, END),  # … after it: the end, where the site gives no total
    (3, None, 78, True, END), (2, None, 78, True, INCOMPLETE),  # end status before the total
    (1, 0, 78, True, INCOMPLETE), (1, 0, 78, False, INCOMPLETE),  # an empty page too soon
    (0, 20, 78, True, INCOMPLETE),  # a short page where pages are full
    (0, 20, 78, False, MORE),  # Woolworths: 30–32 products on a page of 36
    (0, 0, 5, True, INCOMPLETE),  # no product although the site counts five
    (4, 12, None, True, MORE),  # no total: paging goes on until the site says it is over
])
def test_page_verdict_is_the_one_rule_of_where_a_category_ends(number, count, total,
                                                               full_pages, verdict):
    assert page_verdict(number, count, total, 30, full_pages) == verdict


@pytest.mark.parametrize("spider_class, body", [
    (AldiSpider, {"data": None}),  # the real API answered this with HTTP 200
    (AldiSpider, {"meta": {"pagination": {"totalCount": 3}}}),  # no product list at all
    (AldiSpider, []),
    (WoolworthsSpider, {"Bundles": None, "TotalRecordCount": 40}),
    (WoolworthsSpider, {"Bundles": [], "TotalRecordCount": 40, "Success": False}),
    (IgaSpider, {"items": None, "total": 3}),
    (ColesSpider, {"pageProps": {"searchResults": {"results": None, "noOfResults": 3}}}),
])
def test_a_page_without_a_product_list_is_retried_never_an_end(spider_class, body):
    spider = make_spider(spider_class, stores=DEFAULT_FIXTURE_STORE[spider_class.name])
    spider.start_store(spider.pending.popleft())
    category = Category(key="K1", slug="fruit", path=("Fruit",), slugs=("fruit",))
    meta = {"category": category, "page": 0}
    request = spider.page_request(spider.current.target, category, 0, meta)
    [retry] = spider.parse_page(TextResponse(request.url, body=json.dumps(body).encode(),
                                             request=request))
    assert retry.url == request.url and retry.meta["retry_times"] == 1
    assert spider.crawler.stats.get_value("grocer/bad_response/unexpected_shape") == 1


def test_a_category_tree_of_another_shape_is_retried():
    spider = make_spider(AldiSpider, stores="G102")
    [tree_request] = spider.start_store(spider.pending.popleft())
    response = TextResponse(tree_request.url, body=b'{"data": null}', request=tree_request)
    [retry] = spider.parse_category_tree(response)
    assert retry.url == tree_request.url and retry.meta["retry_times"] == 1
    assert spider.current.failure is None  # failed only once retries are exhausted


def test_block_evidence_of_coles_responses():
    from scrapy.http import HtmlResponse

    from grocer.spiders.coles import NOT_JSON, block_evidence

    data = "https://www.coles.com.au/_next/data/b/en/browse/pantry.json?page=1"
    block = (SITES_DIR / "coles" / "block_page.html").read_text()

    def response(url, body, status=200, kind=HtmlResponse):
        return kind(url, body=body.encode(), status=status, encoding="utf-8")

    assert block_evidence(response(data, '{"pageProps": {}}', kind=TextResponse)) is None
    assert block_evidence(response(data, "<html>Service unavailable</html>")) == NOT_JSON
    assert block_evidence(response(data, "")) == NOT_JSON
    assert block_evidence(response(data, "<html>not found</html>", 404)) is None  # old build
    assert block_evidence(response(data, "denied", 403)) == "blocked"
    assert block_evidence(response("https://www.coles.com.au/", block)) == "blocked"
    assert block_evidence(response("https://www.coles.com.au/", next_html({}))) is None


def test_an_item_carries_its_category_path_and_the_raw_product_as_the_site_sent_it():
    spider = make_spider(WoolworthsSpider, stores=DEFAULT_FIXTURE_STORE["woolworths"])
    spider.start_store(spider.pending.popleft())
    category = Category(key="K1", slug="fruit", path=("Fruit & Veg", "Apples"),
                        slugs=("fruit",))
    request = spider.page_request(spider.current.target, category, 0,
                                  {"category": category, "page": 0})
    product = {"Stockcode": 7, "Name": "Apples", "Price": 1.5}
    body = {"Bundles": [{"Products": [dict(product)]}], "TotalRecordCount": 1}
    items = [result for result in spider.parse_page(
        TextResponse(request.url, body=json.dumps(body).encode(), request=request))
        if isinstance(result, ProductItem)]
    assert [item["category_path"] for item in items] == [["Fruit & Veg", "Apples"]]
    assert items[0]["raw"] == product
