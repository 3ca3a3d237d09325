"""Crawl health: what a crawl stored and dropped, how complete its products are, and its error
budget.

`CrawlHealth` (a Scrapy extension) counts, per crawl and per store, the items stored (passed
every pipeline: ``item_scraped``) and dropped (``item_dropped``, by reason), and for every stored
item which of the fields in ``GROCER_HEALTH_FIELDS`` it has (``grocer/field_valid/<field>``).

Error budget: when ``dropped / (stored + dropped)`` exceeds ``GROCER_MAX_DROP_RATE`` (default
0.05) the crawl closes with the reason ``error_budget``, so the spider-close reconciliation
(which runs on ``finished`` only) delists, merges and deletes nothing. During the crawl the
budget is checked once ``GROCER_MIN_ITEMS_FOR_BUDGET`` items (default 50) were seen, so that a
few bad items at the start do not stop it; when the crawl is about to finish it is checked
whatever the number of items (a small crawl that dropped most of its items must not delist a
store either). ``GROCER_MAX_DROP_RATE`` of 1 or more turns the budget off. Drops whose reason
is in ``GROCER_BUDGET_IGNORED_REASONS`` (default ``not_a_product``: ad and banner tiles, which are
not products) are counted but left out of the rate.

At close it leaves a summary in the stats — recorded with the crawl in ``CrawlRun.stats`` and
read by ``scrapy report`` —::

    grocer/health/stored, grocer/health/dropped, grocer/health/ignored (drops left out of
    the rate), grocer/health/drop_rate, grocer/health/max_drop_rate,
    grocer/health/budget ("ok" | "exceeded"),
    grocer/health/field_rates  {field: share of stored items having it},
    grocer/health/stores       {store_code: {items, stored, dropped, ignored, drop_rate,
                                             dropped_by_reason, written, unchanged}}

(``items``: items the spider yielded for the store; ``stored``: items that passed every
pipeline; ``written``: new or changed prices; ``unchanged``: prices only seen again.)

and logs it on one line.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import CloseSpider

from grocer import stats as keys

logger = logging.getLogger(__name__)

ERROR_BUDGET = "error_budget"
HEALTH = "grocer/health"
FIELD_VALID = "grocer/field_valid"
DEFAULT_FIELDS = ("barcode", "brand", "size", "unit_price", "category_path", "image_url")
DEFAULT_MAX_DROP_RATE = 0.05
DEFAULT_MIN_ITEMS = 50
DEFAULT_IGNORED_REASONS = ("not_a_product",)
# Per-store counters the pipelines and spiders keep in grocer/store/<code>/<name>.
STORE_COUNTERS = ("items", "written", "unchanged")


def has_value(value) -> bool:
    """A field counts as valid when it holds something: not None, not blank, not empty."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict, set)):
        return bool(value)
    return True


def drop_reason(exception) -> str:
    """The reason slug of a DropItem ("no_price: …" → "no_price"); "other" when it has none."""
    text = str(exception or "").split(":", 1)[0].strip()
    if text and len(text) <= 40 and all(ch.isalnum() or ch in "_-" for ch in text):
        return text
    return "other"


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def drop_rate(stored: int, dropped: int, ignored: int = 0) -> float:
    """dropped / (stored + dropped), both without the ignored drops."""
    return rate(dropped - ignored, stored + dropped - ignored)


class CrawlHealth:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.max_drop_rate = settings.getfloat("GROCER_MAX_DROP_RATE", DEFAULT_MAX_DROP_RATE)
        self.min_items = settings.getint("GROCER_MIN_ITEMS_FOR_BUDGET", DEFAULT_MIN_ITEMS)
        self.fields = tuple(settings.getlist("GROCER_HEALTH_FIELDS") or DEFAULT_FIELDS)
        ignored = settings.getlist("GROCER_BUDGET_IGNORED_REASONS", DEFAULT_IGNORED_REASONS)
        self.ignored_reasons = frozenset(ignored)
        self.stored = 0
        self.dropped = 0
        self.ignored = 0  # drops whose reason the budget leaves out
        self.store_stored: Counter[str] = Counter()
        self.store_dropped: dict[str, Counter[str]] = defaultdict(Counter)
        self.field_valid: Counter[str] = Counter()
        self.closing = False  # the budget was exceeded mid-crawl: the crawl is being closed

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    @property
    def budget_enabled(self) -> bool:
        return self.max_drop_rate < 1

    # --- signals ------------------------------------------------------------------------------

    def spider_opened(self, spider):
        import grocer

        # Under scrapyd this names the egg the crawl runs from (and its version).
        origin = os.path.dirname(grocer.__file__)
        logger.info("grocer from %s%s; error budget: %s", origin,
                    f" (scrapyd egg version {os.environ['SCRAPYD_EGG_VERSION']})"
                    if os.environ.get("SCRAPYD_EGG_VERSION") else "",
                    f"drop rate <= {self.max_drop_rate:.1%}" if self.budget_enabled else "off",
                    extra={"spider": spider})
        if os.environ.get("SCRAPY_PROJECT") and ".egg" not in origin:
            # scrapyd appends the egg to sys.path: an installed grocer comes first.
            logger.warning("scrapyd job runs grocer from %s, not from the deployed egg: a grocer "
                           "installed in scrapyd's environment (or on PYTHONPATH, or in its "
                           "working directory) shadows every deployed egg", origin,
                           extra={"spider": spider})

    def item_scraped(self, item, spider, response=None):
        adapter = ItemAdapter(item)
        self.stored += 1
        store = adapter.get("store_code")
        if store:
            self.store_stored[str(store)] += 1
        product = adapter.get("product") or {}
        for field in self.fields:
            if has_value(product.get(field)):
                self.field_valid[field] += 1
                self.stats.inc_value(f"{FIELD_VALID}/{field}")
        self.check_budget(spider)

    def item_dropped(self, item, spider, exception=None, response=None):
        self.dropped += 1
        reason = drop_reason(exception)
        if reason in self.ignored_reasons:
            self.ignored += 1
        store = ItemAdapter(item).get("store_code") if item is not None else None
        self.store_dropped[str(store) if store else ""][reason] += 1
        self.check_budget(spider)

    def spider_idle(self, spider):
        """The crawl may be about to finish: the budget is checked on every item it saw, however
        few. (While the spider has more work it raises DontCloseSpider, which wins.)"""
        if self.over_budget(minimum=1):
            raise CloseSpider(ERROR_BUDGET)

    def spider_closed(self, spider, reason):
        self._stop_nudging()
        if reason == ERROR_BUDGET and not self.closing:
            self._log_breach(spider)  # found at the end of the crawl
        summary = self.summary()
        for name, value in summary.items():
            self.stats.set_value(f"{HEALTH}/{name}", value)
        logger.log(logging.WARNING if summary["budget"] == "exceeded" else logging.INFO,
                   "%s", self.summary_line(reason, summary), extra={"spider": spider})

    # --- the budget ---------------------------------------------------------------------------

    def over_budget(self, minimum: int) -> bool:
        seen = self.stored + self.dropped - self.ignored
        return (self.budget_enabled and seen >= max(minimum, 1)
                and (self.dropped - self.ignored) / seen > self.max_drop_rate)

    def check_budget(self, spider) -> None:
        if self.closing or not self.over_budget(self.min_items):
            return
        self.closing = True
        self._log_breach(spider)
        self._close(spider, ERROR_BUDGET)

    def _log_breach(self, spider) -> None:
        counted, seen = self.dropped - self.ignored, self.stored + self.dropped - self.ignored
        logger.error(
            "error budget exceeded: %d of %d items dropped (%.1f%% > %.1f%%); the crawl closes "
            "as %r and reconciliation will not run", counted, seen,
            100 * counted / max(seen, 1), 100 * self.max_drop_rate, ERROR_BUDGET,
            extra={"spider": spider})

    def _close(self, spider, reason: str) -> None:
        close_run = getattr(spider, "close_run", None)
        if close_run is not None:  # `scrapy ingest`: the pipelines are fed without an engine
            close_run(reason)
            return
        engine = self.crawler.engine
        if hasattr(engine, "close_spider_async"):  # Scrapy >= 2.14
            coroutine = engine.close_spider_async(reason=reason)
            try:
                from scrapy.utils.defer import _schedule_coro
            except ImportError:  # pragma: no cover - a later Scrapy without the helper
                from scrapy.utils.defer import deferred_from_coro as _schedule_coro
            _schedule_coro(coroutine)
        else:  # pragma: no cover - older Scrapy
            engine.close_spider(spider, reason)
        self._start_nudging()

    def _start_nudging(self) -> None:
        """Work around a Scrapy 2.19 hang: a spider closed while items yielded by start() (not by
        a response) are in the pipelines never closes — the scraper only re-checks whether it
        can close after a response, not after such an item (`scrapy ingest`; the built-in
        CLOSESPIDER_ITEMCOUNT hangs the same way). Until the crawl is closed, check for it."""
        try:
            from scrapy.utils.asyncio import create_looping_call
        except ImportError:  # pragma: no cover
            from twisted.internet.task import LoopingCall as create_looping_call
        self._nudge = create_looping_call(self._nudge_scraper)
        self._nudge.start(0.2, now=False)

    def _nudge_scraper(self) -> None:
        scraper = getattr(getattr(self.crawler, "engine", None), "scraper", None)
        slot = getattr(scraper, "slot", None)
        closing = getattr(slot, "closing", None)
        if closing is not None and not closing.called and slot.is_idle():
            scraper._check_if_closing()

    def _stop_nudging(self) -> None:
        nudge, self._nudge = getattr(self, "_nudge", None), None
        if nudge is not None and nudge.running:
            nudge.stop()

    # --- the summary --------------------------------------------------------------------------

    def store_summary(self) -> dict[str, dict]:
        stats = self.stats.get_stats()
        prefix = "grocer/store/"
        codes = set(self.store_stored) | {code for code in self.store_dropped if code}
        for key in stats:
            if key.startswith(prefix):
                codes.add(key[len(prefix):].rsplit("/", 1)[0])
        stores = {}
        for code in sorted(codes):
            reasons = self.store_dropped.get(code, Counter())
            stored, dropped = self.store_stored.get(code, 0), sum(reasons.values())
            ignored = sum(n for reason, n in reasons.items() if reason in self.ignored_reasons)
            stores[code] = {
                **{name: stats.get(keys.store_key(code, name), 0) or 0
                   for name in STORE_COUNTERS},
                "stored": stored,
                "dropped": dropped,
                "ignored": ignored,
                "drop_rate": drop_rate(stored, dropped, ignored),
                "dropped_by_reason": dict(sorted(reasons.items())),
            }
        return stores

    def summary(self) -> dict:
        return {
            "stored": self.stored,
            "dropped": self.dropped,
            "ignored": self.ignored,
            "drop_rate": drop_rate(self.stored, self.dropped, self.ignored),
            "max_drop_rate": self.max_drop_rate,
            "budget": "exceeded" if self.closing or self.over_budget(minimum=1) else "ok",
            "field_rates": {field: rate(self.field_valid[field], self.stored)
                            for field in self.fields},
            "stores": self.store_summary(),
        }

    def summary_line(self, reason: str, summary: dict) -> str:
        reasons: Counter[str] = Counter()
        for counter in self.store_dropped.values():
            reasons.update(counter)
        dropped = ", ".join(f"{name} {count:,}" for name, count in reasons.most_common(5))
        fields = ", ".join(f"{field} {value:.0%}" for field, value in
                           summary["field_rates"].items())
        stores = summary["stores"]
        over = sum(1 for store in stores.values() if store["drop_rate"] > self.max_drop_rate)
        budget = (f"budget {self.max_drop_rate:.1%} {summary['budget']}" if self.budget_enabled
                  else "budget off")
        return (
            f"crawl health ({reason}): {self.stored:,} stored, {self.dropped:,} dropped "
            f"({summary['drop_rate']:.1%}; {budget})"
            + (f" [{dropped}]" if dropped else "")
            + f"; fields: {fields or '-'}; {len(stores)} store(s)"
            + (f", {over} over the drop budget" if over else "")
        )
