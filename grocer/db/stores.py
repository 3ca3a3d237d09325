"""Companies, divisions and stores: idempotent bulk loading (store lists and store-locator
sweeps) and the queries spiders need."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.engine import Engine

from grocer.db.engine import is_mysql, session_scope
from grocer.db.models import Company, Division, Store
from grocer.db.transactions import run_transaction
from grocer.db.upsert import find_or_insert
from grocer.normalization.dates import utcnow
from grocer.storelist import StoreList, company_display_name

STORE_FIELDS = ("site_store_id", "name", "address", "suburb", "state", "postcode",
                "latitude", "longitude", "division_id")


@dataclass(frozen=True)
class Sweep:
    """A store list holding every store a store locator lists of `company` (Company.name)
    within `divisions` (None: all of its stores). Its stores in that scope the list does not
    name are marked closed - unless that would close more than `max_closed_share` of them,
    which says more about the sweep than about the stores."""

    company: str
    divisions: tuple[str, ...] | None = None
    max_closed_share: float = 1.0


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reopened: int = 0  # listed again after being closed
    closed: int = 0  # not listed by a sweep: closed_at set
    close_refused: int = 0  # would have been closed, but over Sweep.max_closed_share


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.000001")) if value not in (None, "") else None
    except InvalidOperation:
        return None


def ensure_company(session, name: str, image_url_template: str | None = None) -> Company:
    slug = name.lower()
    company = find_or_insert(session, Company, {
        "name": name, "slug": slug, "image_url_template": image_url_template},
        Company.slug == slug)
    if image_url_template and company.image_url_template != image_url_template:
        company.image_url_template = image_url_template
    return company


def load_stores(engine: Engine, store_list: StoreList, sweep: Sweep | None = None) -> LoadResult:
    """Insert new stores, update changed ones, leave the rest: loading twice changes nothing.

    A listed store is open (a closed one is reopened). With `sweep`, the company's stores in
    the sweep's scope that the list does not name are closed, in the same transaction."""
    result = LoadResult()
    companies_wanted = dict(store_list.companies)
    if sweep is not None:
        companies_wanted.setdefault(sweep.company, None)
    with session_scope(engine) as session:
        companies = {name: ensure_company(session, name, template)
                     for name, template in companies_wanted.items()}
        divisions = {(d.company_id, d.name): d.id for d in session.scalars(select(Division))}
        for row in store_list.rows:
            key = (companies[row.company].id, row.division)
            if row.division and key not in divisions:
                division = Division(company_id=key[0], name=row.division)
                session.add(division)
                session.flush()
                divisions[key] = division.id
        existing = {(s.company_id, s.store_code): s for s in session.scalars(select(Store))}
        inserts, updates, seen = [], [], set()
        for row in store_list.rows:
            company_id = companies[row.company].id
            if (company_id, row.store_code) in seen:
                continue  # a list naming a store twice: the first row wins
            seen.add((company_id, row.store_code))
            values = {
                "site_store_id": row.site_store_id, "name": row.name, "address": row.address,
                "suburb": row.suburb, "state": row.state, "postcode": row.postcode,
                "latitude": _decimal(row.latitude), "longitude": _decimal(row.longitude),
                "division_id": divisions.get((company_id, row.division)),
            }
            store = existing.get((company_id, row.store_code))
            if store is None:
                inserts.append({"company_id": company_id, "store_code": row.store_code, **values})
            elif store.closed_at is not None:
                updates.append({"id": store.id, **values, "closed_at": None})
                result.reopened += 1
            elif any(getattr(store, name) != values[name] for name in STORE_FIELDS):
                updates.append({"id": store.id, **values})
                result.updated += 1
            else:
                result.unchanged += 1
        if sweep is not None:
            company_id = companies[sweep.company].id
            scope = [s for (cid, _), s in existing.items() if cid == company_id
                     and s.closed_at is None and _in_divisions(s, sweep, divisions, company_id)]
            unlisted = [s for s in scope if (company_id, s.store_code) not in seen]
            if unlisted and len(unlisted) > sweep.max_closed_share * len(scope):
                result.close_refused = len(unlisted)
            else:
                at = utcnow()
                updates.extend({"id": s.id, "closed_at": at} for s in unlisted)
                result.closed = len(unlisted)
        if inserts:
            session.execute(insert(Store), inserts)
        # Rows of one executemany must have the same columns.
        for columns in {frozenset(row) for row in updates}:
            session.execute(update(Store), [row for row in updates if frozenset(row) == columns])
        result.created = len(inserts)
    return result


def _in_divisions(store: Store, sweep: Sweep, divisions: dict, company_id: int) -> bool:
    """Whether a store is one the sweep looks for; a store of no division always is."""
    if sweep.divisions is None or store.division_id is None:
        return True
    return store.division_id in {divisions.get((company_id, name)) for name in sweep.divisions}


class StoreDirectory:
    """(company slug, store code) → ids, cached; unknown ones are created with a warning so an
    ingest into an empty database still lands (`scrapy loadstores` fills in the details)."""

    def __init__(self, engine: Engine, logger):
        self.engine = engine
        self.logger = logger
        self.companies: dict[str, int] = {}
        self.stores: dict[tuple[str, str], int] = {}

    # Concurrent crawls into an empty database create the same company (and, crawling one
    # store, the same store) at the same moment: a duplicate is found, never an error, and a
    # deadlock between them is retried.

    def company_id(self, slug: str) -> int:
        if slug not in self.companies:
            def find(session) -> int:
                company = session.scalar(select(Company).where(Company.slug == slug))
                if company is None:
                    self.logger.warning("company %r is not in the database: created it "
                                        "(load the store list with `scrapy loadstores`)", slug)
                    company = ensure_company(session, company_display_name(slug))
                return company.id

            self.companies[slug] = run_transaction(self.engine, find)
        return self.companies[slug]

    def store_id(self, slug: str, store_code: str) -> int:
        key = (slug, store_code)
        if key not in self.stores:
            company_id = self.company_id(slug)
            match = (Store.company_id == company_id, Store.store_code == store_code)

            def find(session) -> int:
                store = session.scalar(select(Store).where(*match))
                if store is None:
                    self.logger.warning("store %s of %s is not in the database: created it",
                                        store_code, slug)
                    store = find_or_insert(session, Store, {
                        "company_id": company_id, "store_code": store_code}, *match)
                return store.id

            self.stores[key] = run_transaction(self.engine, find)
        return self.stores[key]


# --- leases (-a stores=lease:N) ---------------------------------------------------------------

# How often a lease attempt that found every free store locked by a concurrent lease retries.
LEASE_ATTEMPTS = 200
LEASE_RETRY_SECONDS = 0.05


def lease_is_free(now: dt.datetime):
    return or_(Store.lease_holder.is_(None), Store.lease_expires_at.is_(None),
               Store.lease_expires_at < now)


def stalest_first(query):
    # NULL first on every backend (MySQL has no NULLS FIRST).
    return query.order_by(Store.last_crawled_at.is_(None).desc(), Store.last_crawled_at,
                          Store.id)


def lease_stores(engine: Engine, eligible: Select, count: int, holder: str, seconds: float,
                 crawled_before: dt.datetime | None = None) -> list[int]:
    """Lease to `holder` up to `count` of the stalest stores of `eligible` (a select of Store)
    that no live lease holds and that were not crawled since `crawled_before`; their ids.

    Each attempt is one short transaction: it reads the stalest free stores, then locks them
    by primary key - MariaDB with `SELECT … FOR UPDATE SKIP LOCKED` (READ COMMITTED, so leases
    committed a moment ago are seen), SQLite by its single writer lock - and the UPDATE takes
    only stores still free, so two crawls never hold one store. Stores a concurrent lease
    transaction has locked are skipped and the attempt is repeated until `count` are leased or
    no free store is left.
    """
    mysql = is_mysql(engine)
    leased: list[int] = []
    for _ in range(LEASE_ATTEMPTS):
        now = utcnow()
        free = eligible.where(lease_is_free(now))
        if crawled_before is not None:
            free = free.where(or_(Store.last_crawled_at.is_(None),
                                  Store.last_crawled_at < crawled_before))
        wanted = count - len(leased)
        with engine.connect() as plain:
            connection = (plain.execution_options(isolation_level="READ COMMITTED") if mysql
                          else plain)
            with connection.begin():
                pool = list(connection.scalars(
                    stalest_first(free.with_only_columns(Store.id)).limit(2 * wanted)))
                if not pool:
                    break
                locked = stalest_first(select(Store.id).where(
                    Store.id.in_(pool), lease_is_free(now))).limit(wanted)
                if mysql:
                    locked = locked.with_for_update(skip_locked=True)
                ids = list(connection.scalars(locked))
                if ids:
                    connection.execute(
                        update(Store).where(Store.id.in_(ids), lease_is_free(now))
                        .values(lease_holder=holder,
                                lease_expires_at=now + dt.timedelta(seconds=seconds)))
                    leased += connection.scalars(select(Store.id).where(
                        Store.id.in_(ids), Store.lease_holder == holder))
        if len(leased) >= count:
            break
        if not ids:  # every free store is being leased by another crawl right now
            time.sleep(LEASE_RETRY_SECONDS)
    return leased


def renew_leases(engine: Engine, holder: str, seconds: float) -> int:
    """Extend every lease `holder` still holds; how many it holds."""
    with session_scope(engine) as session:
        return session.execute(
            update(Store).where(Store.lease_holder == holder)
            .values(lease_expires_at=utcnow() + dt.timedelta(seconds=seconds))).rowcount


def release_leases(engine: Engine, holder: str) -> int:
    with session_scope(engine) as session:
        return session.execute(
            update(Store).where(Store.lease_holder == holder)
            .values(lease_holder=None, lease_expires_at=None)).rowcount
