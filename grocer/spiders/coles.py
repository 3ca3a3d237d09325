"""Coles: the Next.js website (spec §4.3, §1.4, §1.5).

The site sits behind Imperva/Incapsula bot protection: it wants the cookies of a real browser
session, which grocer.spiders.coles_session puts on every request (from a headless browser it
renews on a block, or from COLES_COOKIES_FILE). The store is chosen by the cookies
`fulfillmentStoreId=<number>` and `shopping-method=clickAndCollect`. A block page the session
could not get past closes the whole crawl with reason `blocked`: more requests would only
deepen the block. Coles is crawled at about one request a second, as the working scrapers do.

Per store: the home page gives the Next.js buildId; the category tree is
`/_next/data/<buildId>/en/browse.json`; a department's pages are
`/_next/data/<buildId>/en/browse/<slug>.json?page=N`. When the data route is gone (404: a new
build), the HTML page `/browse/<slug>?page=N` with its `__NEXT_DATA__` is read instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from parsel import Selector
from scrapy.exceptions import CloseSpider

from grocer.normalization.values import as_int, dig
from grocer.outcome import BLOCKED
from grocer.spiders.base import Page
from grocer.spiders.zones import ZoneSpider
from grocer.zones.basket import PriceBasket
from grocer.spiders.categories import TreeFields

# Texts of Imperva/Incapsula block and challenge pages. (Normal pages load
# /_Incapsula_Resource too, so that is no sign of a block.)
BLOCK_MARKERS = ("Pardon Our Interruption", "Incapsula incident", "isImpervaSpaSupport",
                 "onProtectionInitialized")
NEXT_DATA = re.compile(r'<script[^>]*id="__NEXT_DATA__"[^>]*>(.*?)</script>', re.S)
BUILD_ID_PATTERNS = (re.compile(r'"buildId"\s*:\s*"([^"]+)"'),
                     re.compile(r'/_next/static/([^/"\s]+)/_buildManifest'))
# Departments that only regroup products of the others, or cannot be browsed without an
# age check (tobacco, which SplitCart never crawled either).
# Every Coles spider's custom_settings: about one request a second, as the scrapers that work
# against the live site crawl it.
POLITENESS = {"DOWNLOAD_DELAY": 1.0, "AUTOTHROTTLE_START_DELAY": 1.0}
SESSION_MIDDLEWARE = "grocer.spiders.coles_session.ColesSessionMiddleware"
PROMOTIONAL_ROOTS = frozenset({"down-down", "big-pack-value", "deliver-more-range",
                               "back-to-school", "specials", "tobacco"})


def body_text(response) -> str:
    text = getattr(response, "text", None)  # binary responses have no .text
    return text if isinstance(text, str) else response.body.decode("utf-8", "replace")


def is_block_page(text: str) -> bool:
    if text.lstrip().startswith("{") or 'id="__NEXT_DATA__"' in text:
        return False  # JSON or a real page
    return any(marker in text for marker in BLOCK_MARKERS)


def is_data_route(url: str) -> bool:
    return "/_next/data/" in url


NOT_JSON = "not_json"


def block_evidence(response) -> str | None:
    """Why a response may be the bot protection's rather than the site's: BLOCKED (a 403, a
    block or challenge page), NOT_JSON (a Next.js data route answering anything but JSON: a
    block page whose text is not known yet, or an error page), else None. A 404 is the site's
    (a data route of an old build)."""
    if response.status == 404:
        return None
    text = body_text(response)
    if response.status == 403 or is_block_page(text):
        return BLOCKED
    if is_data_route(response.url) and not text.lstrip().startswith("{"):
        return NOT_JSON
    return None


def next_data(html: str) -> dict | None:
    """The JSON of a page's `<script id="__NEXT_DATA__">`, or None."""
    match = NEXT_DATA.search(html)
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def build_id_from_html(html: str) -> str | None:
    """The Next.js buildId of a page, old (`20240827.02_v4.7.7`) or new
    (`20260812.2-<sha>`) format."""
    build_id = dig(next_data(html), "buildId")
    if isinstance(build_id, str) and build_id:
        return build_id
    for pattern in BUILD_ID_PATTERNS:
        match = pattern.search(html)
        if match:
            return match.group(1)
    return None


def page_data(body: str) -> dict | None:
    """`{"pageProps": …}` from a `_next/data` JSON response or from an HTML page."""
    if body.lstrip().startswith("{"):
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("pageProps"), dict) else None
    props = dig(next_data(body), "props", "pageProps")
    return {"pageProps": props} if isinstance(props, dict) else None


def gtin_from_json_ld(html: str):
    """The `gtin`/`gtin13`/`gtin14`/`mpn` of an HTML page's JSON-LD Product, or None."""
    for script in Selector(text=html).xpath(
            '//script[@type="application/ld+json"]/text()').getall():
        try:
            data = json.loads(script)
        except ValueError:
            continue
        nodes = data if isinstance(data, list) else [data]
        nodes += [n for d in nodes if isinstance(d, dict) for n in d.get("@graph") or []]
        for node in nodes:
            if isinstance(node, dict) and node.get("@type") == "Product":
                for key in ("gtin", "gtin13", "gtin14", "mpn"):
                    if node.get(key):
                        return node[key]
    return None


def gtin_from_product_page(body: str):
    """The GTIN a product page states: in HTML its JSON-LD, else `pageProps.product.gtin` of
    `__NEXT_DATA__` (the path SplitCart got wrong) or of the JSON data route."""
    if not body.lstrip().startswith("{"):
        gtin = gtin_from_json_ld(body)
        if gtin:
            return gtin
    return dig(page_data(body), "pageProps", "product", "gtin")


def _coles_domain(domain) -> bool:
    return not domain or str(domain).lstrip(".").endswith("coles.com.au")


def read_cookies_file(path) -> dict[str, str]:
    """Coles cookies from a browser export: a JSON list of {name, value, domain, …} (e.g.
    Cookie-Editor, EditThisCookie) or a Netscape cookies.txt. Other sites' cookies are left out."""
    text = Path(path).read_text(encoding="utf-8-sig")
    cookies = {}
    if text.lstrip().startswith(("[", "{")):
        data = json.loads(text)
        if isinstance(data, dict):
            data = data.get("cookies", [])
        for cookie in data:
            if isinstance(cookie, dict) and "name" in cookie and _coles_domain(cookie.get("domain")):
                cookies[str(cookie["name"])] = str(cookie.get("value", ""))
        return cookies
    for line in text.splitlines():
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        fields = line.split("\t")
        if line.startswith("#") or len(fields) < 7:
            continue
        if _coles_domain(fields[0]):
            cookies[fields[5]] = fields[6].strip()
    return cookies


class ColesSite:
    """What every spider of the Coles website needs: the session, headers, politeness, block
    detection."""

    base_url_setting = "COLES_BASE_URL"
    user_agent_setting = "COLES_USER_AGENT"
    handled_statuses = (403, 404)  # a block page may come as 403; 404: gone data route

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        # Before the cookies middleware (700), which puts the session's cookies into the jars.
        # At spider priority: `scrapy crawl` updates the settings with the project's again.
        middlewares = {**settings.getdict("DOWNLOADER_MIDDLEWARES"), SESSION_MIDDLEWARE: 650}
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")

    def request_headers(self):
        return {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "en-AU,en;q=0.9"}

    def store_cookies(self, store):
        return {"fulfillmentStoreId": store.site_id, "shopping-method": "clickAndCollect"}

    def check_blocked(self, response) -> bool:
        """Close the whole crawl on a block page the session could not get past; True when the
        response may be one (NOT_JSON), so that it is not read as a page."""
        evidence = block_evidence(response)
        if evidence == BLOCKED:
            self.count("grocer/coles/blocked")
            self.record_failure(response.request, "blocked by the site's bot protection")
            raise CloseSpider(BLOCKED)
        if evidence == NOT_JSON:
            self.count("grocer/coles/not_json")
        return evidence is not None


class ColesSpider(ColesSite, ZoneSpider):
    name = "coles"
    custom_settings = POLITENESS
    tree_fields = TreeFields(children="catalogGroupView", names=("name",), slug="seoToken",
                             key="id")
    crawl_depth = 0  # a department's browse pages list all its products
    page_size = 48
    sku_field = "id"
    price_basket = PriceBasket(
        core=("fruit-vegetables", "meat-seafood"),
        rotating=("dairy-eggs-fridge", "bakery", "pantry", "frozen", "drinks",
                  "household", "deli"), per_day=1)

    build_id: str | None = None  # of the current store's home page

    def store_requests(self, store):
        yield self.site_request("/", store=store, callback=self.parse_home)

    def parse_home(self, response):
        progress = self.store_of(response)
        if progress is None:
            return
        self.check_blocked(response)
        self.build_id = build_id_from_html(body_text(response))
        if self.build_id:
            yield self.site_request(f"/_next/data/{self.build_id}/en/browse.json",
                                    store=progress.target, callback=self.parse_category_tree,
                                    headers={"x-nextjs-data": "1"})
        else:
            self.logger.warning("no buildId on the home page: reading HTML pages")
            yield self.site_request("/browse", store=progress.target,
                                    callback=self.parse_category_tree)

    def decode(self, response):
        if self.check_blocked(response):
            return None  # retried as a bad response
        return page_data(body_text(response))

    def category_roots(self, data):
        return data["pageProps"]["allProductCategories"]["catalogGroupView"]

    def skip_category(self, node, name, slug, key, depth):
        return depth == 0 and (node.get("subType") == "SEASONAL" or slug in PROMOTIONAL_ROOTS
                               or slug.startswith("bonus-"))

    def page_request(self, store, category, page, meta):
        if self.build_id and not dig(meta, "paging", "html"):
            return self.site_request(
                f"/_next/data/{self.build_id}/en/browse/{category.slug_path}.json", store=store,
                callback=self.parse_page, meta=meta, params={"page": page + 1},
                headers={"x-nextjs-data": "1"})
        return self.site_request(f"/browse/{category.slug_path}", store=store,
                                 callback=self.parse_page, meta=meta, params={"page": page + 1})

    def parse_page(self, response):
        progress = self.store_of(response)
        if progress and response.status == 404 and "/_next/data/" in response.url:
            # The build changed under us: this category goes on with the HTML pages.
            self.count("grocer/coles/html_fallback")
            meta = {key: response.meta[key] for key in ("category", "page", "previous_skus")
                    if key in response.meta}
            meta["paging"] = {"html": True}
            yield self.page_request(progress.target, meta["category"], meta["page"], meta)
            return
        yield from super().parse_page(response)

    def read_page(self, data):
        results = dig(data, "pageProps", "searchResults")
        return Page(results["results"], total=as_int(results.get("noOfResults")),
                    page_size=as_int(results.get("pageSize")),
                    store_id=dig(data, "pageProps", "initStoreId"))

    def is_product(self, raw):
        return isinstance(raw, dict) and raw.get("_type") == "PRODUCT"  # not an ad tile
