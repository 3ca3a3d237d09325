"""Woolworths: the JSON UI API behind the website (spec §4.2, §1.4, §1.6).

The API wants a browser: browser-like headers and the cookies of a home-page visit (the
warm-up, once per store since every store has its own cookie jar). The category tree is the
same for every store, so it is fetched once per crawl.

Store choice: the browse API ignores any store named in its body (every 2026 capture answers
`FulfilmentStoreId` 1101, the default, whatever was asked). The website chooses the store of a
*session*: its store picker posts the pick-up store to `/apis/ui/Fulfilment`, and the
session's cookies carry it to the browse API. So every store gets its own session (cookie
jar): warm-up, then that store choice, then its pages. The live site answers the store choice
with 401 to a guest (no account), so a crawl without a logged-in session gets store 1101's
prices: the drift guard (StoreSpider.check_drift) reads `FulfilmentStoreId` of every answer
and never writes another store's prices under the requested one.

Akamai answers 403 (and 503) transiently: both are retried with backoff; a request still
answered 403 after every retry closes the crawl `blocked`.
"""

import json

from grocer.normalization.values import as_int, dig
from grocer.spiders.base import Page
from grocer.spiders.zones import ZoneSpider
from grocer.zones.basket import PriceBasket
from grocer.spiders.categories import TreeFields

SKIPPED_ROOTS = frozenset({"specials", "everyday-market", "big-night-in", "dinner", "lunch-box",
                           "front-of-store"})
SKIPPED_LEAVES = frozenset({"everyday-market", "cigarettes-tobacco"})
# Campaign departments (e.g. cookware-bonus-credits) regroup products under brand names: their
# paths would be stamped onto products instead of the real department's.
CAMPAIGN_MARKER = "bonus-credit"
# The home-page visit whose cookies the API wants: a browser's page load.
WARM_UP_HEADERS = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                   "sec-fetch-dest": "document", "sec-fetch-mode": "navigate",
                   "sec-fetch-site": "none"}


def browse_body(category, page_number: int, store_id: str) -> dict:
    """The JSON body the website posts to /apis/ui/browse/category."""
    url = f"/shop/browse/{category.slug}?pageNumber={page_number}&sortBy=PriceAsc"
    return {
        "categoryId": category.key, "pageNumber": page_number, "pageSize": 36,
        "sortType": "PriceAsc", "url": url, "location": f"{url}&filter=SoldBy(Woolworths)",
        "formatObject": json.dumps({"name": category.slug}, separators=(",", ":")),
        "isSpecial": False, "isBundle": False, "isMobile": False,
        "filters": [{"Key": "SoldBy", "Items": [{"Term": "Woolworths"}]}], "token": "",
        "gpBoost": 0, "isHideUnavailableProducts": False, "isHideEverydayMarketProducts": True,
        "isRegisteredRewardCardPromotion": False, "categoryVersion": "v2",
        "enableAdReRanking": False, "groupEdmVariants": False, "activePersonalizedViewType": "",
        "storeId": store_id,
    }


class WoolworthsSpider(ZoneSpider):
    name = "woolworths"
    base_url_setting = "WOOLWORTHS_BASE_URL"
    user_agent_setting = "WOOLWORTHS_USER_AGENT"
    tree_fields = TreeFields(children="Children", names=("Description", "DisplayName", "Name"),
                             slug="UrlFriendlyName", key="NodeId")
    page_size = 36
    sku_field = "Stockcode"
    price_basket = PriceBasket(
        core=("fruit-veg", "meat-seafood-deli"),
        rotating=("dairy-eggs-fridge", "bakery", "pantry", "freezer", "snacks-confectionery",
                  "drinks", "health-wellness"), per_day=1)
    blocking_statuses = (403,)  # 503 is retried by Scrapy's RetryMiddleware (RETRY_HTTP_CODES)
    # The site's end: `TotalRecordCount` records over pages of 36; captured pages hold fewer
    # products than that (30–32 of 36), so pages are not full (base.page_verdict).
    full_pages = False

    category_cache = None  # the categories of the tree, read once per crawl

    def request_headers(self):
        return {"Accept": "application/json, text/plain, */*",
                "Accept-Language": "en-AU,en;q=0.9", "Origin": self.base_url,
                "Referer": f"{self.base_url}/",
                "sec-ch-ua": '"Chromium";v="142", "Google Chrome";v="142", "Not_A Brand";v="99"',
                "sec-ch-ua-mobile": "?0", "sec-ch-ua-platform": '"Windows"',
                "sec-fetch-dest": "empty", "sec-fetch-mode": "cors",
                "sec-fetch-site": "same-origin"}

    def store_requests(self, store):
        yield self.site_request("/", store=store, callback=self.after_warm_up,
                                headers=WARM_UP_HEADERS)

    def after_warm_up(self, response):
        progress = self.store_of(response)
        if progress is None:
            return
        # The website's store picker: the pick-up store of this session.
        yield self.site_request(
            "/apis/ui/Fulfilment", store=progress.target, callback=self.after_store_choice,
            method="POST", meta={"handle_httpstatus_list": [400, 401, 404]},
            body=json.dumps({"fulfilmentMethod": "Pickup",
                             "fulfilmentStoreId": progress.target.site_id}),
            headers={"Content-Type": "application/json",
                     "Referer": f"{self.base_url}/shop/browse"})

    def after_store_choice(self, response):
        progress = self.store_of(response)
        if progress is None:
            return
        chosen = response.status == 200 and dig(self.read_json(response), "IsSuccessful") is True
        self.count(f"grocer/woolworths/store_choice/{'chosen' if chosen else response.status}")
        if not chosen:
            self.logger.info("store %s: the site did not take the store choice (HTTP %s): "
                             "the drift guard decides whose prices the pages are",
                             progress.target.code, response.status)
        if self.category_cache is not None:
            yield from self.category_requests(progress.target, self.category_cache)
            return
        yield self.site_request("/apis/ui/PiesCategoriesWithSpecials", store=progress.target,
                                callback=self.parse_category_tree)

    def categories_from(self, data, response):
        categories = super().categories_from(data, response)
        if categories:
            self.category_cache = categories
        return categories

    def category_roots(self, data):
        return data["Categories"]

    def skip_category(self, node, name, slug, key, depth):
        if depth == 0 and (slug in SKIPPED_ROOTS or CAMPAIGN_MARKER in slug):
            return True
        return slug.endswith("-specials") or key.endswith("_SPECIALS") or (
            slug in SKIPPED_LEAVES)

    def page_request(self, store, category, page, meta):
        return self.site_request(
            "/apis/ui/browse/category", store=store, callback=self.parse_page, meta=meta,
            method="POST",
            body=json.dumps(browse_body(category, page + 1, store.site_id)),
            headers={"Content-Type": "application/json",
                     "Referer": f"{self.base_url}/shop/browse/{category.slug}"})

    def read_page(self, data):
        if data.get("Success") is False:
            raise ValueError("the browse API answered Success: false")
        # Bundles and their Products are lists on every page, past the end too (empty).
        products = [product for bundle in data["Bundles"] for product in bundle["Products"]]
        store_id = next((p["FulfilmentStoreId"] for p in products if isinstance(p, dict)
                         and p.get("FulfilmentStoreId") is not None), None)
        return Page(products, total=as_int(data.get("TotalRecordCount")), store_id=store_id)
