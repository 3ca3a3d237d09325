"""The Coles barcode phase: product pages of Coles products without a barcode."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grocer.db.models import Company, Product, Sku


def coles_products(engine) -> dict[str, Product]:
    with Session(engine) as session:
        rows = session.execute(select(Sku.sku, Product).join(Product, Sku.product_id == Product.id)
                               .join(Company, Sku.company_id == Company.id)
                               .where(Company.slug == "coles")).all()
    return {sku: product for sku, product in rows}


def test_barcodes_from_product_pages_in_chunks(crawl, site, engine):
    assert crawl("coles", args={"stores": "COL:401"}).reason == "finished"
    with Session(engine) as session, session.begin():  # another chain's product owns one GTIN
        session.add(Product(name="Milk 3L", normalized_name_brand_size="3l milk other",
                            barcode="9300000000033"))

    result = crawl("coles_barcodes", args={"chunk": "3"})
    assert result.reason == "finished", result.log[-4000:]
    products = coles_products(engine)
    assert products["4000001"].barcode == "9300000000019"  # JSON-LD gtin
    assert products["4000002"].barcode == "9300000000026"  # __NEXT_DATA__ product.gtin
    assert products["4000003"].barcode is None and products["4000003"].has_no_coles_barcode
    assert products["5000001"].barcode is None and not products["5000001"].has_no_coles_barcode
    assert result.stat("grocer/barcodes/written") == 2
    assert result.stat("grocer/barcodes/marked_missing") == 1
    assert result.stat("grocer/barcodes/conflict") == 1
    pages = site.requests_to("/product/")
    assert sorted(r.path.rsplit("-", 1)[-1] for r in pages) == [
        "4000001", "4000002", "4000003", "5000001"]
    # The path of Product.url (pages are fetched concurrently: in any order).
    assert "/product/beef-mince-3-star-4000001" in {r.path for r in pages}
    assert all(r.cookies["fulfillmentStoreId"] == "401" and "reese84" in r.cookies
               for r in pages)
    assert result.crawl_state["partial"] is True

    again = crawl("coles_barcodes")  # only the conflicting product is still without either
    assert [r.path.rsplit("-", 1)[-1] for r in site.requests_to("/product/")[4:]] == ["5000001"]
    assert again.reason == "finished"


def test_barcode_phase_stops_on_a_block_page_and_keeps_what_it_found(crawl, site, engine):
    assert crawl("coles", args={"stores": "COL:401"}).reason == "finished"
    site.fault("/product/tasmanian", "block")
    result = crawl("coles_barcodes", args={"chunk": "1"})
    assert result.reason == "blocked"
    assert coles_products(engine)["4000001"].barcode == "9300000000019"


def test_a_page_that_is_no_product_page_never_flags_the_product(crawl, site, engine):
    assert crawl("coles", args={"stores": "COL:401"}).reason == "finished"
    # A 200 page the block markers do not know, past every retry (RETRY_TIMES=4).
    site.fault("-4000003", *["html"] * 5)
    result = crawl("coles_barcodes")
    assert result.reason == "finished", result.log[-4000:]
    assert result.stat("grocer/bad_response/not_a_product_page") == 5
    product = coles_products(engine)["4000003"]
    assert product.barcode is None and not product.has_no_coles_barcode  # left for next run
    assert coles_products(engine)["4000001"].barcode == "9300000000019"


def test_the_barcode_spider_reads_json_and_html_product_bodies_without_a_database():
    from scrapy.exceptions import CloseSpider
    from scrapy.http import HtmlResponse, Request, TextResponse

    from grocer.items import BarcodeItem
    from grocer.spiders.coles_barcodes import ColesBarcodesSpider
    from tests.helpers.fixture_server import BLOCK_PAGE
    from tests.helpers.spiders import make_spider

    spider = make_spider(ColesBarcodesSpider, stores="COL:401")
    url = "https://www.coles.com.au/product/milk-4000002"

    def response(body, kind=HtmlResponse, status=200):
        request = Request(url, meta={"product_id": 7})
        return kind(url, body=body.encode(), status=status, encoding="utf-8", request=request)

    json_body = '{"pageProps": {"product": {"id": 4000002, "gtin": "9300000000026"}}}'
    assert list(spider.parse_product(response(json_body, TextResponse))) == [
        BarcodeItem(product_id=7, barcode="9300000000026")]
    no_gtin = '{"pageProps": {"product": {"id": 4000002, "gtin": null}}}'
    assert list(spider.parse_product(response(no_gtin, TextResponse))) == [
        BarcodeItem(product_id=7, barcode=None)]
    assert list(spider.parse_product(response("", status=404))) == [
        BarcodeItem(product_id=7, barcode=None)]
    unknown = list(spider.parse_product(response("<html><body>Please wait</body></html>")))
    assert len(unknown) == 1 and isinstance(unknown[0], Request)  # retried, nothing flagged
    with pytest.raises(CloseSpider):
        list(spider.parse_product(response(BLOCK_PAGE.read_text())))
