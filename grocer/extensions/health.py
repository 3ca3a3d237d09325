"""Crawl health: what a crawl stored, dropped and lost, how complete its products are, its error
budget, and — the one place that counts them — each store's outcome.

`CrawlHealth` (a Scrapy extension) counts, per crawl and per store, the items stored (passed
every pipeline: ``item_scraped``), dropped (``item_dropped``, by reason) and lost (valid items
not stored because something failed: ``grocer.stats.item_lost``, counted by the pipelines), and
for every stored item which of the fields in ``GROCER_HEALTH_FIELDS`` it has
(``grocer/field_valid/<field>``, counted here and written into the stats at close: a stats call
per field and item was a fifth of the extension's cost). An item lost after it passed the
pipelines (its price batch failed when written) is counted lost, not stored.

Error budget: when ``dropped / processed`` (processed = dropped + items that passed validation,
stored or still waiting in a database batch) exceeds ``GROCER_MAX_DROP_RATE`` the crawl closes with the
reason ``error_budget``, so the spider-close reconciliation (which runs on ``finished`` only)
delists, merges and deletes nothing. During the crawl the budget is checked once
``GROCER_MIN_ITEMS_FOR_BUDGET`` items were processed, so that a few bad items at the start do
not stop it; when the crawl is about to finish it is checked whatever the number of items.
``GROCER_MAX_DROP_RATE`` of 1 or more turns the budget off. Drops whose reason is in
``GROCER_BUDGET_IGNORED_REASONS`` (ad and banner tiles, which are not products) are counted but
left out of the rate.

Closing without private Scrapy API: an item dropped while a response is processed closes the
crawl at once (``engine.close_spider_async``; Scrapy finishes that response and closes). An item
that came from ``start()`` (``scrapy ingest``) has no response: then `StartGate` (a spider
middleware) stops reading ``start()``, the items in the pipelines finish, and the crawl closes at
its ``spider_idle`` with ``CloseSpider``.

At close (after the pipelines flushed their buffers) it settles each store of the spider's
``crawl_state`` (`grocer.crawlstate.StoreRun.settle`: a store with a lost or unaccounted item is
failed), decides the crawl's real close reason (`grocer.outcome.crawl_close_reason`: a
``finished`` crawl that lost an item is ``db_errors``, one that completed no store
``no_store_completed``) into ``grocer/close_reason``, and leaves a summary in the stats
(``grocer/health/stored``, ``dropped``, ``lost``, ``ignored``, ``drop_rate``,
``max_drop_rate``, ``budget`` ("ok" | "exceeded"), ``field_rates``). Per-store counts go into
the ``StoreRun``s (and so into ``CrawlRun.store_stats``), never into the end-of-crawl stats
dump. It logs one line for the crawl.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict

from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy.utils.defer import deferred_from_coro

from grocer import outcome
from grocer import stats as keys
from grocer.crawlstate import COMPLETED, FAILED
from grocer.items import item_fields

logger = logging.getLogger(__name__)

HEALTH = "grocer/health"
FIELD_VALID = "grocer/field_valid"
# Drop reasons that mean "lost", not "dropped": the pipeline that lost the item counted it with
# grocer.stats.item_lost already.
LOST_DROP_REASONS = frozenset({keys.DB_ERROR, keys.WORKER_LOST})


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


def store_of(values) -> str:
    store = values.get("store_code") if values is not None else None
    return str(store) if store else ""


class Tally:
    """Items of a crawl or of one store: passed the pipelines, dropped (by reason, with running
    totals: the budget reads them on every item), and lost inside a drop. Lost items that had
    passed the pipelines are known only from the stats."""

    def __init__(self, ignored_reasons=frozenset()):
        self.ignored_reasons = ignored_reasons
        self.scraped = 0
        self.dropped: Counter[str] = Counter()
        self.dropped_count = 0
        self.ignored_count = 0
        self.lost_in_drops = 0

    def drop(self, reason: str) -> None:
        if reason in LOST_DROP_REASONS:
            self.lost_in_drops += 1
            return
        self.dropped[reason] += 1
        self.dropped_count += 1
        if reason in self.ignored_reasons:
            self.ignored_count += 1

    def stored(self, lost: int) -> int:
        return max(self.scraped - max(lost - self.lost_in_drops, 0), 0)

    def dropped_total(self) -> int:
        return self.dropped_count

    def ignored(self) -> int:
        return self.ignored_count


class CrawlHealth:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.max_drop_rate = settings.getfloat("GROCER_MAX_DROP_RATE")
        self.min_items = settings.getint("GROCER_MIN_ITEMS_FOR_BUDGET")
        self.fields = tuple(settings.getlist("GROCER_HEALTH_FIELDS"))
        self.ignored_reasons = frozenset(settings.getlist("GROCER_BUDGET_IGNORED_REASONS"))
        self.crawl = Tally(self.ignored_reasons)
        self.stores: dict[str, Tally] = defaultdict(lambda: Tally(self.ignored_reasons))
        self.field_valid: Counter[str] = Counter()
        self.closing = False  # the budget was exceeded mid-crawl: the crawl is being closed

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    @property
    def budget_enabled(self) -> bool:
        return self.max_drop_rate < 1

    # --- signals ------------------------------------------------------------------------------

    def spider_opened(self, spider):
        import grocer

        # Connected now, after the spider's own idle handler: that one finishes the last store
        # before this one judges the crawl.
        self.crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
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
        values = item_fields(item)
        self.crawl.scraped += 1
        self.stores[store_of(values)].scraped += 1
        product = values.get("product") or {}
        field_valid = self.field_valid
        for field in self.fields:
            if has_value(product.get(field)):
                field_valid[field] += 1
        self.check_budget(spider, response)

    def item_dropped(self, item, spider, exception=None, response=None):
        reason = drop_reason(exception)
        self.crawl.drop(reason)
        self.stores[store_of(item_fields(item) if item is not None else None)].drop(reason)
        self.check_budget(spider, response)

    def spider_idle(self, spider):
        """The crawl may be about to finish (while the spider has more work it raises
        DontCloseSpider, which wins): the budget is checked on every item, however few, and a
        crawl that lost items or completed no store closes with that reason."""
        if self.closing or self.over_budget(minimum=1):
            raise CloseSpider(outcome.ERROR_BUDGET)
        state = getattr(spider, "crawl_state", None)
        runs = list(getattr(state, "stores", {}).values())
        reason = outcome.crawl_close_reason(
            outcome.FINISHED, lost=self.lost(), stores=len(runs),
            completed=sum(run.status == COMPLETED for run in runs))
        if reason != outcome.FINISHED:
            raise CloseSpider(reason)

    def spider_closed(self, spider, reason):
        if reason == outcome.ERROR_BUDGET and not self.closing:
            self.log_breach(spider)  # found at the end of the crawl
        state = getattr(spider, "crawl_state", None)
        runs = list(getattr(state, "stores", {}).values())
        for run in runs:
            self.settle(run)
        final = outcome.crawl_close_reason(
            reason, lost=self.lost(), stores=len(runs),
            completed=sum(run.status == COMPLETED for run in runs))
        self.stats.set_value(keys.CLOSE_REASON, final)
        for field, count in self.field_valid.items():
            self.stats.inc_value(f"{FIELD_VALID}/{field}", count)
        completed = sum(run.status == COMPLETED for run in runs)
        if runs:
            self.stats.set_value("grocer/stores/completed", completed)
            self.stats.set_value("grocer/stores/failed", len(runs) - completed)
        summary = self.summary()
        for name, value in summary.items():
            self.stats.set_value(f"{HEALTH}/{name}", value)
        not_started = len(getattr(spider, "targets", None) or ()) - len(runs)
        logger.log(logging.INFO if final == outcome.FINISHED else logging.WARNING, "%s",
                   self.summary_line(final, summary, runs, not_started),
                   extra={"spider": spider})

    # --- counts -------------------------------------------------------------------------------

    def lost(self, store: str | None = None) -> int:
        key = keys.LOST_TOTAL if store is None else keys.store_key(store, "lost")
        return self.stats.get_value(key, 0) or 0

    def stored(self) -> int:
        return self.crawl.stored(self.lost())

    def processed(self) -> int:
        lost = self.lost()
        return self.crawl.stored(lost) + self.crawl.dropped_total() + lost

    def settle(self, run) -> None:
        """The store's counts into its StoreRun, then its final outcome."""
        tally = self.stores.get(run.store_code, Tally(self.ignored_reasons))
        run.lost = self.lost(run.store_code)
        run.stored = tally.stored(run.lost)
        run.dropped = tally.dropped_total()
        run.ignored = tally.ignored()
        run.dropped_by_reason = dict(sorted(tally.dropped.items()))
        for name in keys.STORE_CONFIRMED:  # (StoreRun's columns of the same names)
            setattr(run, name, self.stats.get_value(keys.store_key(run.store_code, name), 0)
                    or 0)
        was = run.status
        run.settle()
        if was == COMPLETED and run.status == FAILED:
            logger.error("store %s FAILED (%s): %s; nothing of it is delisted and its "
                         "last_crawled_at stays", run.store_code, run.reason, run.error)

    # --- the budget ---------------------------------------------------------------------------

    def counted(self) -> tuple[int, int]:
        """(drops counted against the budget, items the rate is taken over). An item is judged
        once it passed validation: a database batch holds up to GROCER_BATCH_SIZE valid items
        whose drops-or-not is already known, and leaving them out would over-count the rate."""
        ignored = self.crawl.ignored()
        dropped = self.crawl.dropped_total()
        judged = max(self.processed(), dropped + (self.stats.get_value(keys.VALIDATED) or 0))
        return dropped - ignored, judged - ignored

    def over_budget(self, minimum: int) -> bool:
        dropped, processed = self.counted()
        return (self.budget_enabled and processed >= max(minimum, 1)
                and dropped / processed > self.max_drop_rate)

    def check_budget(self, spider, response) -> None:
        if self.closing or not self.budget_enabled:
            return
        if self.crawl.ignored() == self.crawl.dropped_total() and self.max_drop_rate >= 0:
            return  # no drop counts: a rate of 0 is within the budget (no stats read per item)
        if not self.over_budget(self.min_items):
            return
        self.closing = True
        self.log_breach(spider)
        self.stats.set_value(keys.CLOSING, outcome.ERROR_BUDGET)
        if response is not None:
            # Scrapy finishes the response being processed, then closes.
            deferred_from_coro(self.crawler.engine.close_spider_async(
                reason=outcome.ERROR_BUDGET))
        # else: an item of start(): StartGate stops start(), spider_idle closes.

    def log_breach(self, spider) -> None:
        dropped, processed = self.counted()
        logger.error(
            "error budget exceeded: %d of %d items dropped (%.1f%% > %.1f%%); the crawl closes "
            "as %r and reconciliation will not run", dropped, processed,
            100 * dropped / max(processed, 1), 100 * self.max_drop_rate, outcome.ERROR_BUDGET,
            extra={"spider": spider})

    # --- the summary --------------------------------------------------------------------------

    def summary(self) -> dict:
        stored = self.stored()
        dropped, processed = self.counted()
        return {
            "stored": stored,
            "dropped": self.crawl.dropped_total(),
            "lost": self.lost(),
            "ignored": self.crawl.ignored(),
            "drop_rate": rate(dropped, processed),
            "max_drop_rate": self.max_drop_rate,
            "budget": "exceeded" if self.closing or self.over_budget(minimum=1) else "ok",
            "field_rates": {field: rate(self.field_valid[field], stored)
                            for field in self.fields},
        }

    def summary_line(self, reason: str, summary: dict, runs, not_started: int) -> str:
        dropped = ", ".join(f"{name} {count:,}"
                            for name, count in self.crawl.dropped.most_common(5))
        fields = ", ".join(f"{field} {value:.0%}" for field, value in
                           summary["field_rates"].items())
        budget = (f"budget {self.max_drop_rate:.1%} {summary['budget']}" if self.budget_enabled
                  else "budget off")
        failed = Counter(run.reason or "?" for run in runs if run.status != COMPLETED)
        stores = ""
        if runs or not_started > 0:
            stores = (f"; stores: {len(runs) - sum(failed.values())} completed, "
                      f"{sum(failed.values())} failed"
                      + (f" ({', '.join(f'{r} {n}' for r, n in sorted(failed.items()))})"
                         if failed else "")
                      + (f", {not_started} not started" if not_started > 0 else ""))
        return (
            f"crawl closed ({reason}): {summary['stored']:,} stored, {summary['dropped']:,} "
            f"dropped ({summary['drop_rate']:.1%}; {budget}), {summary['lost']:,} lost"
            + (f" [{dropped}]" if dropped else "")
            + f"; fields: {fields or '-'}" + stores
        )


class StartGate:
    """Spider middleware: stops reading the spider's start() once the crawl is closing (see the
    module docstring), so that items of start() do not keep a closing crawl open."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    async def process_start(self, start):
        async for item_or_request in start:
            if self.stats.get_value(keys.CLOSING):
                return
            yield item_or_request
