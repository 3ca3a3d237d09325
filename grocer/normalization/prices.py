"""Unit price (§1.10), price info (§1.7 common helpers) and the price hash (§1.11)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal
from collections.abc import Mapping
from functools import lru_cache

__all__ = [
    "HASH_FIELDS",
    "unit_price_value",
    "unit_price_measure",
    "standardize_unit_price",
    "calculate_price_info",
    "price_hash",
]

HASH_FIELDS = (
    "price_current",
    "price_was",
    "unit_price",
    "unit_of_measure",
    "per_unit_price_string",
    "is_on_special",
)

_FIRST_NUMBER = re.compile(r"\$?(\d+(?:\.\d+)?)")
_DOLLAR_AMOUNT = re.compile(r"\$\d+(?:\.\d+)?")
# Number required, optional spaces and "/", then a unit; case-insensitive and with no word
# boundary after the unit (quirk: "1 gallon" -> g). Longest spellings first.
_MEASURE = re.compile(
    r"(?<!\d)(\d+(?:\.\d+)?)\s*/?\s*"  # (?<!\d): same result, linear scan (see sizes.py)
    r"(kilograms|millilitres|kilogram|millilitre|grams|litres|gram|litre|each|kg|ml|ea|g|l)",
    re.IGNORECASE,
)
_MEASURE_UNIT = {
    "g": "g", "gram": "g", "grams": "g",
    "kg": "kg", "kilogram": "kg", "kilograms": "kg",
    "ml": "ml", "millilitre": "ml", "millilitres": "ml",
    "l": "l", "litre": "l", "litres": "l",
    "ea": "each", "each": "each",
}
_MAX_TEXT = 1000


def _as_float(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            f = float(value)
        except (OverflowError, ValueError):
            return None
        return f if math.isfinite(f) else None
    return None


def unit_price_value(product: Mapping) -> float | None:
    """``per_unit_price_value`` as float; else the first number of ``per_unit_price_string``."""
    return _value_of(product.get("per_unit_price_value"), product.get("per_unit_price_string"))


def _value_of(value, text) -> float | None:
    if value is not None:
        f = _as_float(value)
        if f is not None:
            return f
    if isinstance(text, str):
        m = _FIRST_NUMBER.search(text[:_MAX_TEXT])
        if m:
            f = float(m.group(1))
            return f if math.isfinite(f) else None
    return None


def unit_price_measure(product: Mapping) -> tuple[str, float] | None:
    """``(unit, quantity)`` from ``per_unit_price_measure``, else ``per_unit_price_string``.

    "$" amounts are deleted first, then a number (required) + unit is searched; units g, kg, ml,
    l and "each" (ea/each). "100g" -> ("g", 100.0); "$3.35 per 1l" -> ("l", 1.0); "1EA" ->
    ("each", 1.0); "$3.35/l", "per 100 sheets", "PAC" -> None.
    """
    return _measure_of(product.get("per_unit_price_measure"), product.get("per_unit_price_string"))


def _measure_of(*texts) -> tuple[str, float] | None:
    for text in texts:
        if not isinstance(text, str) or not text:
            continue
        measure = _measure_in(text[:_MAX_TEXT])
        if measure:
            return measure
    return None


@lru_cache(maxsize=8192)  # measures ("1EA", "100G") repeat on every item; asked twice per item
def _measure_in(text: str) -> tuple[str, float] | None:
    m = _MEASURE.search(_DOLLAR_AMOUNT.sub("", text))
    return (_MEASURE_UNIT[m.group(2).lower()], float(m.group(1))) if m else None


def standardize_unit_price(cleaned: Mapping) -> tuple[float | None, str | None]:
    """``(unit_price, unit_of_measure)``: price per 1kg, per 1l, or per ``<qty>each``.

    g/ml: value / qty x 1000 -> "1kg"/"1l"; kg/l: value / qty -> "1kg"/"1l"; each: value
    unchanged, measure ``f"{qty}each"`` ("1.0each"). Rounded with ``round(x, 2)``. Missing value
    or measure, a value of 0 or a quantity of 0 -> ``(None, None)``. Never raises.
    """
    try:  # each field read once: asked twice per item (the cleaner's cross-check, derive)
        get = cleaned.get
        text = get("per_unit_price_string")
        value = _value_of(get("per_unit_price_value"), text)
        measure = _measure_of(get("per_unit_price_measure"), text)
    except Exception:
        return None, None
    if value is None or measure is None or value == 0.0:
        return None, None
    unit, qty = measure
    if qty == 0.0:
        return None, None
    if unit == "each":
        result, label = value, f"{qty}each"
    elif unit == "g":
        result, label = value / qty * 1000, "1kg"
    elif unit == "ml":
        result, label = value / qty * 1000, "1l"
    elif unit == "kg":
        result, label = value / qty, "1kg"
    else:  # "l"
        result, label = value / qty, "1l"
    if not math.isfinite(result):
        return None, None
    return round(result, 2), label


def calculate_price_info(current, was) -> dict:
    """``is_on_special`` = both present and was > current; ``price_save_amount`` =
    ``round(was - current, 2)`` when on special, else None. ``price_was`` is kept unchanged."""
    on_special = False
    save = None
    if current is not None and was is not None:
        try:
            on_special = bool(was > current)
            if on_special:
                save = round(was - current, 2)
        except Exception:
            on_special, save = False, None
    return {
        "price_current": current,
        "price_was": was,
        "is_on_special": on_special,
        "price_save_amount": save,
    }


def _json_default(value):
    return str(value)  # Decimal -> str, like SplitCart; anything exotic -> its str


_ENCODER = json.JSONEncoder(sort_keys=True, default=_json_default)
_encode_str = json.encoder.encode_basestring_ascii
_INF = float("inf")


def _encode_scalar(value) -> str | None:
    """``json.dumps`` of one scalar (same bytes), or None for anything else."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value == _INF:
            return "Infinity"
        if value == -_INF:
            return "-Infinity"
        return float.__repr__(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return int.__repr__(value)
    if kind is Decimal:
        return _encode_str(str(value))
    return None


def _hash_text_slow(cleaned: Mapping) -> str:
    d = {}
    for field in HASH_FIELDS:
        value = cleaned.get(field)
        d[field] = str(value) if isinstance(value, Decimal) else value
    try:
        return _ENCODER.encode(d)
    except Exception:  # e.g. an int too long to print: still a stable, distinct text
        return repr(sorted((k, _safe_repr(v)) for k, v in d.items()))


def _safe_repr(value) -> str:
    try:
        return repr(value)
    except Exception:
        if isinstance(value, int):
            return "int:0x" + format(value, "x")  # not limited like decimal conversion
        return type(value).__name__


def price_hash(cleaned: Mapping) -> str:
    """MD5 hex of ``json.dumps(d, sort_keys=True)`` over the six price fields (missing -> null).

    Type-sensitive like SplitCart: ``12`` and ``12.0`` hash differently; a Decimal is hashed as
    its ``str``. The hash holds no product identity (compare it per product only). Never raises.
    """
    get = cleaned.get
    try:  # HASH_FIELDS in sorted order, with json.dumps' default separators
        parts = (
            _encode_scalar(get("is_on_special")),
            _encode_scalar(get("per_unit_price_string")),
            _encode_scalar(get("price_current")),
            _encode_scalar(get("price_was")),
            _encode_scalar(get("unit_of_measure")),
            _encode_scalar(get("unit_price")),
        )
    except ValueError:  # an int too long to print
        parts = (None,)
    if None in parts:
        text = _hash_text_slow(cleaned)
    else:
        text = ('{"is_on_special": %s, "per_unit_price_string": %s, "price_current": %s, '
                '"price_was": %s, "unit_of_measure": %s, "unit_price": %s}' % parts)
    return hashlib.md5(text.encode("utf-8")).hexdigest()
