"""Which stores a crawl visits (`-a stores=`), and marking them crawled.

Store codes are exactly those loaded by `scrapy loadstores` (`G102`, `COL:401`, `1147`, IGA
`19587`). The site of a chain may want another id than the code: Coles wants the number of
`COL:401`, IGA its retailer store id (`Store.site_store_id`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from grocer.chains import Chain
from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, Store
from grocer.db.stores import StoreDirectory

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


def _stores_query(chain: Chain):
    query = select(Store).join(Company, Store.company_id == Company.id).where(
        Company.slug == chain.slug, Store.closed_at.is_(None))
    if chain.supermarket_divisions:
        query = query.join(Division, Store.division_id == Division.id).where(
            Division.name.in_(chain.supermarket_divisions))
    if chain.needs_site_store_id:
        query = query.where(Store.site_store_id.is_not(None), Store.site_store_id != "")
    return query


def _parse_stalest(spec: str) -> int:
    try:
        count = int(spec.split(":", 1)[1])
    except ValueError:
        count = 0
    if count < 1:
        raise StoreSelectionError(f"stores={spec!r}: expected stalest:N with N a positive number")
    return count


def select_stores(engine: Engine, chain: Chain, spec: str | None) -> list[StoreTarget]:
    """The stores named by `spec`, in crawl order.

    None/"" → the chain's default store; "all" → its supermarkets that are not closed;
    "stalest:N" → the N of those crawled longest ago (never crawled first); otherwise
    comma-separated store codes (a closed one with a warning).
    """
    spec = (spec or "").strip()
    with session_scope(engine) as session:
        if spec.lower() == "all" or spec.lower().startswith("stalest:"):
            query = _stores_query(chain)
            if spec.lower() == "all":
                query = query.order_by(Store.id)
            else:
                # NULL first on every backend (MySQL has no NULLS FIRST).
                query = query.order_by(Store.last_crawled_at.is_(None).desc(),
                                       Store.last_crawled_at, Store.id)
                query = query.limit(_parse_stalest(spec))
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
            first = session.scalars(_stores_query(chain).order_by(Store.id).limit(1)).first()
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


def stores_by_site_id(engine: Engine, chain: Chain) -> dict[str, StoreTarget]:
    """The chain's open stores by the id its site uses (leading zeros dropped)."""
    with session_scope(engine) as session:
        stores = list(session.scalars(_stores_query(chain)))
        targets = [(site_id_of(chain, s), s) for s in stores]
        return {site_id.strip().lstrip("0"): StoreTarget(s.id, s.store_code, site_id)
                for site_id, s in targets if site_id}


def mark_crawled(engine: Engine, finished: dict[int, dt.datetime]) -> None:
    """Set Store.last_crawled_at of completed stores: one batched UPDATE."""
    if not finished:
        return
    with session_scope(engine) as session:
        session.execute(update(Store), [
            {"id": store_id, "last_crawled_at": at} for store_id, at in finished.items()])
