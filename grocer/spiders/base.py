"""`StoreSpider`, the base of the chain spiders: the stores one after another, each: category
tree → categories → pages → items, with per-store bookkeeping in the crawl state (pages, items,
failures, drift; a summary line) and the translation-table refresh every
TABLES_REFRESH_EVERY_STORES stores. The store's final outcome (its items stored, dropped or lost)
is settled by the crawl-health extension when the crawl closes; Store.last_crawled_at is written
by the reconcile-on-close extension. The spider never writes to the database.

A chain spider only declares where things are: the requests of a store's start, the category
tree's fields and skip rules, the request for page N of a category and how to read a page — and
how its site ends a category (`end_statuses`, `Page.total`, `full_pages`). Where a category ends
is decided in one place, `page_verdict`: a page that is not a valid page of products is retried
and, past retries, fails the store (`incomplete_page`), so that only a store whose every category
ended the way its site ends one is complete (and can have prices delisted).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from scrapy import Request
from scrapy.utils.misc import load_object

from grocer.crawlstate import (BLOCKED, COMPLETED, CRAWL_CLOSED, DRIFT, FETCH_FAILED,
                               INCOMPLETE_PAGE, NO_PRODUCTS, RUNNING, CrawlState, StoreRun,
                               StoreTarget)
from grocer.items import ProductItem
from grocer.normalization.dates import utcnow
from grocer.spiders.arguments import split_argument
from grocer.spiders.categories import Category, TreeFields, walk_categories
from grocer.spiders.site import GrocerSpider
from grocer.tables.refresh import TablesRefresher


@dataclass
class Page:
    """What a chain spider reads from one page of a category."""

    products: list
    total: int | None = None  # products in the whole category, when the site says
    page_size: int | None = None  # the site's page size, when it says
    store_id: Any = None  # the store the site says it answered for (drift check)


# What a page says of its category (page_verdict).
MORE, END, INCOMPLETE = "more", "end", "incomplete"


def page_verdict(number: int, count: int | None, total: int | None, size: int,
                 full_pages: bool) -> str:
    """The one rule of where a category ends: MORE (ask for the next page), END (the category
    is over, the way the site ends one) or INCOMPLETE (not a valid page: retry, then fail).

    `number` is the page (0-based), `count` the entries it holds — None for the site's
    end-of-list answer (an end status, its last page repeated) —, `total` the category's size
    when the site gives it, `size` its page size; `full_pages`: every page but the last holds
    `size` entries at this site.

    - An empty page or an end-of-list answer ends the category when the total is reached; with
      no total, an empty first page is an empty category and an end-of-list answer ends it after
      the first page. An end-of-list answer to the first page is never an end (Aldi answers a
      bad request with the 400 it gives past the end).
    - A page reaching the total ends it; where pages are full, one holding fewer entries than it
      should (`min(size, total - offset)`) is incomplete: the site cut the list short.
    """
    offset = number * size
    if not count:
        if total is not None:
            return END if offset >= total else INCOMPLETE
        return END if (count == 0 or number > 0) else INCOMPLETE
    if total is None:
        return MORE
    if full_pages and count < min(size, total - offset):
        return INCOMPLETE
    return END if offset + size >= total else MORE


@dataclass
class StoreProgress:
    target: StoreTarget
    run: StoreRun
    number: int  # 1-based position in this crawl
    started: float  # time.monotonic()
    failure: str | None = None  # the first failure; a store with one never completes
    own_pages: int = 0  # pages the site answered for this store (not drifted)
    stopped: bool = False  # no more requests of this store are read (its first page drifted)
    reason: str = FETCH_FAILED  # its slug (grocer.crawlstate)

    def fail(self, reason: str, failure: str) -> None:
        if self.failure is None:
            self.reason, self.failure = reason, failure


class StoreSpider(GrocerSpider):
    """Stores one after another, each: start requests → category tree → pages → items."""

    tree_fields: ClassVar[TreeFields]
    crawl_depth: ClassVar[int | None] = None  # None: page through leaf categories
    page_size: ClassVar[int]  # products per page the spider asks for
    sku_field: ClassVar[str]  # the product field naming its SKU (repeated-page guard)
    # How the site ends a category (see page_verdict): a page with one of these statuses says
    # there are no more pages; Page.total its size; full_pages: every page but the last is full.
    end_statuses: ClassVar[tuple[int, ...]] = ()
    full_pages: ClassVar[bool] = False

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.wanted_categories = split_argument(categories)
        self.crawl_state = CrawlState(self.company,
                                      partial=bool(self.wanted_categories or self.limit))
        self.current: StoreProgress | None = None
        self.stores_finished = 0
        self.pending: deque[StoreTarget] = deque()
        self.known_stores: dict[str, StoreTarget] = {}  # site id → store (drift)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.tables = TablesRefresher(crawler)
        return spider

    def select_targets(self) -> list[StoreTarget]:
        targets = super().select_targets()
        # In start()'s thread too, once per crawl: the drift guard then reads a dict on the
        # reactor instead of waiting for the database mid-crawl (GROCER_KNOWN_STORES).
        directory = load_object(self.crawler.settings.get("GROCER_KNOWN_STORES"))
        self.known_stores = directory(self.crawler, self.chain)
        return targets

    def targets_selected(self) -> None:
        self.pending = deque(self.targets)

    # --- what a chain spider declares ---------------------------------------------------------

    def store_requests(self, store: StoreTarget) -> Iterable[Request]:
        """The first requests of a store (warm-up, category tree)."""
        raise NotImplementedError

    def category_roots(self, data) -> list:
        """The root nodes of a category tree response."""
        raise NotImplementedError

    def skip_category(self, node: dict, name: str, slug: str, key: str, depth: int) -> bool:
        """True drops a tree node and everything under it."""
        return False

    def page_request(self, store: StoreTarget, category: Category, page: int,
                     meta: dict) -> Request:
        """Page `page` (0-based) of a category; `meta` must go into the request's meta."""
        raise NotImplementedError

    def read_page(self, data) -> Page:
        raise NotImplementedError

    def is_product(self, raw) -> bool:
        return isinstance(raw, dict)

    # --- the store loop -----------------------------------------------------------------------

    def next_work(self):
        if self.current is not None:
            self.finish_store()
        self.tables.end()
        if not self.pending:
            return None
        if self.tables.due(self.stores_finished):
            requests = self.tables.begin(self.stores_finished, self.parse_table,
                                         self.table_failed)
            if requests:
                return requests
        return self.start_store(self.pending.popleft())

    def start_store(self, target: StoreTarget) -> list[Request]:
        run = self.crawl_state.run_for(target.code)
        run.status, run.started_at = RUNNING, utcnow()
        self.current = StoreProgress(target, run, self.stores_finished + 1, time.monotonic())
        self.logger.info("store %s (%d/%d) started", target.code, self.current.number,
                         len(self.targets))
        return list(self.store_requests(target))

    def finish_store(self) -> None:
        progress, self.current = self.current, None
        run = progress.run
        if not run.items and not progress.failure:
            # A store "crawled" to no product at all is a site problem, not an empty store;
            # as completed it would have all its prices delisted.
            progress.fail(NO_PRODUCTS, "no products found")
        run.finished_at = utcnow()
        if progress.failure:
            run.fail(progress.reason, progress.failure)
        else:
            run.status = COMPLETED  # for now: settled when the crawl closes
        self.stores_finished += 1
        self.logger.info(
            "store %s (%d/%d) %s: %d items, %d pages, drift %d, %.1fs",
            progress.target.code, progress.number, len(self.targets),
            f"FAILED ({progress.failure})" if progress.failure else "fetched",
            run.items, run.pages, run.drift, time.monotonic() - progress.started)

    def closed(self, reason):
        if self.current is not None:  # closed mid-store: blocked, shut down, ...
            self.current.fail(CRAWL_CLOSED, f"crawl closed ({reason})")
            if reason == BLOCKED:
                self.current.reason = BLOCKED
            self.finish_store()

    def record_failure(self, request: Request, reason: str, slug: str = FETCH_FAILED) -> None:
        progress = self.current
        if progress is None or request.meta.get("store") != progress.target.code:
            super().record_failure(request, reason)
            return
        progress.fail(slug, reason)
        self.logger.error("store %s: %s: %s", progress.target.code, reason, request.url)

    def store_of(self, response) -> StoreProgress | None:
        progress = self.current
        if (progress is not None and not progress.stopped
                and response.meta.get("store") == progress.target.code):
            return progress
        return None

    def retry_incomplete(self, response, kind: str):
        """A category tree or page the site answered but that is no valid one (not JSON,
        another shape, an end too soon): retried, then its store fails `incomplete_page`."""
        return self.retry_bad_response(response, kind, slug=INCOMPLETE_PAGE)

    # --- translation tables -------------------------------------------------------------------

    def parse_table(self, response):
        self.tables.store(response)

    def table_failed(self, failure):
        self.tables.failed(failure)

    # --- categories ---------------------------------------------------------------------------

    def parse_category_tree(self, response):
        progress = self.store_of(response)
        if progress is None:
            return
        data = self.decode(response)
        if data is None:
            yield from self.retry_incomplete(response, "invalid_json")
            return
        categories = self.categories_from(data, response)
        if categories is None:  # another shape (`{"data": null}`): retried like a page
            yield from self.retry_incomplete(response, "unexpected_shape")
            return
        yield from self.category_requests(progress.target, categories)

    def categories_in(self, data) -> tuple[list[Category], set[str]]:
        """The categories of a tree response to crawl, and the wanted slugs found (pure; raises
        KeyError/TypeError/... on a response of another shape)."""
        roots = self.category_roots(data)
        if not isinstance(roots, list):
            raise TypeError(f"category roots are a {type(roots).__name__}, not a list")
        return walk_categories(roots, self.tree_fields, self.skip_category,
                               self.wanted_categories, self.crawl_depth)

    def categories_from(self, data, response) -> list[Category] | None:
        """The categories to crawl of a tree response; None when it is no category tree."""
        try:
            categories, matched = self.categories_in(data)
        except (KeyError, TypeError, AttributeError, IndexError):
            return None
        missing = sorted({w.lower() for w in self.wanted_categories} - matched)
        if missing:
            self.logger.warning("categories not found: %s", ", ".join(missing))
        if not categories:
            self.record_failure(response.request, "no categories to crawl")
        self.count("grocer/categories", len(categories))
        return categories

    def category_requests(self, store: StoreTarget, categories: Iterable[Category]):
        for category in categories:
            yield self.page_request(store, category, 0, {"category": category, "page": 0})

    # --- pages --------------------------------------------------------------------------------

    def decode(self, response):
        """The data of a category tree or page response; None when it is unusable."""
        return self.read_json(response)

    def page_of(self, data) -> Page | None:
        """The page `read_page` finds in decoded data; None when it holds no list of products."""
        try:
            page = self.read_page(data)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            return None
        return page if isinstance(page, Page) and isinstance(page.products, list) else None

    def parse_page(self, response):
        progress = self.store_of(response)
        if progress is None:
            return
        number, meta = response.meta["page"], response.meta
        size = meta.get("page_size") or self.page_size
        if response.status in self.end_statuses:
            if page_verdict(number, None, meta.get("total"), size, self.full_pages) == INCOMPLETE:
                yield from self.retry_incomplete(response, f"http_{response.status}_too_soon")
            return
        data = self.decode(response)
        if data is None:
            yield from self.retry_incomplete(response, "invalid_json")
            return
        page = self.page_of(data)
        if page is None:
            yield from self.retry_incomplete(response, "unexpected_shape")
            return
        skus = frozenset(str(p.get(self.sku_field)) for p in page.products if isinstance(p, dict))
        repeated = bool(skus) and skus == meta.get("previous_skus")  # instead of an end
        page.total = page.total if page.total is not None else meta.get("total")
        page.page_size = page.page_size or size
        verdict = page_verdict(number, None if repeated else len(page.products), page.total,
                               page.page_size, self.full_pages)
        if verdict == INCOMPLETE:
            retry = self.retry_or_give_up(response, "incomplete_page", slug=INCOMPLETE_PAGE)
            if retry is not None:
                yield retry
                return
            # Given up: the store fails; what the page holds is still good.
        if repeated:
            return
        progress.run.pages += 1
        self.count("grocer/pages")
        owner = self.check_drift(progress, page.store_id)
        if owner is not progress.target:
            yield from self.drifted_items(progress, owner, meta["category"], page.products)
            if progress.stopped:
                return
        else:
            yield from self.items(progress, meta["category"], page.products)
        if verdict == MORE:
            next_request = self.next_page(progress, response, page, skus)
            if next_request is not None:
                yield next_request

    def parse(self, response):
        """`scrapy parse URL --spider CHAIN` (a dry run, grocer.commands.parse): the products of
        one category page, read as a crawl reads them, under the `-a stores=` store (else the
        chain's default), outside the store loop — no paging, no bookkeeping."""
        data = self.decode(response)
        page = self.page_of(data) if data is not None else None
        if page is None:
            self.logger.error("not a page of products: %s", response.url)
            return
        store_code = next(iter(split_argument(self.stores_argument)),
                          self.chain.default_store or "")
        for raw in page.products:
            if self.is_product(raw):
                yield ProductItem(raw=raw, company=self.company, store_code=store_code,
                                  scraped_at=utcnow())

    def next_page(self, progress: StoreProgress, response, page: Page, skus) -> Request | None:
        """The request of a category's next page, once `page_verdict` asked for it."""
        if self.limit_reached(progress):
            return None
        number = response.meta["page"]
        meta = {key: value for key, value in response.meta.items()
                if key in ("category", "paging")}
        meta.update(page=number + 1, previous_skus=skus, total=page.total,
                    page_size=page.page_size)
        return self.page_request(progress.target, meta["category"], number + 1, meta)

    def items(self, progress: StoreProgress, category: Category, products: list):
        for raw in products:
            if not self.is_product(raw):
                self.count("grocer/skipped/not_a_product")
                continue
            if self.limit_reached(progress):
                return
            progress.run.items += 1
            yield self.product_item(raw, progress.target, category)

    def product_item(self, raw, store: StoreTarget, category: Category) -> ProductItem:
        return ProductItem(raw=raw, company=self.company, store_code=store.code,
                           scraped_at=utcnow(), category_path=list(category.path))

    def limit_reached(self, progress: StoreProgress) -> bool:
        return self.limit is not None and progress.run.items >= self.limit

    def check_drift(self, progress: StoreProgress, reported) -> StoreTarget | None:
        """The store a page's items belong to: the requested one, unless the site says it
        answered for another (drift). Drifted items are never the requested store's: they go to
        the named store when it is a known store of the chain, else nowhere (None). Drift fails
        the store; drift on its first page also stops it at once (every page would be someone
        else's prices)."""
        if reported in (None, "") or same_store(reported, progress.target.site_id):
            progress.own_pages += 1
            return progress.target
        first = not progress.own_pages
        if not progress.run.drift:
            self.logger.warning("store %s: the site answered for store %s%s",
                                progress.target.code, reported,
                                " on the first page: the store stops" if first else "")
        progress.run.drift += 1
        self.count("grocer/drift/pages")
        progress.fail(DRIFT, f"drift: the site answered for store {reported}")
        if first:
            progress.stopped = True
        return self.known_store(reported)

    def known_store(self, site_id) -> StoreTarget | None:
        """The chain's store the site calls `site_id`, or None (read with the targets)."""
        return self.known_stores.get(str(site_id).strip().lstrip("0"))

    def drifted_items(self, progress: StoreProgress, owner: StoreTarget | None,
                      category: Category, products: list):
        """Items of a page the site answered for another store: under that store, or dropped."""
        products = [raw for raw in products if self.is_product(raw)]
        if owner is None:
            self.count("grocer/drift/dropped", len(products))
            return
        self.count("grocer/drift/attributed", len(products))
        for raw in products:
            yield self.product_item(raw, owner, category)


def same_store(reported, site_id) -> bool:
    """Store ids as the sites write them: "0766" is 766."""
    return str(reported).strip().lstrip("0") == str(site_id).strip().lstrip("0")
