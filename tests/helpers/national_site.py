"""A simulated national chain for the price-zone tests and benchmarks/zones.py: Aldi-shaped (the
real `aldi` spider crawls it), generated instead of read from fixture files.

`NationalSite.generate(...)` makes `stores` stores (codes Z001…) spread over `zones` price zones
(store i is in zone i % zones, so the first `zones` stores are the first of each), `leaves`
leaf categories — the Aldi basket's real slugs first, then filler ones — of
`products_per_leaf` products each. Zone z prices a product at its base price plus a zone
markup on about 70% of products. `plant_overrides` gives a few stores local prices on products
in the night's basket and outside it; `move(stores, zone)` is the zone change between two
nights. `truth(code, sku)` is the price the site charges, in dollars.

Served by the fixture server as it is: `FixtureSite.products` is the one hook overridden.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from grocer.spiders.aldi import AldiSpider
from grocer.storelist import StoreList, StoreRow
from tests.helpers.fixture_server import FixtureSite

BASKET = AldiSpider.price_basket
# The basket's slugs, every one of them a leaf (core first, then the rotating ones in turn).
BASKET_SLUGS = BASKET.core + BASKET.rotating


def _number(*parts) -> int:
    return int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


@dataclass
class NationalSite(FixtureSite):
    store_codes: list[str] = field(default_factory=list)
    zone_of: dict[str, int] = field(default_factory=dict)
    leaf_slugs: list[str] = field(default_factory=list)
    skus_of_leaf: dict[str, list[str]] = field(default_factory=dict)
    base_price: dict[str, int] = field(default_factory=dict)  # sku → cents
    overrides: dict[tuple[str, str], int] = field(default_factory=dict)  # (code, sku) → cents
    zones: int = 1

    @classmethod
    def from_fixtures(cls) -> NationalSite:  # running_site() builds sites this way
        return cls.generate()

    @classmethod
    def generate(cls, *, stores: int = 24, zones: int = 3, leaves: int = 20,
                 products_per_leaf: int = 20) -> NationalSite:
        site = cls(zones=zones)
        site.store_codes = [f"Z{i:03}" for i in range(1, stores + 1)]
        site.zone_of = {code: i % zones for i, code in enumerate(site.store_codes)}
        site.leaf_slugs = list(BASKET_SLUGS[:leaves]) + [
            f"aisle-{n}" for n in range(max(0, leaves - len(BASKET_SLUGS)))]
        departments = []
        catalogue = {}
        for index, slug in enumerate(site.leaf_slugs):
            key = str(7000 + index)
            products = []
            for n in range(products_per_leaf):
                sku = f"{index:03}{n:04}"
                cents = 99 + _number("base", sku) % 1500
                site.base_price[sku] = cents
                products.append({
                    "sku": sku, "name": f"Product {slug} {n}", "brandName": "NATIONAL",
                    "urlSlugText": f"product-{sku}", "notForSale": True, "sellingSize": "1 each",
                    "price": {"amount": cents, "comparison": cents,
                              "comparisonDisplay": "per 1 each", "wasPriceDisplay": None},
                    "categories": [{"id": key, "name": slug, "urlSlugText": f"dept/{slug}"}],
                    "assets": []})
            site.skus_of_leaf[slug] = [p["sku"] for p in products]
            catalogue[key] = products
            departments.append({"name": slug.replace("-", " ").title(),
                                "urlSlugText": f"dept/{slug}", "key": key, "children": []})
        site.catalogues["aldi"] = catalogue
        site.trees["aldi"] = {"data": [{"name": "Everything", "urlSlugText": "dept",
                                        "key": "6999", "children": departments}]}
        return site

    # --- the truth ----------------------------------------------------------------------------

    def zone_cents(self, zone: int, sku: str) -> int:
        if zone == 0 or _number("zoned", sku, zone) % 10 >= 7:
            return self.base_price[sku]
        return self.base_price[sku] + 10 * (1 + zone)

    def cents(self, code: str, sku: str) -> int:
        override = self.overrides.get((code, sku))
        return override if override is not None else self.zone_cents(self.zone_of[code], sku)

    def truth(self, code: str, sku: str) -> Decimal:
        return Decimal(self.cents(code, sku)) / 100

    def all_skus(self) -> list[str]:
        return list(self.base_price)

    def store_list(self) -> StoreList:
        return StoreList([StoreRow(company="Aldi", store_code=code, name=f"Aldi {code}")
                          for code in self.store_codes], {"Aldi": None})

    # --- what tests do to it ------------------------------------------------------------------

    def plant_override(self, code: str, sku: str) -> None:
        """A local price at one store: 7 cents off its zone's."""
        self.overrides[(code, sku)] = self.zone_cents(self.zone_of[code], sku) - 7

    def plant_overrides(self, day: int, count: int = 3) -> dict[str, list[tuple[str, str]]]:
        """`count` stores (never the first of a zone) with one local price in night `day`'s
        basket and one outside every basket; {"basket": [...], "outside": [...]}."""
        basket_leaf = BASKET.slugs_for(day)[0]
        outside = [slug for slug in self.leaf_slugs if slug not in BASKET_SLUGS] or [
            self.leaf_slugs[-1]]
        planted = {"basket": [], "outside": []}
        for n in range(count):
            code = self.store_codes[self.zones + 1 + 2 * n]
            for kind, leaf in (("basket", basket_leaf), ("outside", outside[n % len(outside)])):
                sku = self.skus_of_leaf[leaf][n + 1]
                self.plant_override(code, sku)
                planted[kind].append((code, sku))
        return planted

    def move(self, codes, zone: int) -> None:
        for code in codes:
            self.zone_of[code] = zone

    def products(self, chain: str, list_name: str, store_id: str) -> list:
        products = super().products(chain, list_name, store_id)
        if chain == "aldi" and store_id in self.zone_of:
            for product in products:
                product["price"]["amount"] = product["price"]["comparison"] = self.cents(
                    store_id, product["sku"])
        return products


@dataclass
class Accuracy:
    expected: int  # (store, product) pairs the site sells
    matched: int  # ... whose current price as read (grocer.db.exports) is the site's
    wrong: list = field(default_factory=list)  # (code, sku, read, truth), missing: read None

    @property
    def share(self) -> float:
        return self.matched / self.expected if self.expected else 0.0


def accuracy(engine, site: NationalSite, codes=None) -> Accuracy:
    """Every (store, product) current price, as `scrapy export prices` reads it, vs the truth."""
    from sqlalchemy import select

    from grocer.db.exports import iter_prices
    from grocer.db.models import Sku

    with engine.connect() as connection:
        sku_of = dict(connection.execute(select(Sku.product_id, Sku.sku)).all())
    codes = list(codes or site.store_codes)
    wanted = set(codes)
    read = {(row["store_code"], sku_of.get(row["product_id"])): Decimal(str(row["price"]))
            for row in iter_prices(engine, company="aldi")
            if row["store_code"] in wanted and not row["delisted_at"]}
    result = Accuracy(len(codes) * len(site.base_price), 0)
    for code in codes:
        for sku in site.base_price:
            price, truth = read.get((code, sku)), site.truth(code, sku)
            if price == truth:
                result.matched += 1
            else:
                result.wrong.append((code, sku, price, truth))
    return result
