"""`ZoneSpider`: the store loop with `-a by=zone` (issue 18, README "Price zones").

A zone crawl runs in two phases over the selected stores (plus the representative of any
selected member's zone):

1. **Basket check** of every store, representatives of known zones first: the first page of
   each category of the night's basket (`price_basket`, rotated by day). Each store's basket
   goes to the `ZoneAssigner` as soon as its last basket page is in; the decision is logged
   with its explanation, a member's overrides (basket products priced differently from its
   representative) are yielded as the store's own items. A checked member's run is `checked`,
   never `completed`: its prices are the zone's, nothing of it is delisted.
2. **Full crawl** of every store the decisions want crawled fully: representatives and stores
   that started their own zone. A representative whose full crawl fails is replaced by a
   member of its zone, crawled fully in the same run.

The decisions are left in `spider.zone_decisions` for grocer.extensions.zones to store. A chain
without zones (`price_basket = None`, IGA) makes every store a one-store zone, crawled fully.
A chain spider declares only `price_basket` and, when its category pages need no per-store
start (warm-up, category tree), `basket_needs_store_start = False`.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, ClassVar

from scrapy.utils.misc import load_object

from grocer.crawlstate import CHECKED, FAILED, FETCH_FAILED, StoreTarget
from grocer.items import ProductItem
from grocer.normalization.dates import sydney_date, utcnow
from grocer.spiders.base import StoreSpider
from grocer.zones.basket import PriceBasket, basket_categories

if TYPE_CHECKING:
    from grocer.zones.discovery import Decision

BASKET, FULL = "basket", "full"
BY_VALUES = ("store", "zone")


class ZoneSpider(StoreSpider):
    price_basket: ClassVar[PriceBasket | None] = None  # None: every store prices on its own
    basket_needs_store_start: ClassVar[bool] = True

    def __init__(self, *args, by=None, basket_day=None, **kwargs):
        super().__init__(*args, **kwargs)
        by = (by or "store").strip().lower()
        if by not in BY_VALUES:
            raise ValueError(f"-a by={by!r}: expected one of {', '.join(BY_VALUES)}")
        self.by_zone = by == "zone"
        try:
            self.basket_day = (int(basket_day) if basket_day not in (None, "")
                               else sydney_date(utcnow()).toordinal())
        except ValueError:
            raise ValueError(f"-a basket_day={basket_day!r}: expected a whole number") from None
        self.basket_slugs = (self.price_basket.slugs_for(self.basket_day)
                             if self.price_basket else ())
        self.zone_decisions: dict[str, Decision] = {}  # stored by grocer.extensions.zones
        self.baskets: dict[str, dict[str, Decimal]] = {}
        self.basket_raw: dict[str, dict[str, dict]] = {}
        self.basket_expected: dict[str, int] = {}
        self.checking: set[str] = set()
        self.full_queue: list[StoreTarget] = []
        self.basket_cache: list | None = None
        self.phase = FULL
        self.known_zones = None  # GROCER_ZONE_DIRECTORY's ChainZones, read with the stores

    def select_targets(self) -> list[StoreTarget]:
        targets = super().select_targets()
        if self.by_zone:  # in start()'s thread too: the zone directory may read the database
            directory = load_object(self.crawler.settings.get("GROCER_ZONE_DIRECTORY"))
            self.known_zones = directory(self.crawler, self.chain)
        return targets

    def targets_selected(self) -> None:
        super().targets_selected()
        if self.by_zone:
            self.plan_zones(self.crawler.settings)

    # --- planning -------------------------------------------------------------------------------

    def plan_zones(self, settings) -> None:
        # Local: only a zone crawl needs the assigner (`scrapy list` imports every spider).
        from grocer.zones.discovery import OWN_PRICES, Decision, ZoneAssigner

        known = self.known_zones
        self.assigner = ZoneAssigner(
            known.zones, max_override_share=settings.getfloat("GROCER_ZONE_MAX_OVERRIDE_SHARE"),
            min_common=settings.getint("GROCER_ZONE_MIN_COMMON"))
        if self.price_basket is None:
            zone_of = self.assigner.zone_of
            for target in self.targets:
                zone = zone_of.get(target.code, f"new:{target.code}")
                self.zone_decisions[target.code] = Decision(target.code, OWN_PRICES, zone,
                                                            target.code)
            self.logger.info("zone crawl: %s prices every store on its own: %d one-store "
                             "zones, crawled fully", self.chain.name, len(self.targets))
            return
        selected = {target.code for target in self.targets}
        for zone in known.zones:  # a selected member's zone needs its representative tonight
            if zone.members & selected and zone.representative not in selected and (
                    representative := known.representatives.get(zone.representative)):
                self.targets.append(representative)
                selected.add(representative.code)
        self.target_by_code = {target.code: target for target in self.targets}
        self.pending = deque(self.target_by_code[code]
                             for code in self.assigner.check_order(self.target_by_code))
        self.phase = BASKET
        self.logger.info("zone crawl: basket check of %d stores (%d known zones), basket %s",
                         len(self.pending), len(known.zones), ", ".join(self.basket_slugs))

    # --- the store loop -------------------------------------------------------------------------

    def next_work(self):
        if self.phase == BASKET and not self.pending:
            if self.current is not None:
                self.finish_store()
            self.phase = FULL
            self.pending = deque(self.full_queue)
            self.logger.info("zone crawl: %d stores checked, %d zones, %d stores to crawl fully",
                             len(self.assigner.decisions),
                             len({d.zone for d in self.assigner.decisions.values()}),
                             len(self.pending))
        return super().next_work()

    def start_store(self, target):
        if self.phase != BASKET:
            return super().start_store(target)
        self.checking.add(target.code)
        # Unfiltered: the same requests start the store's full crawl later, if it gets one.
        requests = [request.replace(dont_filter=True) for request in super().start_store(target)]
        if self.basket_cache is not None and not self.basket_needs_store_start:
            return list(self.category_requests(target, self.basket_cache))
        return requests

    def finish_store(self) -> None:
        progress = self.current
        code = progress.target.code
        if code not in self.checking:
            super().finish_store()
            if progress.failure:
                self.replace_failed_representative(code)
            return
        self.current = None
        self.checking.discard(code)
        decided = code in self.assigner.decisions
        progress.run.finished_at = utcnow()
        progress.run.status = CHECKED if decided else FAILED
        progress.run.error = None if decided else (progress.failure or "basket incomplete")
        self.count("grocer/zones/checked" if decided else "grocer/zones/check_failed")
        if not decided:
            self.logger.warning("store %s: basket check failed (%s): its zone membership is "
                                "kept, not verified", code, progress.run.error)

    def replace_failed_representative(self, code: str) -> None:
        from grocer.zones.discovery import OWN_PRICES  # local: see plan_zones

        decision = self.zone_decisions.get(code)
        if self.phase != FULL or decision is None or not decision.crawl_fully or \
                decision.action == OWN_PRICES:
            return
        replacement = self.assigner.replace_representative(code, self.baskets)
        if replacement is None:
            self.logger.warning("zone %s: representative %s failed and no other member was "
                                "checked tonight", decision.zone, code)
            return
        self.zone_decisions.update({store: d for store, d in self.assigner.decisions.items()
                                    if d.zone == decision.zone})
        self.logger.info("zone crawl: %s", replacement.explain())
        self.count("grocer/zones/representatives_replaced")
        self.pending.append(self.target_by_code[replacement.store])

    # --- basket pages ---------------------------------------------------------------------------

    def category_requests(self, store, categories):
        if store.code not in self.checking:
            yield from super().category_requests(store, categories)
            return
        if self.basket_cache is None:
            chosen, missing = basket_categories(categories, self.basket_slugs)
            if missing:
                self.logger.warning("basket categories not found: %s", ", ".join(missing))
            self.basket_cache = chosen
        if not self.basket_cache:
            self.record_failure_of(store, "no basket category found")
            return
        self.basket_expected[store.code] = len(self.basket_cache)
        for category in self.basket_cache:
            # Unfiltered, so not remembered: a representative's full crawl asks for it again.
            yield self.page_request(store, category, 0, {"category": category, "page": 0}
                                    ).replace(dont_filter=True)

    def record_failure_of(self, store, reason: str) -> None:
        if self.current is not None and self.current.target.code == store.code:
            self.current.fail(FETCH_FAILED, reason)

    def items(self, progress, category, products):
        code = progress.target.code
        if code not in self.checking:
            yield from super().items(progress, category, products)
            return
        # Local: the cleaners are needed by a basket check only (`scrapy list` imports every spider).
        from grocer.normalization.cleaners import ProductRejected, get_cleaner

        cleaner = get_cleaner(self.company)
        prices, raws = self.baskets.setdefault(code, {}), self.basket_raw.setdefault(code, {})
        for raw in products:
            if not self.is_product(raw):
                continue
            try:
                cleaned = cleaner.clean(dict(raw))
                price = Decimal(str(cleaned["price_current"])).quantize(Decimal("0.01"))
            except (ProductRejected, InvalidOperation, KeyError, TypeError, ValueError):
                continue
            prices[cleaned["sku"]], raws[cleaned["sku"]] = price, raw
        self.count("grocer/zones/basket_items", len(products))

    def next_page(self, progress, response, page, skus):
        if progress.target.code in self.checking:
            return None  # a basket category is its first page
        return super().next_page(progress, response, page, skus)

    def parse_page(self, response):
        yield from super().parse_page(response)
        progress = self.store_of(response)
        if progress is None:
            return
        code = progress.target.code
        if (code in self.checking and code not in self.assigner.decisions
                and progress.failure is None and progress.run.pages >= self.basket_expected.get(
                    code, 1 << 30)):
            yield from self.decide(progress)

    def decide(self, progress):
        code = progress.target.code
        decision = self.assigner.assign(code, self.baskets.get(code, {}))
        self.zone_decisions[code] = decision
        self.logger.info("zone crawl: %s", decision.explain())
        self.count(f"grocer/zones/{decision.action}")
        if decision.crawl_fully:
            self.full_queue.append(progress.target)
            return
        self.count("grocer/zones/overrides", len(decision.overrides))
        scraped_at = utcnow()
        for sku in sorted(decision.overrides):
            yield ProductItem(raw=self.basket_raw[code][sku], company=self.company,
                              store_code=code, scraped_at=scraped_at)
