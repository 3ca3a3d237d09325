"""Coles barcodes (spec §1.4 phase 2): product pages of Coles products that lack a barcode.

The products come in chunks (`-a chunk=`, default 200) from GROCER_BARCODE_CANDIDATES (the
database's; tests replace it), read off the reactor while the previous chunk is crawled. Each
page yields a BarcodeItem that grocer.pipelines.barcodes writes: a page (HTML or the JSON data
route) without a valid GTIN, or a 404, flags the product `has_no_coles_barcode`. Anything that
is not a product page — a block or challenge page, an error page — never does: it is retried,
then left for the next run. Same session as the `coles` spider (grocer.spiders.coles_session),
one store (default COL:401); a block past the session's renewals closes the crawl `blocked`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet import threads

from grocer.crawlstate import CrawlState
from grocer.items import BarcodeItem
from grocer.normalization import clean_barcode
from grocer.normalization.values import dig
from grocer.spiders.arguments import positive_int
from grocer.spiders.coles import (POLITENESS, ColesSite, body_text, gtin_from_product_page,
                                  page_data)
from grocer.spiders.site import GrocerSpider


def product_path(url: str | None, name: str, sku: str) -> str:
    """The product page's path: that of the stored URL, else /product/<slug of name>-<sku>."""
    path = urlsplit(url).path if url else ""
    if path.startswith("/product/"):
        return path
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")
    return f"/product/{slug}-{sku}" if slug else f"/product/{sku}"


def is_product_page(body: str) -> bool:
    return isinstance(dig(page_data(body), "pageProps", "product"), dict)


class ColesBarcodesSpider(ColesSite, GrocerSpider):
    name = "coles_barcodes"
    company = "coles"
    custom_settings = {**POLITENESS,
                       "ITEM_PIPELINES": {"grocer.pipelines.barcodes.BarcodePipeline": 300}}

    def __init__(self, *args, chunk=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.chunk_size = positive_int(chunk, "chunk") or 200
        # Never a reason to delist anything: no store is crawled completely.
        self.crawl_state = CrawlState(self.company, partial=True)
        self.looked_up = 0

    def targets_selected(self) -> None:
        self.session_store = self.targets[0]

    def next_work(self):
        return None  # the product pages come from start(), chunk by chunk

    async def start(self):
        async for request in super().start():  # selects the session's store
            yield request
        candidates_of = load_object(self.crawler.settings.get("GROCER_BARCODE_CANDIDATES"))
        after = 0
        while self.limit is None or self.looked_up < self.limit:
            size = self.chunk_size if self.limit is None else min(
                self.chunk_size, self.limit - self.looked_up)
            # In a thread: the provider reads the database.
            candidates = await maybe_deferred_to_future(threads.deferToThread(
                candidates_of, self.crawler, after, size))
            if not candidates:
                return
            after = candidates[-1].product_id
            self.looked_up += len(candidates)
            self.logger.info("looking up %d Coles product pages (%d so far)",
                             len(candidates), self.looked_up)
            for candidate in candidates:
                yield self.site_request(product_path(candidate.url, candidate.name, candidate.sku),
                                        store=self.session_store, callback=self.parse_product,
                                        meta={"product_id": candidate.product_id})

    def parse_product(self, response):
        self.check_blocked(response)
        product_id = response.meta["product_id"]
        if response.status == 404:  # no such product page
            yield BarcodeItem(product_id=product_id, barcode=None)
            return
        body = body_text(response)
        if not is_product_page(body):
            yield from self.retry_bad_response(response, "not_a_product_page")
            return
        yield BarcodeItem(product_id=product_id,
                          barcode=clean_barcode(gtin_from_product_page(body)))

    def closed(self, reason):
        self.logger.info("coles_barcodes closed (%s): %d product pages looked up",
                         reason, self.looked_up)
