"""Scrapy extensions of grocer.

`ReconcileOnClose` (DESIGN §5): when a crawl closes with reason ``finished`` and without database
errors, reconcile the database under the reconciliation lock — delisting of the stores the crawl
completed, brand and product merges from the translation tables in ``TRANSLATION_TABLES_DIR``,
orphan clean-up, table generation. Any other close (``shutdown``, ``cancelled``, ``blocked``,
``error_budget``, …) or a crawl with database errors changes nothing. The close reason is the
real one the crawl-health extension decided (``grocer/close_reason``: ``db_errors``,
``no_store_completed``, … for a crawl Scrapy calls ``finished``). Every crawl is recorded in
``CrawlRun``, reconciled or not: its row is inserted when the crawl opens and completed at close
with each store's outcome and reason (``store_stats``); Store.last_crawled_at of the stores it
completed is set then (spiders never write to the database). A dry run (``GROCER_DRY_RUN``, set
by ``scrapy parse`` and ``scrapy check``) leaves the extension off: it records nothing.

Settings: ``GROCER_RECONCILE_ON_CLOSE`` (default True), ``GROCER_RECONCILE_LOCK_TIMEOUT``
(seconds to wait for another reconciliation, default 600), ``GROCER_ORPHAN_GRACE_SECONDS``
(products younger than this are never orphans, default 3600: another crawl may not have written
their price yet), ``TRANSLATION_TABLES_DIR``, ``GROCER_DATABASE_URL``.

The SQL lives in ``grocer.db``; this module only decides and calls.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from grocer import outcome as reasons
from grocer import stats as keys
from grocer.db.crawlruns import record_crawl_run, start_crawl_run
from grocer.db.delisting import CompletedStore
from grocer.db.engine import engine_from_settings
from grocer.db.errors import describe
from grocer.db.migrate import prepare_schema
from grocer.db.locks import LockTimeout
from grocer.db.reconcile import ReconcileResult, reconcile
from grocer.db.targets import mark_crawled
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)


@dataclass
class CloseOutcome:
    reconciled: bool
    skipped: str | None = None  # why reconciliation did not run (None: it ran)
    result: ReconcileResult | None = None
    crawl_run_id: int | None = None


def _aware(value):
    return value if isinstance(value, dt.datetime) and value.tzinfo is not None else None


class ReconcileOnClose:
    def __init__(self, crawler):
        self.crawler = crawler
        self.settings = crawler.settings
        self.enabled = self.settings.getbool("GROCER_RECONCILE_ON_CLOSE")
        self.started_at: dt.datetime | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.getbool("GROCER_DRY_RUN"):
            raise NotConfigured("a dry run (scrapy parse, scrapy check) writes nothing")
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    # --- signals ------------------------------------------------------------------------------

    async def spider_opened(self, spider):
        self.started_at = utcnow()
        # Recorded now, so that a crawl that fails at start or is killed leaves its row.
        self.run_id = await maybe_deferred_to_future(threads.deferToThread(
            self.record_start, spider))

    def record_start(self, spider) -> int | None:
        engine = engine_from_settings(self.settings)
        try:
            prepare_schema(engine, logger)
            return start_crawl_run(engine, spider=spider.name, started_at=self.started_at)
        except Exception as error:
            # An unusable database: the spider (or a pipeline) stops the crawl with one line.
            logger.debug("could not record the crawl's start: %s", describe(error, engine),
                         extra={"spider": spider})
            return None

    def item_error(self, item, response, spider, failure):
        # Scrapy logs these but counts them nowhere; a lost item forbids delisting.
        self.crawler.stats.inc_value(keys.ITEM_ERRORS)

    async def spider_closed(self, spider, reason):
        """Runs after the item pipelines were closed (their buffers flushed). The work goes to a
        thread so that waiting for the lock never blocks the reactor."""
        return await maybe_deferred_to_future(threads.deferToThread(self.close, spider, reason))

    # --- the work -----------------------------------------------------------------------------

    def skip_reason(self, reason: str) -> str | None:
        if not self.enabled:
            return "GROCER_RECONCILE_ON_CLOSE is off"
        if reason != reasons.FINISHED:
            return f"the crawl closed with reason {reason!r}, not 'finished'"
        stats = self._stats()
        db_errors = stats.get(keys.DB_ERRORS, 0) or 0
        if db_errors:
            return f"the crawl had {db_errors} database error(s) ({keys.DB_ERRORS})"
        item_errors = stats.get(keys.ITEM_ERRORS, 0) or 0
        if item_errors:
            return f"{item_errors} item(s) failed in the pipelines ({keys.ITEM_ERRORS})"
        return None

    def close(self, spider, reason: str) -> CloseOutcome:
        reason = self._stats().get(keys.CLOSE_REASON) or reason
        state = getattr(spider, "crawl_state", None)
        company = getattr(state, "company", None) or spider.name
        skipped = self.skip_reason(reason)
        result = None
        if skipped:
            logger.warning("reconciliation skipped: %s; nothing was delisted, merged or "
                           "deleted", skipped, extra={"spider": spider})
        else:
            try:
                result = reconcile(
                    engine_from_settings(self.settings),
                    self.settings.get("TRANSLATION_TABLES_DIR"),
                    company=company,
                    completed_stores=self.completed_stores(state),
                    orphan_grace=dt.timedelta(seconds=self.settings.getfloat(
                        "GROCER_ORPHAN_GRACE_SECONDS")),
                    lock_timeout=self.settings.getfloat("GROCER_RECONCILE_LOCK_TIMEOUT"),
                )
            except LockTimeout as error:
                skipped = f"lock not acquired: {error}"
                logger.error("reconciliation skipped: %s", error, extra={"spider": spider})
            except Exception as error:  # never let a failed reconciliation hide the crawl run
                skipped = f"reconciliation failed: {type(error).__name__}: {error}"
                logger.exception("reconciliation failed", extra={"spider": spider})
        outcome = CloseOutcome(reconciled=result is not None, skipped=skipped, result=result)
        self._set_stats(outcome)
        self.mark_crawled(spider, state)
        outcome.crawl_run_id = self.record(spider, state, reason, outcome)
        return outcome

    def mark_crawled(self, spider, state) -> None:
        """Store.last_crawled_at of the stores completed (whatever the crawl's reason: a store
        whose every item was stored was crawled)."""
        targets = {target.code: target.id for target in getattr(spider, "targets", None) or ()}
        finished = {targets[run.store_code]: run.finished_at
                    for run in (state.completed() if state is not None else [])
                    if run.store_code in targets and run.finished_at is not None}
        try:
            mark_crawled(engine_from_settings(self.settings), finished)
        except Exception as error:  # a bookkeeping write never hides the crawl run
            logger.error("could not set last_crawled_at of %d store(s): %s", len(finished),
                         describe(error), extra={"spider": spider})

    def completed_stores(self, state) -> list[CompletedStore]:
        """Stores to delist in: completed runs of a crawl that is not partial, whose items were
        stored (a store whose pages all lost their prices must not lose its catalogue)."""
        if state is None or getattr(state, "partial", True):
            return []
        max_drop_rate = self.settings.getfloat("GROCER_MAX_DROP_RATE")
        stores = []
        for run in state.completed():
            doubt = self.delisting_doubt(run, max_drop_rate)
            if doubt or run.started_at is None:
                logger.warning("store %s: nothing delisted: %s", run.store_code,
                               doubt or "no start time")
                continue
            stores.append(CompletedStore(run.store_code, run.started_at))
        return stores

    @staticmethod
    def delisting_doubt(run, max_drop_rate: float) -> str | None:
        """Why a completed store's crawl is no proof of what it no longer sells (None: it is).
        Its counts were settled into the StoreRun by the crawl-health extension."""
        # Drops the error budget ignores (GROCER_BUDGET_IGNORED_REASONS) are no doubt either.
        dropped = run.dropped - run.ignored
        processed = run.stored + dropped + run.lost
        if run.drift:
            return f"{run.drift} response(s) named another store"
        if not run.written + run.unchanged:
            return "no price of it was stored"
        if processed and dropped / processed > max_drop_rate:
            return (f"{dropped} of its {processed} items were dropped "
                    f"(over GROCER_MAX_DROP_RATE {max_drop_rate:.0%})")
        return None

    def record(self, spider, state, reason: str, outcome: CloseOutcome) -> int | None:
        stores = list(getattr(state, "stores", {}) or {})
        completed = [run.store_code for run in state.completed()] if state is not None else []
        # The per-store counters are in the StoreRuns (store_stats), not twice.
        stats = {key: value for key, value in self._stats().items()
                 if not key.startswith(keys.STORE_PREFIX)}
        store_stats = {code: dataclasses.asdict(run)
                       for code, run in (getattr(state, "stores", {}) or {}).items()}
        try:
            return record_crawl_run(
                engine_from_settings(self.settings),
                spider=spider.name, stores=stores, stores_completed=completed,
                started_at=self.started_at or _aware(stats.get("start_time")),
                finished_at=utcnow(), close_reason=reason, reconciled=outcome.reconciled,
                stats=stats, store_stats=store_stats, run_id=self.run_id)
        except Exception as error:
            # Said once: when the database was unusable at start already, the spider said so.
            logger.log(logging.DEBUG if self.run_id is None else logging.ERROR,
                       "could not record the crawl run: %s", describe(error),
                       extra={"spider": spider})
            return None

    def _stats(self) -> dict:
        stats = getattr(self.crawler, "stats", None)
        return dict(stats.get_stats()) if stats is not None else {}

    def _set_stats(self, outcome: CloseOutcome) -> None:
        stats = getattr(self.crawler, "stats", None)
        if stats is None:
            return
        stats.set_value("grocer/reconcile/reconciled", outcome.reconciled)
        if outcome.skipped:
            stats.set_value("grocer/reconcile/skipped", outcome.skipped)
        if outcome.result is not None:
            result = outcome.result
            stats.set_value("grocer/reconcile/delisted", sum(result.delisted.values()))
            stats.set_value("grocer/reconcile/brands_merged", result.brands.brands_merged)
            stats.set_value("grocer/reconcile/products_merged", result.products.products_merged)
            stats.set_value("grocer/reconcile/orphans_deleted", result.orphans_deleted)
            stats.set_value("grocer/reconcile/seconds", result.seconds)
