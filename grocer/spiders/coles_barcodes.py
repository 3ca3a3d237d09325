"""Coles barcodes (spec §1.4 phase 2): product pages of Coles products that lack a barcode.

The products come from the database in chunks (`-a chunk=`, default 200); each chunk's
barcodes are written in one batched UPDATE when all its pages are done. A page without a valid
GTIN (or a 404) flags the product `has_no_coles_barcode`; a page that failed otherwise is left
for the next run. Same session as the `coles` spider: browser cookies, one store (default
COL:401), and a block page closes the crawl with reason `blocked`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from grocer.crawlstate import CrawlState
from grocer.normalization import clean_barcode
from grocer.spiders.arguments import positive_int
from grocer.spiders.coles import ColesSite, body_text, gtin_from_product_page
from grocer.spiders.site import GrocerSpider


def product_path(url: str | None, name: str, sku: str) -> str:
    """The product page's path: that of the stored URL, else /product/<slug of name>-<sku>."""
    path = urlsplit(url).path if url else ""
    if path.startswith("/product/"):
        return path
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")
    return f"/product/{slug}-{sku}" if slug else f"/product/{sku}"


class ColesBarcodesSpider(ColesSite, GrocerSpider):
    name = "coles_barcodes"
    company = "coles"

    def __init__(self, *args, chunk=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.chunk_size = positive_int(chunk, "chunk") or 200
        # Never a reason to delist anything: no store is crawled completely.
        self.crawl_state = CrawlState(self.company, partial=True)
        self.last_product_id = 0
        self.looked_up = 0
        self.found: dict[int, str] = {}
        self.missing: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        from grocer.db.engine import engine_from_settings  # only when crawling

        spider.db = engine_from_settings(crawler.settings)
        return spider

    def targets_selected(self) -> None:
        self.session_store = self.targets[0]

    def next_work(self):
        self.write_chunk()
        size = self.chunk_size
        if self.limit is not None:
            size = min(size, self.limit - self.looked_up)
        if size <= 0:
            return None
        from grocer.db.barcodes import coles_products_needing_barcode  # only when crawling

        candidates = coles_products_needing_barcode(self.db, self.last_product_id, size)
        if not candidates:
            return None
        self.last_product_id = candidates[-1].product_id
        self.looked_up += len(candidates)
        self.logger.info("looking up %d Coles product pages (%d so far)",
                         len(candidates), self.looked_up)
        return [self.site_request(product_path(c.url, c.name, c.sku), store=self.session_store,
                                  callback=self.parse_product, meta={"product_id": c.product_id})
                for c in candidates]

    def parse_product(self, response):
        self.check_blocked(response)
        product_id = response.meta["product_id"]
        barcode = None
        if response.status == 200:
            barcode = clean_barcode(gtin_from_product_page(body_text(response)))
        if barcode:
            self.found[product_id] = barcode
        else:
            self.missing.add(product_id)

    def write_chunk(self) -> None:
        if not (self.found or self.missing):
            return
        from grocer.db.barcodes import write_coles_barcodes

        result = write_coles_barcodes(self.db, self.found, self.missing)
        self.found, self.missing = {}, set()
        self.count("grocer/barcodes/written", result.written)
        self.count("grocer/barcodes/marked_missing", result.marked_missing)
        for product_id, barcode, owner in result.conflicts:
            self.count("grocer/barcodes/conflict")
            self.logger.warning("barcode %s of Coles product %d already belongs to product %d: "
                                "not written", barcode, product_id, owner)

    def closed(self, reason):
        self.write_chunk()  # what a blocked or stopped crawl found is kept
        self.logger.info("coles_barcodes closed (%s): %d product pages looked up",
                         reason, self.looked_up)
