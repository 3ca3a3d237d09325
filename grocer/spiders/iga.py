"""IGA: the igashop.com.au storefront API (spec §4.4, §1.4 [hist], §1.6). Every store has its
own prices; the API wants the store's retailer id (Store.site_store_id) in the path and in the
`iga-shop.retailerStoreId` cookie."""

import uuid
from urllib.parse import quote

from grocer.normalization.values import as_int
from grocer.spiders.base import Page
from grocer.spiders.zones import ZoneSpider
from grocer.spiders.categories import TreeFields

SKIPPED_NAMES = frozenset({"christmas", "seasonal", "specials", "promotions", "weekly specials"})
SHOPPING_MODE = "11111111-1111-1111-1111-111111111111"  # what the website sends


class IgaSpider(ZoneSpider):
    name = "iga"
    base_url_setting = "IGA_BASE_URL"
    user_agent_setting = "IGA_USER_AGENT"
    handled_statuses = (404,)
    # The site's end: `total`, full pages of `take` (`count` of them), 404 past the last page.
    end_statuses = (404,)
    full_pages = True
    tree_fields = TreeFields(children="children", names=("displayName",), slug="identifier",
                             key="identifier")
    page_size = 36
    sku_field = "sku"
    price_basket = None  # each IGA prices on its own: by=zone gives one-store zones

    def request_headers(self):
        return {"x-shopping-mode": SHOPPING_MODE, "Accept": "application/json, text/plain, */*"}

    def store_cookies(self, store):
        return {"iga-shop.retailerStoreId": store.site_id}

    def store_requests(self, store):
        yield self.site_request("/", store=store, callback=self.after_warm_up,
                                headers={"Accept": "text/html,*/*;q=0.8"})

    def after_warm_up(self, response):
        progress = self.store_of(response)
        if progress is not None:
            yield self.site_request(
                f"/api/storefront/stores/{progress.target.site_id}/categoryHierarchy",
                store=progress.target, callback=self.parse_category_tree)

    def category_roots(self, data):
        return data["children"]

    def skip_category(self, node, name, slug, key, depth):
        return name.lower() in SKIPPED_NAMES

    def page_request(self, store, category, page, meta):
        # One search session per category, as the website keeps one while paging.
        meta.setdefault("paging", {"session_id": str(uuid.uuid4())})
        return self.site_request(
            f"/api/storefront/stores/{store.site_id}/categories/"
            f"{quote(category.key, safe='')}/search",
            store=store, callback=self.parse_page, meta=meta,
            params={"take": self.page_size, "skip": page * self.page_size,
                    "sessionId": meta["paging"]["session_id"]})

    def read_page(self, data):
        return Page(data["items"], total=as_int(data.get("total")))
