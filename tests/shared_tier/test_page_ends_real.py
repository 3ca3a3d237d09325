"""Real-data tier (issue 14): how each chain declares the end of a category list holds on every
captured product page — a real first page is never judged incomplete (it asks for the next page,
or is the whole category), so no real store fails for a page the site meant as valid."""

from __future__ import annotations

import json
import re

from grocer.spiders.aldi import AldiSpider
from grocer.spiders.base import END, MORE, page_verdict
from grocer.spiders.coles import ColesSpider, page_data
from grocer.spiders.iga import IgaSpider
from grocer.spiders.woolworths import WoolworthsSpider

TAKE = re.compile(r"[?&]take=(\d+)")


def first_pages(samples):
    """(spider class, decoded page, the page size it was asked with, file name)."""
    for path in sorted(samples.glob("aldi/product_search_v3_shape__*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        yield AldiSpider, data, data["meta"]["pagination"]["limit"], path.name
    for path in sorted(samples.glob("woolworths/browse_category_*.json")):
        yield WoolworthsSpider, json.loads(path.read_text(encoding="utf-8")), 36, path.name
    for path in sorted(samples.glob("coles/next_data_browse_*.json")):
        data = page_data(path.read_text(encoding="utf-8"))
        if "searchResults" in data["pageProps"]:
            yield ColesSpider, data, None, path.name  # the page says its size
    for path in sorted([*samples.glob("iga/*search*.json"), *samples.glob("multi-chain_*/iga.json")]):
        data = json.loads(path.read_text(encoding="utf-8"))
        asked = TAKE.search(json.dumps(data.get("pagination") or {}))
        yield IgaSpider, data, int(asked.group(1)) if asked else len(data["items"]), path.name


def test_every_captured_page_asks_for_more_or_ends_its_category(shared_dir):
    verdicts = {}
    for spider_class, data, size, name in first_pages(shared_dir / "samples"):
        spider = spider_class()
        page = spider.page_of(data)
        assert page is not None, name
        size = page.page_size or size
        verdicts[name] = page_verdict(0, len(page.products), page.total, size,
                                      spider.full_pages)
        expected = END if page.total <= size else MORE
        assert verdicts[name] == expected, (name, len(page.products), page.total, size)
    assert len(verdicts) >= 15 and MORE in verdicts.values() and END in verdicts.values()

