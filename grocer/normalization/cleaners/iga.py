"""The IGA field map: the site's raw product -> the cleaned shape."""

from __future__ import annotations

import math

from ..values import dig, finite_number
from .validation import Cleaner, as_text, clean_category_path, float_or_none

_IGA_UNITS = {
    "g": ("mass", 1.0), "gram": ("mass", 1.0), "grams": ("mass", 1.0),
    "kg": ("mass", 1000.0), "kilogram": ("mass", 1000.0), "kilograms": ("mass", 1000.0),
    "ml": ("volume", 1.0), "millilitre": ("volume", 1.0), "milliliter": ("volume", 1.0),
    "l": ("volume", 1000.0), "litre": ("volume", 1000.0), "liter": ("volume", 1000.0),
    "each": ("count", 1.0), "ea": ("count", 1.0),
}
_IGA_LABEL = {"mass": {1.0: "g", 1000.0: "kg"}, "volume": {1.0: "ml", 1000.0: "l"}}


def _iga_unit(unit) -> tuple[float, str, float, str] | None:
    """``(size, dimension, factor, abbreviation)`` of an IGA unitOf* object, or None."""
    if not isinstance(unit, dict):
        return None
    size = float_or_none(unit.get("size"))
    if size is None or size <= 0:
        return None
    for field in ("abbreviation", "type"):
        token = unit.get(field)
        if isinstance(token, str) and token.strip().lower() in _IGA_UNITS:
            dimension, factor = _IGA_UNITS[token.strip().lower()]
            abbr = "each" if dimension == "count" else _IGA_LABEL[dimension][factor]
            return size, dimension, factor, abbr
    return None


def _fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def iga_unit_price(price, raw: dict) -> tuple[float | None, str | None]:
    """IGA per-unit price computed with unit conversion (fixes SplitCart pitfall §6.1.8).

    The shelf price is per ``unitOfPrice`` (1 kg for weighed "EachUnit" produce, "each"
    otherwise; an "each" price buys one ``unitOfSize``). The value is the price of
    ``unitOfMeasure`` (e.g. 100 g), converted between g/kg and ml/l; ``(None, None)`` when the
    dimensions differ (e.g. a per-kg measure of a pack sold by count).
    Returns ``(per_unit_price_value, per_unit_price_measure)``, e.g. ``(3.5198, "100g")``.
    """
    price = finite_number(price)
    measure = _iga_unit(raw.get("unitOfMeasure"))
    if price is None or measure is None:
        return None, None
    m_size, m_dim, m_factor, m_abbr = measure
    basis = _iga_unit(raw.get("unitOfPrice"))
    if basis is None or basis[1] == "count":
        basis = _iga_unit(raw.get("unitOfSize"))  # the price buys one item of unitOfSize
    if basis is None or basis[1] != m_dim:
        return None, None
    b_size, _, b_factor, _ = basis
    value = float(price) * (m_size * m_factor) / (b_size * b_factor)
    if not math.isfinite(value) or value <= 0:
        return None, None
    label = f"{_fmt_number(m_size)} each" if m_dim == "count" else f"{_fmt_number(m_size)}{m_abbr}"
    return round(value, 4), label


def _iga_size(raw: dict) -> str | None:
    unit = raw.get("unitOfSize")
    if not isinstance(unit, dict):
        return None
    size = float_or_none(unit.get("size"))
    if size is None or size <= 0:
        return None
    abbr = unit.get("abbreviation")
    abbr = abbr.strip() if isinstance(abbr, str) else ""
    if not abbr:
        kind = _iga_unit(unit)
        if kind is None or kind[1] != "count":
            return None
        text = f"{_fmt_number(size)} each"
    else:
        text = f"{_fmt_number(size)}{abbr}"
    sell_by = raw.get("sellBy")
    if isinstance(sell_by, str) and sell_by.strip() and sell_by.strip() != "Each" and abbr:
        text = f"{text} {sell_by.strip()}"
    return text


def _is_per_kg(unit) -> bool:
    kind = _iga_unit(unit)
    return kind is not None and kind[1] == "mass"


def _piece_share(raw: dict) -> float | None:
    """The estimated piece weight as a share of the `unitOfPrice` (0.18 for 180 g per kg)."""
    size, price_unit = _iga_unit(raw.get("unitOfSize")), _iga_unit(raw.get("unitOfPrice"))
    if size is None or price_unit is None or size[1] != price_unit[1]:
        return None
    return size[0] * size[2] / (price_unit[0] * price_unit[2])


class IgaCleaner(Cleaner):
    """IGA storefront search item (``items[]``) [hist]."""

    company = "iga"

    def transform(self, raw: dict) -> dict:
        sku = raw.get("productId")
        if sku in (None, ""):
            sku = raw.get("sku")
        # `wholePrice` is per `unitOfPrice`: per kg for loose "EachUnit" produce. Those are
        # bought by the piece (estimated weight `unitOfSize`): their price is the shelf's
        # per-piece price (`priceNumeric`, "$1.08 avg/ea"), was price scaled to the piece.
        # Sold by weight ("Weight"): the price per kg.
        sell_by = str(raw.get("sellBy") or "").strip()
        tpr = dig(raw, "tprPrice", 0, "wholePrice")
        if raw.get("wasWholePrice") is not None and tpr is not None:
            per_unit_of_price = tpr
        else:
            per_unit_of_price = raw.get("wholePrice")
        if finite_number(per_unit_of_price) is None and raw.get("priceNumeric") is not None:
            per_unit_of_price = raw.get("priceNumeric")
        was = raw.get("wasWholePrice")
        current = per_unit_of_price
        piece = sell_by == "EachUnit" and _is_per_kg(raw.get("unitOfPrice"))
        if piece and finite_number(raw.get("priceNumeric")) is not None:
            current = raw.get("priceNumeric")
            share = _piece_share(raw)
            was = round(finite_number(was) * share, 2) if (
                finite_number(was) is not None and share) else None
        breadcrumb = dig(raw, "defaultCategory", 0, "categoryBreadcrumb")
        if not isinstance(breadcrumb, str):
            categories = raw.get("categories")
            crumbs = [dig(c, "categoryBreadcrumb") for c in categories] if isinstance(categories, list) else []
            crumbs = [c for c in crumbs if isinstance(c, str)]
            breadcrumb = max(crumbs, key=lambda c: c.count("/"), default=None)
        path = clean_category_path(breadcrumb.split("/")) if isinstance(breadcrumb, str) else []
        value, measure = iga_unit_price(per_unit_of_price, raw)
        image = dig(raw, "image", "default") or dig(raw, "image", "template")
        return {
            "sku": sku,
            "name": raw.get("name"),
            "brand": raw.get("brand"),
            "size": _iga_size(raw),
            "barcode": raw.get("barcode"),
            "description": as_text(raw.get("description")),
            "url": None,
            "image_url": image if isinstance(image, str) else None,
            "category_path": path,
            "price_current": current,
            "price_was": was,
            "per_unit_price_string": raw.get("pricePerUnit"),
            "per_unit_price_value": value,
            "per_unit_price_measure": measure,
            "is_available": raw.get("available"),
            "sold_by_weight": sell_by == "Weight",
        }
