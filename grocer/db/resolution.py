"""Product resolution in batches (DESIGN.md §2 "Resolve", spec §2.4 with the bugs of §6 fixed).

Order of evidence: barcode → (company, SKU string) → key → known key variations. A batch of
cleaned products is resolved with a handful of IN queries and written in one transaction:
new brands, products, SKUs and key variations, re-pointed SKUs, attached barcodes. Everything
found or created goes into the lookup caches at once, so a later item carrying the same barcode
or SKU resolves to the same product (never a unique-constraint error).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.engine import Engine

from grocer.db.models import Brand, Product, ProductKeyVariation, Sku
from grocer.db.upsert import insert_ignore

logger = logging.getLogger(__name__)

# Bounded caches: a national crawl sees ~100k products; beyond that, evict the oldest.
CACHE_LIMIT = 500_000


class BoundedCache(dict):
    """A dict that forgets its oldest entries past `limit` (insertion order)."""

    def __init__(self, limit: int = CACHE_LIMIT):
        super().__init__()
        self.limit = limit

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if len(self) > self.limit:
            for old in list(self.keys())[: self.limit // 10]:
                del self[old]


@dataclass
class ProductInfo:
    key: str
    barcode: str | None
    brand_id: int | None


@dataclass
class Resolution:
    product_id: int
    key: str  # the canonical product's key
    created: bool


@dataclass
class _NewProduct:
    """A product created in this batch, before it has an id."""

    values: dict
    id: int | None = None


@dataclass
class _Plan:
    """What one batch writes."""

    new_products: list[_NewProduct] = field(default_factory=list)
    new_skus: dict[tuple[int, str], object] = field(default_factory=dict)  # → id or _NewProduct
    repointed_skus: dict[tuple[int, str], int] = field(default_factory=dict)
    variations: dict[str, int] = field(default_factory=dict)
    barcodes: dict[int, str] = field(default_factory=dict)  # existing product → new barcode
    brand_links: dict[int, str] = field(default_factory=dict)  # existing product → brand
    brand_names: dict[str, str] = field(default_factory=dict)  # normalized → display name
    # What earlier items of this batch resolved to: ("barcode", b) / ("sku", c, s) / ("key", k)
    staged: dict[tuple, object] = field(default_factory=dict)


class ProductResolver:
    def __init__(self, engine: Engine, cache_limit: int = CACHE_LIMIT):
        self.engine = engine
        self.by_barcode: dict[str, int] = BoundedCache(cache_limit)
        self.by_sku: dict[tuple[int, str], int] = BoundedCache(cache_limit)
        self.by_key: dict[str, int] = BoundedCache(cache_limit)
        self.products: dict[int, ProductInfo] = BoundedCache(cache_limit)
        self.brands: dict[str, int] = BoundedCache(cache_limit)

    # -- lookups ---------------------------------------------------------------------------

    def _prefetch(self, connection: Connection, products: list[dict], company_ids: list[int]):
        """Fill the caches for everything this batch mentions: one IN query per kind."""
        barcodes = {p["barcode"] for p in products if p.get("barcode")} - self.by_barcode.keys()
        skus = {(c, p["sku"]) for p, c in zip(products, company_ids) if p.get("sku")}
        skus -= self.by_sku.keys()
        keys = {p["normalized_name_brand_size"] for p in products} - self.by_key.keys()
        found: set[int] = set()
        if barcodes:
            for pid, barcode in connection.execute(
                    select(Product.id, Product.barcode).where(Product.barcode.in_(barcodes))):
                self.by_barcode[barcode] = pid
                found.add(pid)
        for company_id in {c for c, _ in skus}:
            wanted = [sku for c, sku in skus if c == company_id]
            for sku, pid in connection.execute(select(Sku.sku, Sku.product_id).where(
                    Sku.company_id == company_id, Sku.sku.in_(wanted))):
                self.by_sku[(company_id, sku)] = pid
                found.add(pid)
        if keys:
            for pid, key in connection.execute(select(
                    Product.id, Product.normalized_name_brand_size).where(
                    Product.normalized_name_brand_size.in_(keys))):
                self.by_key[key] = pid
                found.add(pid)
            # A key learned as a variation resolves to its product (spec §6.2.7 fixed).
            for key, pid in connection.execute(select(
                    ProductKeyVariation.key, ProductKeyVariation.product_id).where(
                    ProductKeyVariation.key.in_(keys - self.by_key.keys()))):
                self.by_key[key] = pid
                found.add(pid)
        self._load_products(connection, found - self.products.keys())

    def _load_products(self, connection: Connection, ids: set[int]):
        if not ids:
            return
        for pid, key, barcode, brand_id in connection.execute(select(
                Product.id, Product.normalized_name_brand_size, Product.barcode,
                Product.brand_id).where(Product.id.in_(ids))):
            self.products[pid] = ProductInfo(key, barcode, brand_id)

    def _load_brands(self, connection: Connection, names: set[str]):
        missing = names - self.brands.keys()
        if missing:
            for bid, name in connection.execute(select(Brand.id, Brand.normalized_name).where(
                    Brand.normalized_name.in_(missing))):
                self.brands[name] = bid

    # -- resolution ------------------------------------------------------------------------

    def resolve_batch(self, products: list[dict], company_ids: list[int],
                      company_slugs: list[str]) -> list[Resolution]:
        """Resolve (and create where needed) every product of a batch; one transaction."""
        with self.engine.begin() as connection:
            self._prefetch(connection, products, company_ids)
            plan = _Plan()
            targets = [self._decide(plan, product, company_id, slug)
                       for product, company_id, slug in zip(products, company_ids, company_slugs)]
            self._write(connection, plan)
        # Only after the commit: a rolled-back batch must leave the caches untouched.
        self._remember(plan, products, company_ids, targets)
        resolutions = []
        for target in targets:
            pid = target.id if isinstance(target, _NewProduct) else target
            resolutions.append(Resolution(pid, self.products[pid].key,
                                          isinstance(target, _NewProduct)))
        return resolutions

    def _lookup(self, plan: _Plan, product: dict, company_id: int):
        """(by barcode, by SKU, by key), each a product id, a _NewProduct or None."""
        staged = plan.staged
        barcode, sku = product.get("barcode"), product.get("sku")
        key = product["normalized_name_brand_size"]
        by_barcode = (staged.get(("barcode", barcode)) or self.by_barcode.get(barcode)
                      if barcode else None)
        by_sku = (staged.get(("sku", company_id, sku)) or self.by_sku.get((company_id, sku))
                  if sku else None)
        by_key = staged.get(("key", key)) or self.by_key.get(key)
        return by_barcode, by_sku, by_key

    def _decide(self, plan: _Plan, product: dict, company_id: int, company_slug: str):
        staged = plan.staged
        by_barcode, by_sku, by_key = self._lookup(plan, product, company_id)
        target = by_barcode or by_sku or by_key
        barcode, sku = product.get("barcode"), product.get("sku")
        key = product["normalized_name_brand_size"]
        if target is None:
            target = _NewProduct(_product_values(product, company_slug))
            plan.new_products.append(target)
        elif isinstance(target, int):
            info = self.products[target]
            if key != info.key and by_key is None:
                plan.variations.setdefault(key, target)
            if barcode and not info.barcode and by_barcode is None and target not in plan.barcodes:
                plan.barcodes[target] = barcode
            if product.get("normalized_brand") and info.brand_id is None:
                plan.brand_links.setdefault(target, product["normalized_brand"])
        if sku:
            sku_key = (company_id, sku)
            if by_sku is None:
                plan.new_skus.setdefault(sku_key, target)
            elif not _same(by_sku, target) and _same(by_barcode, target):
                # Barcode and SKU disagree: the barcode wins and the SKU follows it.
                if isinstance(by_sku, int) and isinstance(target, int):
                    plan.repointed_skus[sku_key] = target
            staged[("sku", company_id, sku)] = target
        if isinstance(target, _NewProduct) and product.get("normalized_brand"):
            target.values.setdefault("_brand", product["normalized_brand"])
        if product.get("normalized_brand"):
            plan.brand_names.setdefault(product["normalized_brand"], product.get("brand") or
                                        product["normalized_brand"])
        if barcode and by_barcode is None and (
                isinstance(target, _NewProduct) or plan.barcodes.get(target) == barcode):
            staged[("barcode", barcode)] = target
            if isinstance(target, _NewProduct) and target.values["barcode"] is None:
                target.values["barcode"] = barcode
        staged.setdefault(("key", key), target)
        return target

    # -- writing ---------------------------------------------------------------------------

    def _write(self, connection: Connection, plan: _Plan) -> None:
        self._write_brands(connection, plan)
        if plan.new_products:
            rows = []
            for new in plan.new_products:
                values = dict(new.values)
                brand = values.pop("_brand", None)
                values["brand_id"] = self.brands.get(brand) if brand else None
                rows.append(values)
            connection.execute(insert_ignore(connection, Product), rows)
            self._collect_new_ids(connection, plan)
        if plan.barcodes:
            connection.execute(
                update(Product).where(Product.id == bindparam("pid"), Product.barcode.is_(None))
                .values(barcode=bindparam("new_barcode")),
                [{"pid": pid, "new_barcode": bc} for pid, bc in plan.barcodes.items()])
        links = {pid: self.brands[name] for pid, name in plan.brand_links.items()
                 if name in self.brands}
        if links:
            connection.execute(
                update(Product).where(Product.id == bindparam("pid"), Product.brand_id.is_(None))
                .values(brand_id=bindparam("bid")),
                [{"pid": pid, "bid": bid} for pid, bid in links.items()])
        if plan.new_skus:
            connection.execute(insert_ignore(connection, Sku), [
                {"company_id": c, "sku": s, "product_id": _id_of(t)}
                for (c, s), t in plan.new_skus.items()])
        if plan.repointed_skus:
            connection.execute(
                update(Sku).where(Sku.company_id == bindparam("cid"), Sku.sku == bindparam("s"))
                .values(product_id=bindparam("pid")),
                [{"cid": c, "s": s, "pid": pid} for (c, s), pid in plan.repointed_skus.items()])
        if plan.variations:
            connection.execute(insert_ignore(connection, ProductKeyVariation), [
                {"key": key, "product_id": pid} for key, pid in plan.variations.items()])

    def _write_brands(self, connection: Connection, plan: _Plan) -> None:
        names = set(plan.brand_names)
        self._load_brands(connection, names)
        missing = names - self.brands.keys()
        if missing:
            connection.execute(insert_ignore(connection, Brand), [
                {"name": plan.brand_names[n], "normalized_name": n, "name_variations":
                 [plan.brand_names[n]], "normalized_name_variations": [n]}
                for n in sorted(missing)])
            self._load_brands(connection, missing)

    def _collect_new_ids(self, connection: Connection, plan: _Plan) -> None:
        """Ids of the products just inserted, found by key (or by barcode when another crawl
        inserted the same barcode under a different key first)."""
        by_key = {new.values["normalized_name_brand_size"]: new for new in plan.new_products}
        for pid, key in connection.execute(select(
                Product.id, Product.normalized_name_brand_size).where(
                Product.normalized_name_brand_size.in_(by_key))):
            by_key[key].id = pid
        lost = {new.values["barcode"]: new for new in plan.new_products
                if new.id is None and new.values.get("barcode")}
        if lost:
            for pid, barcode in connection.execute(select(Product.id, Product.barcode).where(
                    Product.barcode.in_(lost))):
                lost[barcode].id = pid
        unresolved = [new.values["normalized_name_brand_size"] for new in plan.new_products
                      if new.id is None]
        if unresolved:
            raise RuntimeError(f"products could not be created or found: {unresolved[:5]}")
        self._load_products(connection, {new.id for new in plan.new_products})

    def _remember(self, plan: _Plan, products, company_ids, targets) -> None:
        for product, company_id, target in zip(products, company_ids, targets):
            pid = _id_of(target)
            info = self.products[pid]
            if plan.barcodes.get(pid):
                info.barcode = plan.barcodes[pid]
            if product.get("barcode") and info.barcode == product["barcode"]:
                self.by_barcode[product["barcode"]] = pid
            if product.get("sku"):
                self.by_sku[(company_id, product["sku"])] = pid
            self.by_key.setdefault(product["normalized_name_brand_size"], pid)
            self.by_key[info.key] = pid
        for pid, name in plan.brand_links.items():
            if pid in self.products and name in self.brands:
                self.products[pid].brand_id = self.products[pid].brand_id or self.brands[name]


def _same(a, b) -> bool:
    """Product ids compare by value, products staged in this batch by identity."""
    return a is b or (isinstance(a, int) and a == b)


def _id_of(target) -> int:
    return target.id if isinstance(target, _NewProduct) else target


def _product_values(product: dict, company_slug: str) -> dict:
    brand = product.get("brand")
    path = product.get("category_path")
    return {
        "name": product["name"],
        "size": (product.get("size") or None) and str(product["size"])[:100],
        "sizes": product.get("sizes") or [],
        "normalized_name_brand_size": product["normalized_name_brand_size"],
        "key_version": product.get("key_version", 1),
        "barcode": None,  # set by the first item of the batch that carries one
        "url": product.get("url"),
        "image_url": product.get("image_url"),
        "aldi_image_url": product.get("aldi_image_url"),
        "has_no_coles_barcode": bool(product.get("has_no_coles_barcode")),
        "brand_name_company_pairs": [[brand, company_slug]] if brand else [],
        "category_paths": [{"company": company_slug, "path": path}] if path else [],
    }
