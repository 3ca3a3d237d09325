"""The unit price cross-check: price, size and unit price must agree.

A site's unit price is its own arithmetic and sometimes wrong (Woolworths' in-store unit price
is computed from the *was* price on specials). Wherever the price, the pack quantity and the
unit price are all known, the unit price must be the price divided by the quantity (within the
site's rounding: unit prices are rounded per 100 g, so a few cents per kg); when it is not,
it is recomputed from price and size.

Price meaning (README "Prices"): ``price_current`` is what the shopper pays for one unit as
sold. An item sold by weight (``sold_by_weight``) is priced per kg, so its unit price per kg
is its price, whatever the (estimated) size says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

from .prices import standardize_unit_price

__all__ = ["pack_quantity", "expected_unit_price", "cross_check_unit_price", "unit_price_agrees",
           "unit_price_from_size"]

_MASS_VOLUME = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(kg|g|ml|l)(?![a-z])", re.IGNORECASE)
_MULTIPLIER = re.compile(r"^\s*x\s*(\d+)(?![\d.])", re.IGNORECASE)
_COUNT = re.compile(r"^\s*(\d+)\s*(?:pack|pk|each|ea)\s*$", re.IGNORECASE)
_TO_BASE = {"g": (1.0, "g"), "kg": (1000.0, "g"), "ml": (1.0, "ml"), "l": (1000.0, "ml")}
# Agreement: the site's unit price is within 3 % or 6 cents of price / quantity.
_RELATIVE_TOLERANCE = 0.03
_ABSOLUTE_TOLERANCE = 0.06


def pack_quantity(size) -> tuple[float, str] | None:
    """(quantity, "g" | "ml" | "each") of a size text, or None when it is not plain enough.

    "500g" -> (500, "g"); "375mL x 4 pack" -> (1500, "ml"); "6 each" -> (6, "each");
    "approx. 0.9 kg per piece" -> (900, "g"); "2 x 100g pack" or "500g-1kg" -> None.
    """
    if not isinstance(size, str) or len(size) > 100:
        return None
    return _pack_quantity(size)


@lru_cache(maxsize=4096)  # a chain has a few thousand distinct size texts; each item asks twice
def _pack_quantity(size: str) -> tuple[float, str] | None:
    matches = list(_MASS_VOLUME.finditer(size))
    if len(matches) == 1:
        match = matches[0]
        factor, unit = _TO_BASE[match.group(2).lower()]
        quantity = float(match.group(1)) * factor
        multiplier = _MULTIPLIER.match(size[match.end():])
        if multiplier:
            quantity *= int(multiplier.group(1))
        elif re.search(r"\d\s*x\s*$", size[:match.start()], re.IGNORECASE):
            return None  # "2 x 100g": the count comes first, ambiguous with "x" in names
        return (quantity, unit) if quantity > 0 else None
    if not matches:
        count = _COUNT.match(size)
        if count and int(count.group(1)) > 0:
            return float(count.group(1)), "each"
    return None


def expected_unit_price(price, size, label: str, *, sold_by_weight: bool = False) -> float | None:
    """The unit price (per `label`: "1kg", "1l" or "<n>each") price and size give, or None."""
    if not isinstance(price, (int, float)) or isinstance(price, bool) or price <= 0:
        return None
    if sold_by_weight:
        return float(price) if label == "1kg" else None
    quantity = pack_quantity(size)
    if quantity is None:
        return None
    amount, unit = quantity
    if unit == "g" and label == "1kg" or unit == "ml" and label == "1l":
        return price / amount * 1000
    if unit == "each" and label.endswith("each"):
        try:
            per = float(label[:-len("each")])
        except ValueError:
            return None
        return price / amount * per
    return None


def unit_price_from_size(price, size) -> tuple[float, str] | None:
    """(unit price, measure) from price and pack size ("1kg", "1l" or "1each"), or None."""
    quantity = pack_quantity(size)
    if quantity is None:
        return None
    label = {"g": "1kg", "ml": "1l", "each": "1each"}[quantity[1]]
    value = expected_unit_price(price, size, label)
    return (round(value, 4), label) if value is not None else None


def _agrees(site: float, expected: float) -> bool:
    return abs(site - expected) <= max(_ABSOLUTE_TOLERANCE, _RELATIVE_TOLERANCE * expected)


def _compare(product: Mapping) -> tuple[float, float, str] | None:
    """(the site's unit price, the one of price and size, their label), or None."""
    site, label = standardize_unit_price(product)
    if site is None or label is None:
        return None
    expected = expected_unit_price(product.get("price_current"), product.get("size"), label,
                                   sold_by_weight=bool(product.get("sold_by_weight")))
    if expected is None or not math.isfinite(expected):
        return None
    return site, expected, label


def unit_price_agrees(product: Mapping) -> bool | None:
    """Whether a cleaned product's unit price agrees with its price and size; None when one
    of the three is unknown."""
    compared = _compare(product)
    return None if compared is None else _agrees(compared[0], compared[1])


def cross_check_unit_price(product: dict) -> bool:
    """Recompute a cleaned product's unit price in place when it disagrees with its price and
    size; True when it did. Products missing any of the three are left as they are."""
    compared = _compare(product)
    if compared is None or _agrees(compared[0], compared[1]):
        return False
    product["per_unit_price_value"] = round(compared[1], 4)
    product["per_unit_price_measure"] = compared[2]
    return True
