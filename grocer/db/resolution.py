"""Product resolution in batches (DESIGN.md §2 "Resolve", spec §2.4 with the bugs of §6 fixed).

Order of evidence: barcode → (company, SKU string) → key → known key variations. A batch of
cleaned products is resolved with a handful of IN queries and written in one transaction:
new brands, products, SKUs and key variations, re-pointed SKUs, attached barcodes. What a batch
found or created enters the lookup caches only after its commit, so a later item carrying the
same barcode or SKU resolves to the same product (never a unique-constraint error), and a
rolled-back batch leaves no trace in them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.engine import Engine

from grocer.db.transactions import in_chunks, run_transaction
from grocer.db.models import Brand, Product, ProductKeyVariation, Sku
from grocer.db.search_index import insert_products
from grocer.db.upsert import insert_ignore
from grocer.normalization.text import search_words

logger = logging.getLogger(__name__)

# Bounded caches: a national crawl sees ~100k products; beyond that, evict the oldest.
CACHE_LIMIT = 500_000
# Cached products are re-checked against the database at most this often: another crawl's
# reconciliation may merge them away (a price written for one then fails its batch loudly).
VERIFY_EVERY_SECONDS = 60.0


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
    created: bool  # the first item of a product this batch created


@dataclass(eq=False)  # compared by identity: two staged products are never "equal"
class _NewProduct:
    """A product created in this batch, before it has an id."""

    values: dict
    id: int | None = None

    @property
    def key(self) -> str:
        return self.values["normalized_name_brand_size"]


@dataclass
class _Plan:
    """What one batch writes. Targets are product ids or _NewProducts."""

    new_products: list[_NewProduct] = field(default_factory=list)
    new_skus: dict[tuple[int, str], object] = field(default_factory=dict)
    repointed_skus: dict[tuple[int, str], object] = field(default_factory=dict)
    variations: dict[str, object] = field(default_factory=dict)
    barcodes: dict[int, str] = field(default_factory=dict)  # existing product → new barcode
    brand_links: dict[int, str] = field(default_factory=dict)  # existing product → brand
    # Brands a new product or a brand link needs: normalized → display name
    brand_names: dict[str, str] = field(default_factory=dict)
    # What earlier items of this batch resolved to: ("barcode", b) / ("sku", c, s) / ("key", k)
    staged: dict[tuple, object] = field(default_factory=dict)
    # Filled while writing, taken into the caches after the commit.
    brand_ids: dict[str, int] = field(default_factory=dict)
    new_infos: dict[int, ProductInfo] = field(default_factory=dict)
    barcode_conflicts: int = 0


def _same(a, b) -> bool:
    """Product ids compare by value, products staged in this batch by identity."""
    return a is b or (isinstance(a, int) and a == b)


def _id_of(target) -> int:
    return target.id if isinstance(target, _NewProduct) else target


class ProductResolver:
    def __init__(self, engine: Engine, cache_limit: int = CACHE_LIMIT):
        self.engine = engine
        self.by_barcode: dict[str, int] = BoundedCache(cache_limit)
        self.by_sku: dict[tuple[int, str], int] = BoundedCache(cache_limit)
        self.by_key: dict[str, int] = BoundedCache(cache_limit)
        self.products: dict[int, ProductInfo] = BoundedCache(cache_limit)
        self.barcode_conflicts = 0  # items whose barcode belongs to another product
        self.verified: set[int] = set()  # products checked to exist since verified_since
        self.verified_since = time.monotonic()
        # Ids found merged away by another writer (forget()), re-checked by the next batch.
        self.forgotten: set[int] = set()
        self._forgotten_lock = threading.Lock()

    # Threads: resolve_batch runs in one worker thread at a time and is the only writer of the
    # caches; resolve_cached (the event loop) only reads them, and answers only when they all
    # agree on a verified product, so a batch half-way through its updates makes it defer to a
    # batch, never answer wrongly. forget() may be called from any thread.

    def forget(self, product_ids) -> None:
        """These products are gone (merged away by another crawl's reconciliation): no item
        resolves to them from the caches again; the next batch drops them."""
        with self._forgotten_lock:
            self.forgotten |= set(product_ids)

    def reverify(self) -> None:
        """The batch thread: re-check every cached product at the next batch (a write named a
        product that is gone)."""
        self.verified.clear()

    def resolve_cached(self, product: dict, company_id: int) -> Resolution | None:
        """The resolution of an item the caches fully explain and that has nothing to write
        (the steady state of a re-crawl): no database round trip. None: resolve it in a batch."""
        if time.monotonic() - self.verified_since > VERIFY_EVERY_SECONDS:
            return None  # time to re-check the cached products: the next batch does
        barcode, sku = product.get("barcode"), product.get("sku")
        by_barcode = self.by_barcode.get(barcode) if barcode else None
        by_sku = self.by_sku.get((company_id, sku)) if sku else None
        by_key = self.by_key.get(product["normalized_name_brand_size"])
        target = by_barcode or by_sku or by_key
        info = self.products.get(target)
        if (target not in self.verified or info is None or target in self.forgotten
                or (barcode and by_barcode != target)  # a barcode to attach, or a conflict
                or (sku and by_sku != target)  # an SKU to link or re-point
                or by_key is None  # a key to learn
                or (product.get("normalized_brand") and info.brand_id is None)):
            return None
        return Resolution(target, info.key, created=False)

    # -- lookups ---------------------------------------------------------------------------

    def _prefetch(self, connection: Connection, products: list[dict], company_ids: list[int]):
        """Make the caches right for everything this batch mentions, with a few IN queries:
        cached products are checked to still exist (another crawl's reconciliation may have
        merged them away), then what is not cached is looked up."""
        lookups = [(self.by_barcode, {p["barcode"] for p in products if p.get("barcode")}),
                   (self.by_sku, {(c, p["sku"]) for p, c in zip(products, company_ids, strict=False)
                                  if p.get("sku")}),
                   (self.by_key, {p["normalized_name_brand_size"] for p in products})]
        cached = {cache[value] for cache, values in lookups for value in values if value in cache}
        unverified = {pid for pid in cached if pid not in self.verified or pid not in self.products}
        gone = unverified - self._load_products(connection, unverified)
        if gone:
            for cache, values in lookups:
                for value in values:
                    if cache.get(value) in gone:
                        del cache[value]
        barcodes, skus, keys = (values - cache.keys() for cache, values in lookups)
        found: set[int] = set()
        for chunk in in_chunks(sorted(barcodes)):
            for pid, barcode in connection.execute(
                    select(Product.id, Product.barcode).where(Product.barcode.in_(chunk))):
                self.by_barcode[barcode] = pid
                found.add(pid)
        for company_id in {c for c, _ in skus}:
            wanted = sorted(sku for c, sku in skus if c == company_id)
            for chunk in in_chunks(wanted):
                for sku, pid in connection.execute(select(Sku.sku, Sku.product_id).where(
                        Sku.company_id == company_id, Sku.sku.in_(chunk))):
                    self.by_sku[(company_id, sku)] = pid
                    found.add(pid)
        for chunk in in_chunks(sorted(keys)):
            for pid, key in connection.execute(select(
                    Product.id, Product.normalized_name_brand_size).where(
                    Product.normalized_name_brand_size.in_(chunk))):
                self.by_key[key] = pid
                found.add(pid)
        # A key learned as a variation resolves to its product (spec §6.2.7 fixed).
        for chunk in in_chunks(sorted(keys - self.by_key.keys())):
            for key, pid in connection.execute(select(
                    ProductKeyVariation.key, ProductKeyVariation.product_id).where(
                    ProductKeyVariation.key.in_(chunk))):
                self.by_key[key] = pid
                found.add(pid)
        self._load_products(connection, found - self.products.keys())

    def _load_products(self, connection: Connection, ids: set[int]) -> set[int]:
        """(Re)load the ProductInfo of `ids`; returns the ids that exist (now verified)."""
        loaded = set()
        for chunk in in_chunks(sorted(ids)):
            for pid, key, barcode, brand_id in connection.execute(select(
                    Product.id, Product.normalized_name_brand_size, Product.barcode,
                    Product.brand_id).where(Product.id.in_(chunk))):
                self.products[pid] = ProductInfo(key, barcode, brand_id)
                loaded.add(pid)
        self.verified |= loaded
        return loaded

    # -- resolution ------------------------------------------------------------------------

    def resolve_batch(self, products: list[dict], company_ids: list[int],
                      company_slugs: list[str]) -> list[Resolution]:
        """Resolve (and create where needed) every product of a batch in one transaction; a
        deadlock or lock timeout retries the whole batch from fresh data."""

        self._expire_verified()

        def work(session):
            connection = session.connection()
            self._prefetch(connection, products, company_ids)
            plan = _Plan()
            targets = [self._decide(plan, product, company_id, slug)
                       for product, company_id, slug in zip(products, company_ids, company_slugs, strict=False)]
            self._write(connection, plan)
            return plan, targets

        plan, targets = run_transaction(self.engine, work)
        self._remember(plan, products, company_ids, targets)
        resolutions, counted = [], set()
        for target in targets:
            created = isinstance(target, _NewProduct) and target.id not in counted
            pid = _id_of(target)
            counted.add(pid)
            resolutions.append(Resolution(pid, self.products[pid].key, created))
        return resolutions

    def _expire_verified(self) -> None:
        """Cached products are re-checked against the database every VERIFY_EVERY_SECONDS,
        and those another writer found gone at once."""
        if time.monotonic() - self.verified_since > VERIFY_EVERY_SECONDS:
            self.verified.clear()
            self.verified_since = time.monotonic()
        with self._forgotten_lock:  # unverified before they leave `forgotten`: no gap
            self.verified -= self.forgotten
            self.forgotten = set()

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
        by_barcode, by_sku, by_key = self._lookup(plan, product, company_id)
        target = by_barcode or by_sku or by_key
        barcode, sku = product.get("barcode"), product.get("sku")
        key = product["normalized_name_brand_size"]
        brand = product.get("normalized_brand")
        if target is None:
            target = _NewProduct(_product_values(product, company_slug))
            plan.new_products.append(target)
        target_key = target.key if isinstance(target, _NewProduct) else self.products[target].key
        if key != target_key and by_key is None:
            plan.variations.setdefault(key, target)  # learned: this key means that product
        if isinstance(target, int):
            info = self.products[target]
            if barcode and not info.barcode and by_barcode is None and target not in plan.barcodes:
                plan.barcodes[target] = barcode
            if brand and info.brand_id is None and target not in plan.brand_links:
                plan.brand_links[target] = brand
                plan.brand_names.setdefault(brand, product.get("brand") or brand)
        elif brand and "_brand" not in target.values:
            target.values["_brand"] = brand
            plan.brand_names.setdefault(brand, product.get("brand") or brand)
        if sku:
            sku_key = (company_id, sku)
            if by_sku is None or sku_key in plan.new_skus:
                plan.new_skus[sku_key] = target
            elif not _same(by_sku, target):
                # Barcode and SKU disagree: the barcode wins and the SKU follows it.
                plan.repointed_skus[sku_key] = target
            plan.staged[("sku", company_id, sku)] = target
        if barcode and by_barcode is None:
            if isinstance(target, _NewProduct) and target.values["barcode"] is None:
                target.values["barcode"] = barcode
            if (isinstance(target, _NewProduct) and target.values["barcode"] == barcode) or \
                    plan.barcodes.get(target) == barcode:
                plan.staged[("barcode", barcode)] = target
            else:
                plan.barcode_conflicts += 1  # the product already has another barcode
        plan.staged.setdefault(("key", key), target)
        return target

    # -- writing ---------------------------------------------------------------------------

    def _write(self, connection: Connection, plan: _Plan) -> None:
        self._write_brands(connection, plan)
        if plan.new_products:
            rows = []
            for new in plan.new_products:
                values = dict(new.values)
                brand = values.pop("_brand", None)
                values["brand_id"] = plan.brand_ids.get(brand) if brand else None
                rows.append(values)
            insert_products(connection, insert_ignore(connection, Product), rows)
            self._collect_new_ids(connection, plan)
        if plan.barcodes:
            connection.execute(
                update(Product).where(Product.id == bindparam("pid"), Product.barcode.is_(None))
                .values(barcode=bindparam("new_barcode")),
                [{"pid": pid, "new_barcode": bc} for pid, bc in plan.barcodes.items()])
        links = {pid: plan.brand_ids[name] for pid, name in plan.brand_links.items()
                 if name in plan.brand_ids}
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
                [{"cid": c, "s": s, "pid": _id_of(t)}
                 for (c, s), t in plan.repointed_skus.items()])
        variations = [{"key": key, "product_id": _id_of(target)}
                      for key, target in plan.variations.items()]
        if variations:
            connection.execute(insert_ignore(connection, ProductKeyVariation), variations)

    def _write_brands(self, connection: Connection, plan: _Plan) -> None:
        """Ids of the batch's brands, created where missing. Read every batch rather than
        cached: another crawl's reconciliation may have merged a brand away."""
        self._find_brands(connection, plan)
        missing = sorted(set(plan.brand_names) - plan.brand_ids.keys())
        if missing:
            connection.execute(insert_ignore(connection, Brand), [
                {"name": plan.brand_names[n], "normalized_name": n,
                 "name_variations": [plan.brand_names[n]], "normalized_name_variations": [n]}
                for n in missing])
            self._find_brands(connection, plan)

    @staticmethod
    def _find_brands(connection: Connection, plan: _Plan) -> None:
        for chunk in in_chunks(sorted(set(plan.brand_names) - plan.brand_ids.keys())):
            plan.brand_ids.update(connection.execute(
                select(Brand.normalized_name, Brand.id).where(
                    Brand.normalized_name.in_(chunk))).all())

    def _collect_new_ids(self, connection: Connection, plan: _Plan) -> None:
        """Ids of the products just inserted, found by key (or by barcode when another crawl
        inserted the same barcode under a different key first)."""
        by_key = {new.key: new for new in plan.new_products}
        for chunk in in_chunks(sorted(by_key)):
            for pid, key in connection.execute(select(
                    Product.id, Product.normalized_name_brand_size).where(
                    Product.normalized_name_brand_size.in_(chunk))):
                by_key[key].id = pid
        lost = {new.values["barcode"]: new for new in plan.new_products
                if new.id is None and new.values.get("barcode")}
        for chunk in in_chunks(sorted(lost)):
            for pid, barcode in connection.execute(select(Product.id, Product.barcode).where(
                    Product.barcode.in_(chunk))):
                lost[barcode].id = pid
        unresolved = [new.key for new in plan.new_products if new.id is None]
        if unresolved:
            raise RuntimeError(f"products could not be created or found: {unresolved[:5]}")
        ids = sorted({new.id for new in plan.new_products})
        for chunk in in_chunks(ids):
            for pid, key, barcode, brand_id in connection.execute(select(
                    Product.id, Product.normalized_name_brand_size, Product.barcode,
                    Product.brand_id).where(Product.id.in_(chunk))):
                plan.new_infos[pid] = ProductInfo(key, barcode, brand_id)

    def _remember(self, plan: _Plan, products, company_ids, targets) -> None:
        """After the commit: what the batch wrote becomes what the caches know."""
        self.products.update(plan.new_infos)
        self.verified.update(plan.new_infos)
        self.barcode_conflicts += plan.barcode_conflicts
        for pid, barcode in plan.barcodes.items():
            self.products[pid].barcode = barcode
        for pid, name in plan.brand_links.items():
            if name in plan.brand_ids:
                self.products[pid].brand_id = plan.brand_ids[name]
        for (company_id, sku), target in (plan.new_skus | plan.repointed_skus).items():
            self.by_sku[(company_id, sku)] = _id_of(target)
        for key, target in plan.variations.items():
            self.by_key[key] = _id_of(target)
        for product, target in zip(products, targets, strict=False):
            pid = _id_of(target)
            info = self.products[pid]
            if product.get("barcode") and info.barcode == product["barcode"]:
                self.by_barcode[product["barcode"]] = pid
            self.by_key[info.key] = pid


def missing_products(engine: Engine, product_ids) -> set[int]:
    """Which of these product ids no longer exist (merged away, deleted)."""
    ids = set(product_ids)
    with engine.connect() as connection:
        for chunk in in_chunks(sorted(ids)):
            ids -= set(connection.scalars(select(Product.id).where(Product.id.in_(chunk))))
    return ids


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
        "search_text": search_words(product["name"], brand),
    }
