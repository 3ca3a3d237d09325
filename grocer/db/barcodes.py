"""Coles barcodes (spec §1.4 phase 2): which Coles products still need one, and writing them.

Coles' browse data has no barcode; the product page states its GTIN. A product whose page has
no valid GTIN is flagged `has_no_coles_barcode` so it is not fetched again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Engine

from grocer.db.engine import engine_from_settings, session_scope
from grocer.db.models import Company, Product, Sku


@dataclass(frozen=True)
class BarcodeCandidate:
    product_id: int
    sku: str
    url: str | None
    name: str


@dataclass
class BarcodeWriteResult:
    written: int = 0
    marked_missing: int = 0
    # (product id, barcode, id of the product that already has it): the same product twice,
    # for the reconciler to merge; nothing is written for these.
    conflicts: list[tuple[int, str, int]] = field(default_factory=list)


def coles_products_needing_barcode(engine: Engine, after_product_id: int = 0,
                                   limit: int = 500) -> list[BarcodeCandidate]:
    """Up to `limit` Coles products without a barcode and not flagged, by product id (keyset
    paging: pass the last id of the previous chunk)."""
    query = (
        select(Product.id, Sku.sku, Product.url, Product.name)
        .join(Sku, Sku.product_id == Product.id)
        .join(Company, Sku.company_id == Company.id)
        .where(Company.slug == "coles", Product.barcode.is_(None),
               Product.has_no_coles_barcode.is_(False), Product.id > after_product_id)
        .order_by(Product.id, Sku.id)
        .limit(limit)
    )
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    candidates: dict[int, BarcodeCandidate] = {}
    for product_id, sku, url, name in rows:  # a product with two Coles SKUs: the first
        candidates.setdefault(product_id, BarcodeCandidate(product_id, sku, url, name))
    return list(candidates.values())


def barcode_candidates(crawler, after_product_id: int, limit: int) -> list[BarcodeCandidate]:
    """The barcode phase's products (GROCER_BARCODE_CANDIDATES): the next `limit` after
    `after_product_id` in the crawl's database."""
    return coles_products_needing_barcode(engine_from_settings(crawler.settings),
                                          after_product_id, limit)


def write_coles_barcodes(engine: Engine, barcodes: dict[int, str],
                         missing: Iterable[int]) -> BarcodeWriteResult:
    """Set found barcodes and flag products without one: one batched UPDATE.

    Only products still without a barcode are touched. A barcode another product already has
    is not written (unique barcodes) but reported in `conflicts`.
    """
    result = BarcodeWriteResult()
    rows = []
    with session_scope(engine) as session:
        owners = dict(session.execute(
            select(Product.barcode, Product.id).where(Product.barcode.in_(set(barcodes.values())))
        ).all()) if barcodes else {}
        for product_id, barcode in barcodes.items():
            owner = owners.setdefault(barcode, product_id)
            if owner != product_id:
                result.conflicts.append((product_id, barcode, owner))
                continue
            rows.append({"pid": product_id, "new_barcode": barcode, "flag": False})
        result.written = len(rows)
        rows += [{"pid": product_id, "new_barcode": None, "flag": True}
                 for product_id in missing if product_id not in barcodes]
        result.marked_missing = len(rows) - result.written
        if rows:
            statement = (
                update(Product)
                .where(and_(Product.id == bindparam("pid"), Product.barcode.is_(None)))
                .values(barcode=bindparam("new_barcode"), has_no_coles_barcode=bindparam("flag"))
            )
            session.connection().execute(statement, rows)
    return result
