"""Companies, divisions and stores: idempotent bulk loading (store lists and store-locator
sweeps) and the queries spiders need."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, Store
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
    company = session.scalar(select(Company).where(Company.slug == name.lower()))
    if company is None:
        company = Company(name=name, slug=name.lower(), image_url_template=image_url_template)
        session.add(company)
        session.flush()
    elif image_url_template and company.image_url_template != image_url_template:
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

    def company_id(self, slug: str) -> int:
        if slug not in self.companies:
            with session_scope(self.engine) as session:
                company = session.scalar(select(Company).where(Company.slug == slug))
                if company is None:
                    self.logger.warning("company %r is not in the database: created it "
                                        "(load the store list with `scrapy loadstores`)", slug)
                    company = ensure_company(session, company_display_name(slug))
                self.companies[slug] = company.id
        return self.companies[slug]

    def store_id(self, slug: str, store_code: str) -> int:
        key = (slug, store_code)
        if key not in self.stores:
            company_id = self.company_id(slug)
            with session_scope(self.engine) as session:
                store = session.scalar(select(Store).where(
                    Store.company_id == company_id, Store.store_code == store_code))
                if store is None:
                    self.logger.warning("store %s of %s is not in the database: created it",
                                        store_code, slug)
                    store = Store(company_id=company_id, store_code=store_code)
                    session.add(store)
                    session.flush()
                self.stores[key] = store.id
        return self.stores[key]
