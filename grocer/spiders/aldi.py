"""Aldi: the public JSON API (spec §4.1, §1.4, §1.6). No cookies, no warm-up."""

from grocer.normalization.values import as_int, dig
from grocer.spiders.base import Page
from grocer.spiders.zones import ZoneSpider
from grocer.zones.basket import PriceBasket
from grocer.spiders.categories import TreeFields

# Root categories that only regroup products found elsewhere (compared lower-cased).
SKIPPED_ROOTS = frozenset({"christmas", "limited time only", "front of store", "seasonal",
                           "weekly specials", "special buys"})


class AldiSpider(ZoneSpider):
    name = "aldi"
    base_url_setting = "ALDI_BASE_URL"
    user_agent_setting = "ALDI_USER_AGENT"
    handled_statuses = (400,)
    # The site's end: `meta.pagination.totalCount`, full pages of `limit`, HTTP 400 to an
    # offset past the end (and to a bad request: never an end on the first page).
    end_statuses = (400,)
    full_pages = True
    tree_fields = TreeFields(children="children", names=("name",), slug="urlSlugText", key="key")
    page_size = 30
    sku_field = "sku"
    # Price zones (-a by=zone): produce every night, meat, dairy and staples in turn.
    price_basket = PriceBasket(
        core=("fresh-fruits", "fresh-vegetables"),
        rotating=("beef", "poultry", "milk", "cheese", "eggs", "sliced-breads",
                  "pasta-rice-grains", "canned-food", "cereals-muesli", "butter-margarine",
                  "frozen-fruit-vegetables", "pork", "yoghurt", "biscuit-cookies"), per_day=2)
    basket_needs_store_start = False  # category pages take the store as a parameter

    def store_requests(self, store):
        yield self.site_request(
            "/v2/product-category-tree", store=store, callback=self.parse_category_tree,
            params={"serviceType": "walk-in", "servicePoint": store.site_id})

    def category_roots(self, data):
        return data["data"]

    def skip_category(self, node, name, slug, key, depth):
        return depth == 0 and name.lower() in SKIPPED_ROOTS

    def page_request(self, store, category, page, meta):
        return self.site_request(
            "/v3/product-search", store=store, callback=self.parse_page, meta=meta,
            params={"currency": "AUD", "serviceType": "walk-in", "categoryKey": category.key,
                    "limit": self.page_size, "offset": page * self.page_size,
                    "sort": "relevance", "testVariant": "A", "servicePoint": store.site_id})

    def read_page(self, data):
        # `{"data": null}` is no list of products: not an empty category (base.page_verdict).
        return Page(data["data"], total=as_int(dig(data, "meta", "pagination", "totalCount")))
