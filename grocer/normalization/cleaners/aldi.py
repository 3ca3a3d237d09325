"""The Aldi field map: the site's raw product -> the cleaned shape."""

from __future__ import annotations

import re
from decimal import Decimal

from ..values import dig, finite_number
from .validation import Cleaner, ProductRejected, clean_category_path


def _aldi_was_price(display) -> float | None:
    if not isinstance(display, str):
        return None
    digits = re.sub(r"[^\d.]", "", display[:64])
    try:
        return float(digits) if digits else None
    except ValueError:
        return None


def _cents(value) -> float | None:
    number = finite_number(value)
    if number is None:
        return None
    return number / 100 if isinstance(number, Decimal) else number / 100.0


class AldiCleaner(Cleaner):
    """Aldi v3 product search item (``data[]``); prices in cents -> dollars (floats)."""

    company = "aldi"

    def transform(self, raw: dict) -> dict:
        sku = raw.get("sku")
        # A loose item ("approx. 0.9 kg per piece", weightType 3) is bought by the piece: its
        # price is the piece's (amountRelevant); `amount` is then the price per kg.
        piece = raw.get("isRandomWeight") or str(raw.get("weightType")) == "3"
        amount = dig(raw, "price", "amountRelevant" if piece else "amount")
        if amount is None:
            amount = dig(raw, "price", "amount")
        price_current = _cents(amount)
        if amount is not None and price_current is None:
            raise ProductRejected("bad_price", f"not numeric: {type(amount).__name__}")
        slug = raw.get("urlSlugText")
        url = None
        if isinstance(slug, str) and slug.strip() and sku not in (None, ""):
            url = f"https://www.aldi.com.au/product/{slug}-{sku}"
        image = dig(raw, "assets", 0, "url")
        image = image if isinstance(image, str) and image.strip() else None
        aldi_image = None
        if image:
            aldi_image = image.replace("{width}", "500")
            if aldi_image.endswith("/{slug}"):
                aldi_image = aldi_image[: -len("/{slug}")]
        categories = raw.get("categories")
        names = [dig(c, "name") for c in categories] if isinstance(categories, list) else []
        return {
            "sku": sku,
            "name": raw.get("name"),
            "brand": raw.get("brandName"),
            "size": raw.get("sellingSize"),
            "barcode": None,
            "url": url,
            "image_url": image,
            "aldi_image_url": aldi_image,
            "category_path": clean_category_path(names),
            "price_current": price_current,
            "price_was": _aldi_was_price(dig(raw, "price", "wasPriceDisplay")),
            "per_unit_price_string": dig(raw, "price", "comparisonDisplay"),
            "per_unit_price_value": _cents(dig(raw, "price", "comparison")),
            "per_unit_price_measure": None,
            # notForSale: Aldi Australia sells nothing online; it says nothing about the shelf.
            "is_available": None,
            "sold_by_weight": False,
        }


#: Coles online heirs skipped when choosing a product's category path.
