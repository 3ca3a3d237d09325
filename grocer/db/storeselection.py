"""Which stores a crawl visits (`-a stores=`): the SQL of the store directory (grocer.db.targets).

`lease:N` takes the N stalest eligible stores no other crawl holds (grocer.db.stores
.lease_stores) and holds them until the crawl closes: any number of crawls, on any number of
scrapyd nodes, started with the same arguments, share out the chain's stores.

Store codes are exactly those loaded by `scrapy loadstores` (`G102`, `COL:401`, `1147`, IGA
`19587`). The site of a chain may want another id than the code: Coles wants the number of
`COL:401`, IGA its retailer store id (`Store.site_store_id`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from grocer.chains import Chain
from grocer.crawlstate import StoreSelectionError, StoreTarget
from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, Store
from grocer.db.stores import (StoreDirectory, lease_stores, release_leases, renew_leases,
                              stalest_first)
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)


def site_id_of(chain: Chain, store_code: str, site_store_id: str | None) -> str | None:
    """What the chain's site calls a store; None when it needs a site store id it has not."""
    if site_store_id:
        return site_store_id
    if chain.needs_site_store_id:
        return None
    return store_code.rsplit(":", 1)[-1]  # COL:401 -> 401; G102 and 1147 as they are


def target_of(chain: Chain, store: Store) -> StoreTarget | None:
    site_id = site_id_of(chain, store.store_code, store.site_store_id)
    return StoreTarget(store.id, store.store_code, site_id) if site_id else None


def stores_query(chain: Chain) -> Select:
    """The chain's crawlable stores: open supermarkets, with a site id where the site needs one."""
    query = select(Store).join(Company, Store.company_id == Company.id).where(
        Company.slug == chain.slug, Store.closed_at.is_(None))
    if chain.supermarket_divisions:
        query = query.join(Division, Store.division_id == Division.id).where(
            Division.name.in_(chain.supermarket_divisions))
    if chain.needs_site_store_id:
        query = query.where(Store.site_store_id.is_not(None), Store.site_store_id != "")
    return query


def stores_by_site_id(engine: Engine, chain: Chain) -> dict[str, StoreTarget]:
    """The chain's crawlable stores by the id its site uses, leading zeros dropped."""
    with session_scope(engine) as session:
        stores = list(session.scalars(stores_query(chain)))
    return {target.site_id.strip().lstrip("0"): target
            for store in stores if (target := target_of(chain, store))}


def parse_count(spec: str) -> int:
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


def lease_holder() -> str:
    """Who holds a lease: host, process and the scrapyd job (or a random id)."""
    job = os.environ.get("SCRAPY_JOB") or uuid.uuid4().hex[:12]
    return f"{socket.gethostname()}:{os.getpid()}:{job}"[:100]


@dataclass
class StoreLease:
    """The stores a crawl leased. Renewed while the crawl runs and released when it closes
    (grocer.db.targets schedules both); a crawl that is killed renews nothing, so its lease
    expires after `seconds` and others take its stores."""

    engine: Engine
    seconds: float  # GROCER_LEASE_SECONDS
    recrawl_hours: float  # GROCER_LEASE_RECRAWL_HOURS: a store crawled since is not leased
    holder: str = field(default_factory=lease_holder)
    held: list[int] = field(default_factory=list)

    def take(self, chain: Chain, count: int) -> list[int]:
        crawled_before = utcnow() - dt.timedelta(hours=self.recrawl_hours)
        self.held += lease_stores(self.engine, stores_query(chain), count, self.holder,
                                  self.seconds, crawled_before)
        logger.info("leased %d of the %d stalest %s stores for %s (lease %s s)",
                    len(self.held), count, chain.name, self.holder, f"{self.seconds:g}")
        return self.held

    def renew(self) -> None:
        try:
            kept = renew_leases(self.engine, self.holder, self.seconds)
        except Exception:  # the next renewal may get through; the lease lasts until then
            logger.exception("could not renew the store lease of %s", self.holder)
            return
        if kept < len(self.held):
            logger.error("%s holds %d of its %d leased stores: the lease expired (was the "
                         "crawl stalled longer than GROCER_LEASE_SECONDS?)", self.holder, kept,
                         len(self.held))

    def release(self) -> None:
        if self.held:
            released = release_leases(self.engine, self.holder)
            logger.info("released the lease of %d stores (%s)", released, self.holder)
            self.held = []


def select_stores(engine: Engine, chain: Chain, spec: str | None,
                  lease: StoreLease | None = None) -> list[StoreTarget]:
    """The stores named by `spec`, in crawl order.

    None/"" → the chain's default store; "all" → its supermarkets that are not closed;
    "stalest:N" → the N of those crawled longest ago (never crawled first); "lease:N" → the
    same, leased through `lease` (none another crawl holds); otherwise comma-separated store
    codes (a closed one with a warning).
    """
    spec = (spec or "").strip()
    kind = spec.lower().partition(":")[0]
    if kind == "lease":
        if lease is None:
            raise StoreSelectionError(f"stores={spec}: this command cannot lease stores")
        leased = lease.take(chain, parse_count(spec))
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
                         else query.limit(parse_count(spec)))
            stores = list(session.scalars(query))
            if not stores:
                raise StoreSelectionError(
                    f"stores={spec}: no {chain.name} stores in the database; "
                    "load the store list with `scrapy loadstores FILE`")
            return [target_of(chain, s) for s in stores]
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
        target = target_of(chain, found[code])
        if target is None:
            logger.warning("store %s of %s has no site store id: skipped", code, chain.name)
            continue
        targets.append(target)
    if not targets:
        raise StoreSelectionError(f"none of the stores {', '.join(codes)} can be crawled: "
                                  "no site store id")
    return targets
