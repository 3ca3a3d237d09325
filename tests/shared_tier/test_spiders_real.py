"""Real-data tier: the spiders' parsing code on every relevant captured response in
../shared/samples (GROCER_SHARED_DIR). Products found, no crash, blocks and buildIds seen."""

from __future__ import annotations

import json

import pytest

from grocer.spiders.aldi import AldiSpider
from grocer.spiders.coles import (
    ColesSpider,
    build_id_from_html,
    gtin_from_product_page,
    is_block_page,
    page_data,
)
from grocer.spiders.iga import IgaSpider
from grocer.spiders.woolworths import SKIPPED_ROOTS, WoolworthsSpider


@pytest.fixture(scope="module")
def samples(shared_dir):
    directory = shared_dir / "samples"
    manifest = {entry["path"]: entry for entry in
                json.loads((directory / "MANIFEST.json").read_text(encoding="utf-8"))}
    return directory, manifest


def files(samples, pattern: str):
    directory, manifest = samples
    found = sorted(directory.glob(pattern))
    assert found, f"no sample matches {pattern}"
    for path in found:
        yield path, manifest.get(path.relative_to(directory).as_posix(), {}).get("stats", {})


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_aldi_category_trees_and_product_search(samples):
    spider = AldiSpider()
    for path, _ in files(samples, "aldi/product_category_tree_v2__*.json"):
        categories, _ = spider.categories_in(load(path))
        assert len(categories) > 50, path.name
        assert not {c.path[0] for c in categories} & {"Limited Time Only", "Front of Store"}
    for path, stats in files(samples, "aldi/product_search_v3_shape__*.json"):
        page = spider.read_page(load(path))
        assert len(page.products) == stats["entries"] and page.total >= len(page.products)
        assert all(isinstance(p["sku"], str) and p["price"]["amount"] for p in page.products)


def test_woolworths_category_trees_and_browse_pages(samples):
    spider = WoolworthsSpider()
    for path, _ in files(samples, "woolworths/pies_categories_with_specials__*.json"):
        categories, _ = spider.categories_in(load(path))
        assert len(categories) > 100, path.name
        assert not any(c.key.endswith("_SPECIALS") or c.slug.endswith("-specials")
                       for c in categories)
        assert not {c.slugs[0] for c in categories} & SKIPPED_ROOTS
        assert all(c.path and all(c.path) for c in categories)
    for path, stats in files(samples, "woolworths/browse_category_*.json"):
        page = spider.read_page(load(path))
        assert len(page.products) >= stats["products"] > 0, path.name
        assert page.total == stats["TotalRecordCount"]
        assert all(p.get("Stockcode") for p in page.products)


def test_coles_category_trees_pages_and_build_ids(samples):
    spider = ColesSpider()
    for path, _ in files(samples, "coles/next_data_browse_category_tree__*.json"):
        categories, _ = spider.categories_in(page_data(path.read_text(encoding="utf-8")))
        slugs = [c.slug_path for c in categories]
        assert "fruit-vegetables" in slugs and "pantry" in slugs
        assert not {"down-down", "bonus-credit-products", "back-to-school"} & set(slugs)
    root_html = next(files(samples, "coles/browse_root_page__*.html"))[0].read_text(
        encoding="utf-8")
    assert "meat-seafood" in [c.slug_path for c in spider.categories_in(page_data(root_html))[0]]
    pages = list(files(samples, "coles/next_data_browse_*-[0-9]__*.json"))
    pages += list(files(samples, "coles/next_data_browse_*_page1__*.json"))
    pages += list(files(samples, "coles/browse_*_page[0-9]__*.html"))
    assert len(pages) == 8
    for path, stats in pages:
        page = spider.read_page(page_data(path.read_text(encoding="utf-8")))
        products = [p for p in page.products if spider.is_product(p)]
        assert len(products) == stats["products"], path.name
        assert page.total == stats["noOfResults"] and page.page_size == 48
    # buildId in both formats
    assert build_id_from_html(root_html) == "20240827.02_v4.7.7"
    home = next(files(samples, "coles/home_page_new_buildid_format__*.html"))[0]
    assert build_id_from_html(home.read_text(encoding="utf-8")) == (
        "20260812.2-bb7ba0d5c9ea46ad61a08d677a91d58d0e18ba03")


def test_coles_block_page_and_product_pages(samples):
    for path, _ in files(samples, "coles/*.html"):
        blocked = is_block_page(path.read_text(encoding="utf-8"))
        assert blocked == path.name.startswith("incapsula_block_page"), path.name
    gtins = {path.name.split("_")[2]: gtin_from_product_page(path.read_text(encoding="utf-8"))
             for path, _ in files(samples, "coles/product_page_*.html")}
    assert gtins == {"5285280": "9319232024267", "8150288": None, "rice": None}
    # The JSON data route of a product page (the barcode phase reads both shapes).
    (json_page, _), = files(samples, "coles/next_data_product_*.json")
    assert gtin_from_product_page(json_page.read_text(encoding="utf-8")) == "9310631635078"


def test_iga_category_tree_and_searches(samples):
    spider = IgaSpider()
    for path, _ in files(samples, "iga/category_hierarchy_*.json"):
        categories, _ = spider.categories_in(load(path))
        assert len(categories) > 100 and all(c.path[0] == "Grocery" for c in categories)
    searches = list(files(samples, "iga/*search*.json"))
    searches += list(files(samples, "multi-chain_*/iga.json"))
    for path, stats in searches:
        page = spider.read_page(load(path))
        assert len(page.products) == stats["products"] and page.total == stats["total"]
        assert sum(bool(p.get("barcode")) for p in page.products) == stats["with_barcode"]
