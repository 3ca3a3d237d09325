"""What a reconciliation did, step by step (`scrapy reconcile` prints it, the CrawlRun keeps it)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from grocer.db import tables


@dataclass
class BrandMergeResult:
    brands_merged: int = 0
    products_repointed: int = 0


@dataclass
class ProductMergeResult:
    products_merged: int = 0
    prices_deleted: int = 0
    prices_repointed: int = 0
    skus_repointed: int = 0
    history_repointed: int = 0
    variations_repointed: int = 0
    variations_added: int = 0


@dataclass
class ReconcileResult:
    delisted: dict[str, int] = field(default_factory=dict)
    brands: BrandMergeResult = field(default_factory=BrandMergeResult)
    products: ProductMergeResult = field(default_factory=ProductMergeResult)
    orphans_deleted: int = 0
    tables: tables.TablesResult | None = None
    table_error: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))

    def summary(self) -> str:
        parts = []
        if self.delisted:
            parts.append(f"{sum(self.delisted.values()):,} prices delisted at "
                         f"{len(self.delisted)} store(s)")
        parts.append(f"{self.brands.brands_merged:,} brands merged "
                     f"({self.brands.products_repointed:,} products re-pointed)")
        p = self.products
        parts.append(f"{p.products_merged:,} products merged ({p.prices_deleted:,} older prices "
                     f"deleted, {p.prices_repointed:,} prices, {p.skus_repointed:,} SKUs, "
                     f"{p.history_repointed:,} history rows, "
                     f"{p.variations_repointed + p.variations_added:,} key variations moved)")
        parts.append(f"{self.orphans_deleted:,} orphan products deleted")
        if self.tables is not None:
            parts.append(f"tables: {self.tables.brand_entries:,} brand and "
                         f"{self.tables.product_entries:,} product entries"
                         + (f" ({', '.join(self.tables.written)} rewritten)"
                            if self.tables.written else " (unchanged)"))
        if self.table_error:
            parts.append(f"tables not read: {self.table_error}")
        return "; ".join(parts)
