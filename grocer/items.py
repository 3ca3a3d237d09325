"""Items: the contract between spiders and pipelines (ProductItem; StoreItem of the store
locators; BarcodeItem of the Coles barcode phase).

A spider fills `raw` (the chain's product exactly as the site sent it), `company`,
`store_code`, `scraped_at` and `category_path` (the crawled category's). Each pipeline adds what
it derives, so a feed written with `scrapy crawl … -O items.jsonl` can be replayed from `raw`
(`scrapy ingest`).
"""

from collections.abc import MutableMapping

import scrapy
from itemadapter import ItemAdapter


def item_fields(item):
    """An item's fields to read and write: the item itself when it is a mapping (a scrapy.Item
    or a dict, what grocer's spiders and `scrapy ingest` make), else an ItemAdapter (dataclass
    and attrs items). A mapping answers `get`, `[]` and `[]=` as its adapter would, without
    building an adapter per item and pipeline."""
    return item if isinstance(item, MutableMapping) else ItemAdapter(item)


class ProductItem(scrapy.Item):
    # set by the spider
    raw = scrapy.Field()  # dict: the chain's raw product
    company = scrapy.Field()  # chain slug: aldi, coles, iga, woolworths
    store_code = scrapy.Field()  # store code as loaded by `scrapy loadstores`
    scraped_at = scrapy.Field()  # timezone-aware UTC datetime (ISO string in feeds)
    # The crawled category's path (root → leaf display names): what the spider knows, for sites
    # whose products do not name their category themselves (Woolworths' browse API).
    category_path = scrapy.Field()
    # set by the pipelines
    # clean: the cleaned dict; normalize: + derived fields. An item without `raw` comes with
    # `product` cleaned already (a SplitCart archive line replayed by `scrapy ingest`).
    product = scrapy.Field()
    incoming_key = scrapy.Field()  # the key computed from this item, before resolution
    product_id = scrapy.Field()  # resolve: the canonical product's id


class StoreItem(scrapy.Item):
    """One store as a store locator lists it (the `<chain>_stores` spiders). Its fields are the
    columns of `scrapy loadstores`' simple form, so a feed (`-O stores.jsonl`) loads as it is."""

    company = scrapy.Field()  # chain slug: aldi, coles, iga, woolworths
    store_code = scrapy.Field()  # as `scrapy loadstores` keeps it: G102, COL:401, 1147, 19587
    site_store_id = scrapy.Field()  # what the site wants: IGA retailer store id, Coles number
    name = scrapy.Field()
    division = scrapy.Field()  # banner: SUPERMARKETS, Coles Supermarkets, Liquorland, ...
    address = scrapy.Field()
    suburb = scrapy.Field()
    state = scrapy.Field()  # NSW, VIC, ...
    postcode = scrapy.Field()  # a string: 0800 keeps its zero
    latitude = scrapy.Field()  # float
    longitude = scrapy.Field()
    opening_hours = scrapy.Field()  # {"Mon": "06:00-20:00", ...} where the locator gives them


class BarcodeItem(scrapy.Item):
    """What the Coles barcode phase learnt of one product from its product page."""

    product_id = scrapy.Field()  # the canonical product's id
    barcode = scrapy.Field()  # the page's valid GTIN; None: the page states none (or is gone)
