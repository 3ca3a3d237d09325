"""The queries behind `scrapy report`: per chain and store, the last successful crawl, its counts,
coverage and staleness.

A store's **last successful crawl** is the newest ``CrawlRun`` with ``close_reason`` ``finished``
whose ``stores_completed`` lists it (``finished_at`` is its date). Only a store for which no crawl
run was recorded at all (crawled before runs were recorded, or the record failed) falls back to
``Store.last_crawled_at``. A store is **fresh** when its last successful crawl is at most
``days`` old, **stale** otherwise (never crawled included). **Coverage** is the share of the
chain's supermarket stores (see `grocer.chains`) that are fresh.

Counts of a store in a run come from the run's stats: the crawl-health summary
(``grocer/health/stores``) when present, else the ``grocer/store/<code>/<name>`` counters, else
``CrawlRun.store_stats``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine

from grocer.chains import CHAINS, Chain
from grocer.db.engine import session_scope
from grocer.db.models import Company, CrawlRun, Division, Store
from grocer.normalization.dates import utcnow

FINISHED = "finished"
COUNT_NAMES = ("items", "stored", "dropped", "written", "unchanged")


@dataclass(frozen=True)
class RunRef:
    id: int | None  # None: no run record (Store.last_crawled_at)
    at: dt.datetime | None
    close_reason: str | None


@dataclass
class StoreReport:
    code: str
    name: str | None
    supermarket: bool
    last_crawled_at: dt.datetime | None  # Store.last_crawled_at (any crawl that completed it)
    last_success: RunRef | None = None
    last_attempt: RunRef | None = None  # the newest run that included the store, any reason
    counts: dict[str, int] = field(default_factory=dict)  # of the last successful run
    fresh: bool = False

    @property
    def crawled(self) -> bool:
        return self.last_success is not None or self.last_attempt is not None

    @property
    def failed_since(self) -> RunRef | None:
        """The newest attempt when it came after the last success and was not one."""
        attempt = self.last_attempt
        if attempt is None or attempt.id is None:
            return None
        if self.last_success is not None and self.last_success.id == attempt.id:
            return None
        if (self.last_success is not None and self.last_success.at and attempt.at
                and attempt.at <= self.last_success.at):
            return None
        return attempt


@dataclass
class ChainReport:
    chain: Chain
    stores: list[StoreReport]

    @property
    def supermarkets(self) -> list[StoreReport]:
        return [store for store in self.stores if store.supermarket]

    @property
    def fresh_supermarkets(self) -> int:
        return sum(store.fresh for store in self.supermarkets)

    @property
    def coverage(self) -> float:
        total = len(self.supermarkets)
        return self.fresh_supermarkets / total if total else 0.0


def _is_supermarket(chain: Chain, division: str | None, site_store_id: str | None) -> bool:
    if chain.supermarket_divisions and division not in chain.supermarket_divisions:
        return False
    if chain.needs_site_store_id and not site_store_id:
        return False
    return True


def _store_counts(code: str, stats: dict | None, store_stats: dict | None) -> dict[str, int]:
    stats = stats or {}
    health = stats.get("grocer/health/stores")
    if isinstance(health, dict) and isinstance(health.get(code), dict):
        source = health[code]
        return {name: int(source.get(name) or 0) for name in COUNT_NAMES if name in source}
    prefix = f"grocer/store/{code}/"
    counts = {name: int(stats[prefix + name] or 0) for name in COUNT_NAMES + ("scraped",)
              if prefix + name in stats}
    if "scraped" in counts:  # items that reached the pipelines, dropped ones included
        counts["stored"] = max(counts.pop("scraped") - counts.get("dropped", 0), 0)
    if counts:
        return counts
    source = (store_stats or {}).get(code)
    if isinstance(source, dict):
        return {name: int(source.get(name) or 0) for name in COUNT_NAMES
                if isinstance(source.get(name), (int, float))}
    return {}


def crawl_report(engine: Engine, *, days: float = 7, companies: Iterable[str] | None = None,
                 now: dt.datetime | None = None) -> list[ChainReport]:
    """One ChainReport per chain (all four, or `companies` — chain slugs), in CHAINS order."""
    chains = [CHAINS[slug] for slug in (companies or CHAINS)]
    slugs = [chain.slug for chain in chains]
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    with session_scope(engine) as session:
        rows = session.execute(
            select(Company.slug, Store.store_code, Store.name, Store.last_crawled_at,
                   Store.site_store_id, Division.name)
            .join(Company, Store.company_id == Company.id)
            .outerjoin(Division, Store.division_id == Division.id)
            .where(Company.slug.in_(slugs))
            .order_by(Company.slug, Store.store_code)
        ).all()
        stores: dict[str, dict[str, StoreReport]] = {slug: {} for slug in slugs}
        for slug, code, name, last_crawled_at, site_store_id, division in rows:
            stores[slug][code] = StoreReport(
                code, name, _is_supermarket(CHAINS[slug], division, site_store_id),
                last_crawled_at)

        # Newest first; only the small columns (stats are read below for the runs needed).
        runs = session.execute(
            select(CrawlRun.id, CrawlRun.spider, CrawlRun.finished_at, CrawlRun.close_reason,
                   CrawlRun.stores, CrawlRun.stores_completed)
            .where(CrawlRun.spider.in_(slugs))
            .order_by(CrawlRun.finished_at.is_(None), CrawlRun.finished_at.desc(),
                      CrawlRun.id.desc()))
        for run_id, spider, finished_at, reason, run_stores, completed in runs:
            chain_stores = stores[spider]
            ref = RunRef(run_id, finished_at, reason)
            for code in dict.fromkeys([*(run_stores or []), *(completed or [])]):
                store = chain_stores.get(code)
                if store is not None and store.last_attempt is None:
                    store.last_attempt = ref
            if reason == FINISHED:
                for code in completed or []:
                    store = chain_stores.get(code)
                    if store is not None and store.last_success is None:
                        store.last_success = ref

        wanted = {store.last_success.id for chain_stores in stores.values()
                  for store in chain_stores.values()
                  if store.last_success is not None and store.last_success.id is not None}
        run_stats = {}
        if wanted:
            for run_id, stats, store_stats in session.execute(
                    select(CrawlRun.id, CrawlRun.stats, CrawlRun.store_stats)
                    .where(CrawlRun.id.in_(sorted(wanted)))):
                run_stats[run_id] = (stats, store_stats)

    reports = []
    for chain in chains:
        for store in stores[chain.slug].values():
            if store.last_success is not None:
                store.counts = _store_counts(store.code, *run_stats.get(store.last_success.id,
                                                                        (None, None)))
            elif store.last_attempt is None and store.last_crawled_at is not None:
                store.last_success = RunRef(None, store.last_crawled_at, None)
            at = store.last_success.at if store.last_success is not None else None
            store.fresh = at is not None and at >= cutoff
        reports.append(ChainReport(chain, list(stores[chain.slug].values())))
    return reports
