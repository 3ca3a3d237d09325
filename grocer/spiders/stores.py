"""Which stores a crawl visits (`-a stores=`), and marking them crawled.

`lease:N` takes the N stalest eligible stores no other crawl holds (grocer.db.stores
.lease_stores) and holds them until the crawl closes: any number of crawls, on any number of
scrapyd nodes, started with the same arguments, share out the chain's stores.

Store codes are exactly those loaded by `scrapy loadstores` (`G102`, `COL:401`, `1147`, IGA
`19587`). The site of a chain may want another id than the code: Coles wants the number of
`COL:401`, IGA its retailer store id (`Store.site_store_id`).

`scrapy` imports every module of grocer.spiders to list the spiders: this one imports the
database modules (SQLAlchemy) only when a crawl selects its stores (start-up time).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from grocer.chains import Chain
from grocer.normalization.dates import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from grocer.db.models import Store

logger = logging.getLogger(__name__)


class StoreSelectionError(ValueError):
    """An argument that names no store to crawl: the crawl does not start."""


@dataclass(frozen=True)
class StoreTarget:
    id: int  # Store.id
    code: str  # the store code, as loaded
    site_id: str  # what the chain's site calls the store


def site_id_of(chain: Chain, store: Store) -> str | None:
    if store.site_store_id:
        return store.site_store_id
    if chain.needs_site_store_id:
        return None
    return store.store_code.rsplit(":", 1)[-1]  # COL:401 -> 401; G102 and 1147 as they are


def stores_query(chain: Chain):
    from sqlalchemy import select

    from grocer.db.models import Company, Division, Store

    query = select(Store).join(Company, Store.company_id == Company.id).where(
        Company.slug == chain.slug, Store.closed_at.is_(None))
    if chain.supermarket_divisions:
        query = query.join(Division, Store.division_id == Division.id).where(
            Division.name.in_(chain.supermarket_divisions))
    if chain.needs_site_store_id:
        query = query.where(Store.site_store_id.is_not(None), Store.site_store_id != "")
    return query


def _parse_count(spec: str) -> int:
    """N of stalest:N / lease:N."""
    kind, _, text = spec.partition(":")
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise StoreSelectionError(
            f"stores={spec!r}: expected {kind.lower()}:N with N a positive number")
    return count


def is_lease(spec: str | None) -> bool:
    return (spec or "").strip().lower().startswith("lease:")


@dataclass
class StoreLease:
    """The stores a crawl leased: renewed while it runs, released when it closes. A crawl that
    is killed renews nothing, so its lease expires after `seconds` and others take its stores."""

    engine: Engine
    seconds: float  # GROCER_LEASE_SECONDS
    recrawl_hours: float  # GROCER_LEASE_RECRAWL_HOURS: a store crawled since is not leased
    holder: str = field(default_factory=lambda: lease_holder())
    held: list[int] = field(default_factory=list)

    @classmethod
    def for_crawler(cls, crawler, engine: Engine) -> StoreLease:
        from scrapy import signals

        lease = cls(engine, crawler.settings.getfloat("GROCER_LEASE_SECONDS"),
                    crawler.settings.getfloat("GROCER_LEASE_RECRAWL_HOURS"))
        # A strong reference: the signal is what keeps the lease alive until the crawl closes.
        crawler.signals.connect(lease.close, signal=signals.spider_closed, weak=False)
        return lease

    def take(self, chain: Chain, count: int) -> list[int]:
        from grocer.db.stores import lease_stores

        crawled_before = utcnow() - dt.timedelta(hours=self.recrawl_hours)
        self.held += lease_stores(self.engine, stores_query(chain), count, self.holder,
                                  self.seconds, crawled_before)
        logger.info("leased %d of the %d stalest %s stores for %s (lease %s s)",
                    len(self.held), count, chain.name, self.holder, f"{self.seconds:g}")
        return self.held

    def start_renewing(self, spider=None) -> None:
        if not self.held:
            return
        from twisted.internet import task, threads

        self.renewal = task.LoopingCall(threads.deferToThread, self.renew)
        self.renewal.start(self.seconds / 3, now=False)

    def renew(self) -> None:
        from grocer.db.stores import renew_leases

        try:
            kept = renew_leases(self.engine, self.holder, self.seconds)
        except Exception:  # the next renewal may get through; the lease lasts until then
            logger.exception("could not renew the store lease of %s", self.holder)
            return
        if kept < len(self.held):
            logger.error("%s holds %d of its %d leased stores: the lease expired (was the "
                         "crawl stalled longer than GROCER_LEASE_SECONDS?)", self.holder, kept,
                         len(self.held))

    async def close(self, spider=None, reason=None) -> None:
        renewal = getattr(self, "renewal", None)
        if renewal is not None and renewal.running:
            renewal.stop()
        if self.held:
            import asyncio

            from grocer.db.stores import release_leases

            # Off the reactor: the lease table is the database's.
            released = await asyncio.to_thread(release_leases, self.engine, self.holder)
            logger.info("released the lease of %d stores (%s)", released, self.holder)
            self.held = []


def lease_holder() -> str:
    """Who holds a lease: host, process and the scrapyd job (or a random id)."""
    job = os.environ.get("SCRAPY_JOB") or uuid.uuid4().hex[:12]
    return f"{socket.gethostname()}:{os.getpid()}:{job}"[:100]


def select_stores(engine: Engine, chain: Chain, spec: str | None,
                  lease: StoreLease | None = None) -> list[StoreTarget]:
    """The stores named by `spec`, in crawl order.

    None/"" → the chain's default store; "all" → its supermarkets that are not closed;
    "stalest:N" → the N of those crawled longest ago (never crawled first); "lease:N" → the
    same, leased through `lease` (none another crawl holds); otherwise comma-separated store
    codes (a closed one with a warning).
    """
    from sqlalchemy import select

    from grocer.db.engine import session_scope
    from grocer.db.models import Company, Store
    from grocer.db.stores import StoreDirectory, stalest_first

    spec = (spec or "").strip()
    kind = spec.lower().partition(":")[0]
    if kind == "lease":
        if lease is None:
            raise StoreSelectionError(f"stores={spec}: this command cannot lease stores")
        leased = lease.take(chain, _parse_count(spec))
        if not leased:
            logger.warning("stores=%s: every %s store is leased by another crawl or was "
                           "crawled in the last GROCER_LEASE_RECRAWL_HOURS: nothing to do",
                           spec, chain.name)
            return []
    with session_scope(engine) as session:
        if kind in ("all", "stalest", "lease"):
            query = stores_query(chain)
            if kind == "all":
                query = query.order_by(Store.id)
            else:
                query = stalest_first(query)
                query = (query.where(Store.id.in_(leased)) if kind == "lease"
                         else query.limit(_parse_count(spec)))
            stores = list(session.scalars(query))
            if not stores:
                raise StoreSelectionError(
                    f"stores={spec}: no {chain.name} stores in the database; "
                    "load the store list with `scrapy loadstores FILE`")
            return [StoreTarget(s.id, s.store_code, site_id_of(chain, s)) for s in stores]
        if spec:
            codes = list(dict.fromkeys(code.strip() for code in spec.split(",") if code.strip()))
        elif chain.default_store:
            codes = [chain.default_store]
        else:
            first = session.scalars(stores_query(chain).order_by(Store.id).limit(1)).first()
            if first is None:
                raise StoreSelectionError(
                    f"no {chain.name} store with a site id in the database; load the store "
                    "list with `scrapy loadstores FILE` or pass -a stores=CODE")
            codes = [first.store_code]
        found = {s.store_code: s for s in session.scalars(
            select(Store).join(Company, Store.company_id == Company.id).where(
                Company.slug == chain.slug, Store.store_code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if not spec and unknown:
        # Zero set-up: the default store works before any store list is loaded.
        directory = StoreDirectory(engine, logger)
        directory.store_id(chain.slug, chain.default_store)
        with session_scope(engine) as session:
            found[chain.default_store] = session.get(
                Store, directory.stores[(chain.slug, chain.default_store)])
        unknown = []
    if unknown:
        raise StoreSelectionError(
            f"unknown {chain.name} store code(s): {', '.join(unknown)}. Codes are those of the "
            "store list loaded with `scrapy loadstores` (e.g. Aldi G102, Coles COL:401, "
            "Woolworths 1147, IGA 19587)")
    targets = []
    for code in codes:
        if found[code].closed_at is not None:
            logger.warning("store %s of %s is closed (no longer listed by its store locator "
                           "since %s): crawled because it was named", code, chain.name,
                           found[code].closed_at.date())
        site_id = site_id_of(chain, found[code])
        if site_id is None:
            logger.warning("store %s of %s has no site store id: skipped", code, chain.name)
            continue
        targets.append(StoreTarget(found[code].id, code, site_id))
    if not targets:
        raise StoreSelectionError(f"none of the stores {', '.join(codes)} can be crawled: "
                                  "no site store id")
    return targets
