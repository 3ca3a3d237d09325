"""The queries behind `scrapy report`: per chain and store, the last attempt (its outcome and
reason), the last successful crawl, its counts, coverage and staleness.

Each ``CrawlRun`` records every store it started in ``store_stats`` (a
`grocer.crawlstate.StoreRun`: status ``completed`` or ``failed``, reason, counts). A store's
**last attempt** is the newest run that started it; its **last successful crawl** the newest run
in which it was ``completed`` — whatever the crawl's close reason: a store whose every page was
fetched and every item stored was crawled. A run still open (no close reason: running, or
killed) shows as such. Only a store for which no crawl run was recorded at all falls back to
``Store.last_crawled_at``. A store is **fresh** when its last successful crawl is at most
``days`` old, **stale** otherwise (never crawled included). **Coverage** is the share of the
chain's supermarket stores (see `grocer.chains`) that are fresh.

**Price zones** (grocer.db.zones): a store in a zone other than as its representative has its
prices *inferred* from the representative. A zone crawl only basket-checks such a member (its
run is ``checked``, not ``completed``): it is fresh when its basket check (`zone_verified_at`)
and its representative's last successful crawl are both at most ``days`` old.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func as sa_func
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from grocer.chains import CHAINS, Chain
from grocer.db.engine import session_scope
from grocer.crawlstate import CHECKED, COMPLETED, FAILED, REPORTED_COUNTS, RUNNING
from grocer.db.models import Company, CrawlRun, Division, PriceZone, PriceZoneMember, Store
from grocer.normalization.dates import utcnow

@dataclass(frozen=True)
class RunRef:
    id: int | None  # None: no run record (Store.last_crawled_at)
    at: dt.datetime | None
    close_reason: str | None
    outcome: str | None = None  # the store's: completed, failed, running (the run never closed)
    reason: str | None = None  # why it failed: db_error, blocked, fetch_failed, ...
    error: str | None = None


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
    zone: int | None = None  # PriceZone.id of the store's price zone
    inferred_from: str | None = None  # its zone's representative, when its prices are inferred
    zone_verified_at: dt.datetime | None = None  # the store's last basket check

    @property
    def crawled(self) -> bool:
        return self.last_success is not None or self.last_attempt is not None

    @property
    def failed_since(self) -> RunRef | None:
        """The newest attempt when it came after the last success and was not one."""
        attempt = self.last_attempt
        if attempt is None or attempt.id is None or attempt.outcome in (COMPLETED, CHECKED):
            return None
        return attempt

    @property
    def status(self) -> str:
        """What `scrapy report` says of the store: ok, stale, never crawled, or the reason its
        last attempt failed (db_error, blocked, fetch_failed, running, ...)."""
        failed = self.failed_since
        if failed is not None:
            return failed.reason or failed.outcome or FAILED
        if self.last_success is None and self.inferred_from is None:
            return "never crawled"
        return "ok" if self.fresh else "stale"


@dataclass
class ChainReport:
    chain: Chain
    stores: list[StoreReport]
    last_run: RunRef | None = None  # the chain's newest crawl run, whatever it did
    zones: int = 0  # the chain's price zones

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


def _store_outcome(run_id, at, close_reason, code, completed, store_stats) -> RunRef:
    """The store's outcome in one run, from its StoreRun in store_stats."""
    record = (store_stats or {}).get(code)
    if isinstance(record, dict) and record.get("status"):
        outcome, reason, error = record["status"], record.get("reason"), record.get("error")
    else:  # a run recorded without the store's StoreRun
        outcome = COMPLETED if code in (completed or []) else FAILED
        reason, error = None, None
    if close_reason is None:  # never closed: still running, or killed
        outcome, reason = RUNNING, reason or "crawl not closed (running or killed)"
    return RunRef(run_id, at, close_reason, outcome, reason, error)


def _store_counts(record) -> dict[str, int]:
    if not isinstance(record, dict):
        return {}
    return {name: int(record[name]) for name in REPORTED_COUNTS
            if isinstance(record.get(name), (int, float))}


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

        last_runs: dict[str, RunRef] = {}
        # Newest first (a run still open by its start).
        runs = session.execute(
            select(CrawlRun.id, CrawlRun.spider, CrawlRun.started_at, CrawlRun.finished_at,
                   CrawlRun.close_reason, CrawlRun.stores, CrawlRun.stores_completed,
                   CrawlRun.store_stats)
            .where(CrawlRun.spider.in_(slugs))
            .order_by(sa_func.coalesce(CrawlRun.finished_at, CrawlRun.started_at).desc(),
                      CrawlRun.id.desc()))
        for run_id, spider, started_at, finished_at, reason, run_stores, completed, \
                store_stats in runs:
            chain_stores = stores[spider]
            last_runs.setdefault(spider, RunRef(run_id, finished_at or started_at, reason))
            for code in dict.fromkeys([*(run_stores or []), *(completed or []),
                                       *(store_stats or {})]):
                store = chain_stores.get(code)
                if store is None or store.last_success is not None:
                    continue
                ref = _store_outcome(run_id, finished_at or started_at, reason, code,
                                     completed, store_stats)
                if store.last_attempt is None:
                    store.last_attempt = ref
                if ref.outcome == COMPLETED:
                    store.last_success = ref
                    store.counts = _store_counts((store_stats or {}).get(code))

        zones = _read_zones(session, slugs, stores)

    reports = []
    for chain in chains:
        chain_stores = stores[chain.slug]
        for store in chain_stores.values():
            if store.last_success is None and store.last_attempt is None \
                    and store.last_crawled_at is not None:
                store.last_success = RunRef(None, store.last_crawled_at, None)
            at = store.last_success.at if store.last_success is not None else None
            store.fresh = at is not None and at >= cutoff
        for store in chain_stores.values():
            representative = chain_stores.get(store.inferred_from)
            if representative is not None and not store.fresh:
                store.fresh = (representative.fresh and store.zone_verified_at is not None
                               and store.zone_verified_at >= cutoff)
        reports.append(ChainReport(chain, list(chain_stores.values()),
                                   last_runs.get(chain.slug), zones.get(chain.slug, 0)))
    return reports


def _read_zones(session, slugs: list[str],
                stores: dict[str, dict[str, StoreReport]]) -> dict[str, int]:
    """Sets each store's zone, representative and basket check; the zones per chain."""
    member, representative = aliased(Store), aliased(Store)
    rows = session.execute(
        select(Company.slug, member.store_code, PriceZone.id, representative.store_code,
               PriceZoneMember.verified_at)
        .join(PriceZone, PriceZone.id == PriceZoneMember.zone_id)
        .join(Company, Company.id == PriceZone.company_id)
        .join(member, member.id == PriceZoneMember.store_id)
        .outerjoin(representative, representative.id == PriceZone.representative_store_id)
        .where(Company.slug.in_(slugs))).all()
    zones: dict[str, set[int]] = {}
    for slug, code, zone, representative_code, verified_at in rows:
        zones.setdefault(slug, set()).add(zone)
        store = stores[slug].get(code)
        if store is None:
            continue
        store.zone, store.zone_verified_at = zone, verified_at
        if representative_code not in (None, code):
            store.inferred_from = representative_code
    return {slug: len(ids) for slug, ids in zones.items()}
