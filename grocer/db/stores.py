"""Companies, divisions and stores: idempotent bulk loading and the queries spiders need."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from grocer.db.engine import session_scope
from grocer.db.models import Company, Division, Store
from grocer.storelist import StoreList, company_display_name

STORE_FIELDS = ("site_store_id", "name", "address", "suburb", "state", "postcode",
                "latitude", "longitude", "division_id")


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


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


def load_stores(engine: Engine, store_list: StoreList) -> LoadResult:
    """Insert new stores, update changed ones, leave the rest: loading twice changes nothing."""
    result = LoadResult()
    with session_scope(engine) as session:
        companies = {name: ensure_company(session, name, template)
                     for name, template in store_list.companies.items()}
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
            elif any(getattr(store, name) != values[name] for name in STORE_FIELDS):
                updates.append({"id": store.id, **values})
            else:
                result.unchanged += 1
        if inserts:
            session.execute(insert(Store), inserts)
        if updates:
            session.execute(update(Store), updates)
        result.created, result.updated = len(inserts), len(updates)
    return result


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
