"""ProductItem: the contract between spiders and pipelines.

A spider fills `raw` (the chain's product exactly as the site sent it, plus `category_path`
where the spider stamps one), `company`, `store_code` and `scraped_at`. Each pipeline adds what
it derives, so a feed written with `scrapy crawl … -O items.jsonl` can be replayed from `raw`
(`scrapy ingest`).
"""

import scrapy


class ProductItem(scrapy.Item):
    # set by the spider
    raw = scrapy.Field()  # dict: the chain's raw product
    company = scrapy.Field()  # chain slug: aldi, coles, iga, woolworths
    store_code = scrapy.Field()  # store code as loaded by `scrapy loadstores`
    scraped_at = scrapy.Field()  # timezone-aware UTC datetime (ISO string in feeds)
    # set by the pipelines
    # clean: the cleaned dict; normalize: + derived fields. An item without `raw` comes with
    # `product` cleaned already (a SplitCart archive line replayed by `scrapy ingest`).
    product = scrapy.Field()
    incoming_key = scrapy.Field()  # the key computed from this item, before resolution
    product_id = scrapy.Field()  # resolve: the canonical product's id
