"""The Coles field map: the site's raw product -> the cleaned shape."""

from __future__ import annotations

from ..text import slugify
from ..values import dig, finite_number
from .validation import Cleaner, ProductRejected, as_text, clean_category_path

COLES_SKIPPED_HEIRS = frozenset({
    "christmas", "down down", "bonus credit products", "specials", "front of store",
    "seasonal", "everyday market", "big night in",
})


def _coles_category_path(heirs) -> list[str]:
    if not isinstance(heirs, list):
        return []
    heirs = [h for h in heirs if isinstance(h, dict)]
    if not heirs:
        return []
    chosen = heirs[0]
    for heir in heirs:
        sub = heir.get("subCategory")
        if isinstance(sub, str) and sub.strip().lower() not in COLES_SKIPPED_HEIRS:
            chosen = heir
            break
    return clean_category_path([chosen.get("subCategory"), chosen.get("category"), chosen.get("aisle")])


class ColesCleaner(Cleaner):
    """Coles browse/search result item (``__NEXT_DATA__`` ``searchResults.results[]``)."""

    company = "coles"

    def check_product(self, raw: dict) -> None:
        if raw.get("_type") != "PRODUCT":
            raise ProductRejected("not_a_product", f"_type={str(raw.get('_type'))[:40]}")

    def transform(self, raw: dict) -> dict:
        sku = raw.get("id")
        name = raw.get("name")
        pricing = raw.get("pricing")
        pricing = pricing if isinstance(pricing, dict) else {}
        was = pricing.get("was")
        if was == 0:
            was = None
        url = None
        if isinstance(name, str) and name.strip() and sku not in (None, ""):
            url = f"https://www.coles.com.au/product/{slugify(name)}-{sku}"
        image = dig(raw, "imageUris", 0, "uri")
        if isinstance(image, str) and image.startswith("/"):
            image = "https://productimages.coles.com.au/productimages" + image
        elif not (isinstance(image, str) and image.startswith("http")):
            image = None
        return {
            "sku": sku,
            "name": name,
            "brand": raw.get("brand"),
            "size": raw.get("size"),
            "barcode": raw.get("barcode"),
            "description": as_text(raw.get("description")),
            "url": url,
            "image_url": image,
            "category_path": _coles_category_path(raw.get("onlineHeirs")),
            "price_current": pricing.get("now"),
            "price_was": was,
            "per_unit_price_string": pricing.get("comparable"),
            "per_unit_price_value": finite_number(dig(pricing, "unit", "price")),
            "per_unit_price_measure": dig(pricing, "unit", "ofMeasureUnits"),
            "is_available": raw.get("availability"),
        }
