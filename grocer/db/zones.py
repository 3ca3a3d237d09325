"""Price zones in the database: loading a chain's zones for a zone crawl, storing the night's
decisions, and the one query every reader of a store's prices goes through.

Storage (why no row per product per member store): a zone's prices are its representative's
`Price` rows. A member store has a `PriceZoneMember` row and, as its own `Price` rows, only its
*overrides* — basket products whose price differed from the representative's. Reading a store's
prices (`current_prices_query`) is its own rows plus, for a member, the representative's rows
of every product it has no own row for, marked `inferred_from` the representative (and
`zone_verified_at`, the member's last basket check). So a night writes the representatives'
prices (with their change-only history: once per zone), a membership row per store and a few
overrides — not the stores × products rows a copy per member would be.

Invariant kept by `record_decisions`: a member's own rows are overrides. A store joining a zone
loses its other own rows (they are stale copies of a full crawl); a member's basket product that
now matches the representative loses its override. History rows are never touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, delete, exists, null, select, union_all
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from grocer.chains import Chain
from grocer.crawlstate import StoreTarget
from grocer.db.engine import session_scope
from grocer.db.price_filters import filter_prices
from grocer.db.storeselection import site_id_of
from grocer.db.models import (Company, Price, PriceZone, PriceZoneMember, Product, Sku, Store,
                              UTCDateTime)
from grocer.db.transactions import in_chunks, run_transaction
from grocer.zones.discovery import JOINED, MOVED, STAYED, Decision, KnownZone


@dataclass(frozen=True)
class ChainZones:
    """A chain's price zones as a zone crawl plans with them (GROCER_ZONE_DIRECTORY)."""

    zones: list[KnownZone]
    # code → target of every crawlable representative: a member's representative is crawled
    # even when it was not selected.
    representatives: dict[str, StoreTarget]


def load_zones(engine: Engine, chain: Chain) -> ChainZones:
    """The chain's zones with their representative and members (store codes)."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(PriceZone.id, Store.store_code, Store.id, Store.site_store_id,
                   PriceZoneMember.store_id)
            .join(Company, Company.id == PriceZone.company_id)
            .outerjoin(Store, Store.id == PriceZone.representative_store_id)
            .outerjoin(PriceZoneMember, PriceZoneMember.zone_id == PriceZone.id)
            .where(Company.slug == chain.slug)).all()
        member_ids = {row[4] for row in rows if row[4] is not None}
        codes = {}
        for chunk in in_chunks(sorted(member_ids)):
            codes.update(session.execute(select(Store.id, Store.store_code).where(
                Store.id.in_(chunk))).tuples().all())
    zones: dict[int, tuple[str | None, set[str]]] = {}
    representatives: dict[str, StoreTarget] = {}
    for zone_id, rep_code, rep_id, rep_site_id, member_id in rows:
        _, members = zones.setdefault(zone_id, (rep_code, set()))
        if member_id is not None:
            members.add(codes[member_id])
        if rep_code is not None and (site_id := site_id_of(chain, rep_code, rep_site_id)):
            representatives[rep_code] = StoreTarget(rep_id, rep_code, site_id)
    return ChainZones([KnownZone(key, rep, frozenset(members))
                       for key, (rep, members) in sorted(zones.items())], representatives)


def record_decisions(engine: Engine, company: str, decisions: Iterable[Decision],
                     basket: Sequence[str], at: dt.datetime) -> dict[str, int]:
    """Store one night's decisions in one transaction: new zones, representatives, memberships
    (verified_at = `at`, the basket's slugs, the decision), and the overrides invariant.
    Returns {store code: zone id}."""
    decisions = list(decisions)

    def work(session) -> dict[str, int]:
        company_id = session.scalar(select(Company.id).where(Company.slug == company.lower()))
        codes = {d.store for d in decisions} | {d.representative for d in decisions}
        store_ids = dict(session.execute(select(Store.store_code, Store.id).where(
            Store.company_id == company_id, Store.store_code.in_(sorted(codes)))).all())
        zone_ids: dict[object, int] = {}
        for decision in decisions:
            key = decision.zone
            if key in zone_ids:
                continue
            if isinstance(key, int) and session.get(PriceZone, key) is not None:
                zone_ids[key] = key
            else:
                zone = PriceZone(company_id=company_id, created_at=at)
                session.add(zone)
                session.flush()
                zone_ids[key] = zone.id
        for key, zone_id in zone_ids.items():
            representative = next(d.representative for d in decisions if d.zone == key)
            zone = session.get(PriceZone, zone_id)
            if zone.representative_store_id != store_ids[representative]:
                demote_old_representative(session, zone, decisions)
            zone.representative_store_id = store_ids[representative]
            zone.verified_at, zone.basket = at, list(basket)
        ids = [store_ids[d.store] for d in decisions]
        for chunk in in_chunks(ids):
            session.execute(delete(PriceZoneMember).where(PriceZoneMember.store_id.in_(chunk)))
        session.add_all(PriceZoneMember(
            store_id=store_ids[d.store], zone_id=zone_ids[d.zone], joined_at=at,
            verified_at=at, basket=list(basket), decision=d.as_dict()) for d in decisions)
        session.flush()
        for decision in decisions:
            keep_only_overrides(session, company_id, store_ids[decision.store], decision)
        remove_empty_zones(session, company_id)
        return {d.store: zone_ids[d.zone] for d in decisions}

    return run_transaction(engine, work)


def demote_old_representative(session, zone: PriceZone, decisions: list[Decision]) -> None:
    """A zone's old representative not decided on tonight stays a member: its full-crawl rows
    would hide the new representative's prices, so they go (history stays)."""
    old = zone.representative_store_id
    if old is None:
        return
    decided = {d.store for d in decisions}
    code = session.scalar(select(Store.store_code).where(Store.id == old))
    member = session.get(PriceZoneMember, old)
    if code not in decided and member is not None and member.zone_id == zone.id:
        session.execute(delete(Price).where(Price.store_id == old))


def _product_ids(session, company_id: int, skus: Iterable[str]) -> list[int]:
    skus = sorted(skus)
    found: list[int] = []
    for chunk in in_chunks(skus):
        found += session.scalars(select(Sku.product_id).where(
            Sku.company_id == company_id, Sku.sku.in_(chunk))).all()
    return found


def keep_only_overrides(session, company_id: int, store_id: int, decision: Decision) -> None:
    if decision.action in (JOINED, MOVED):
        keep = _product_ids(session, company_id, decision.overrides)
        query = delete(Price).where(Price.store_id == store_id)
        if keep:
            query = query.where(Price.product_id.not_in(keep))
        session.execute(query)
    elif decision.action == STAYED and decision.matching:
        matching = _product_ids(session, company_id, decision.matching)
        for chunk in in_chunks(matching):
            session.execute(delete(Price).where(Price.store_id == store_id,
                                                Price.product_id.in_(chunk)))


def remove_empty_zones(session, company_id: int) -> None:
    session.execute(delete(PriceZone).where(
        PriceZone.company_id == company_id,
        ~exists().where(PriceZoneMember.zone_id == PriceZone.id)))


# --- reading --------------------------------------------------------------------------------

def current_prices_query(fields: Sequence[str], *, company: str | None = None,
                         store: str | None = None, product_key: str | None = None,
                         since: dt.date | None = None):
    """The current prices of stores as every reader sees them: a store's own rows
    (`inferred_from` None) and, for a zone member, its representative's rows of the products it
    has no own row for (`inferred_from` = the representative's code, `zone_verified_at` = the
    member's last basket check). `fields` names the columns: company, store_code, product_id,
    product_key, product_name, inferred_from, zone_verified_at, or a Price column."""
    def part(price, store_table, inferred_from, verified_at):
        columns = {
            "company": Company.slug, "store_code": store_table.store_code,
            "product_id": price.product_id, "product_key": Product.normalized_name_brand_size,
            "product_name": Product.name, "inferred_from": inferred_from,
            "zone_verified_at": verified_at,
        }
        return [(columns[name] if name in columns else getattr(price, name)).label(name)
                for name in fields]

    def filtered(query, price, store_table):
        return filter_prices(query, price, store_table, company=company, store=store,
                             product_key=product_key, since=since)

    own = filtered(
        select(*part(Price, Store, cast(null(), String(50)), cast(null(), UTCDateTime())))
        .join(Product, Product.id == Price.product_id)
        .join(Store, Store.id == Price.store_id)
        .join(Company, Company.id == Store.company_id), Price, Store)
    member, representative = aliased(Store), aliased(Store)
    override = aliased(Price)
    inferred = filtered(
        select(*part(Price, member, representative.store_code, PriceZoneMember.verified_at))
        .select_from(PriceZoneMember)
        .join(PriceZone, PriceZone.id == PriceZoneMember.zone_id)
        .join(Price, Price.store_id == PriceZone.representative_store_id)
        .join(member, member.id == PriceZoneMember.store_id)
        .join(representative, representative.id == PriceZone.representative_store_id)
        .join(Product, Product.id == Price.product_id)
        .join(Company, Company.id == member.company_id)
        .where(PriceZoneMember.store_id != PriceZone.representative_store_id,
               ~exists().where(and_(override.store_id == PriceZoneMember.store_id,
                                    override.product_id == Price.product_id))),
        Price, member)
    combined = union_all(own, inferred).subquery()
    order = [combined.c[name] for name in ("store_code", "product_id") if name in fields]
    return select(combined).order_by(*order)

