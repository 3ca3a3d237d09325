"""What every cleaner shares: the cleaned shape, limits and rejection reasons, and the
validation applied to every cleaned product (also to an archive line's product that comes
cleaned already: :func:`validate_cleaned`).


Every cleaner returns the same shape (:data:`CLEANED_FIELDS`, None where unknown, plus chain
extras) or raises :class:`ProductRejected` with a short ``reason`` slug
(:data:`REJECTION_REASONS`). Nothing else ever escapes ``Cleaner.clean``: unexpected shapes
raise ``ProductRejected("malformed")``.

Common rules (clean and :func:`validate_cleaned`):

* ``sku`` is always a non-empty ``str`` (ints from Woolworths/Coles become strings).
* ``name`` must be a string with at least one ASCII letter or digit, at most 255 characters.
* ``price_current`` must be a finite number, > 0 and <= :data:`MAX_PRICE`; ints stay ints and
  floats stay floats (the price hash is type-sensitive). ``price_was`` that is not such a
  number becomes None (never rejects).
* A barcode that does not clean (§1.8.6: GTIN-8/12/13/14 with a valid check digit, no
  store-internal code) becomes None; the raw value is kept, as a string, under
  ``invalid_barcode`` and the reason under ``barcode_problem`` (absence markers like
  "null"/"notfound" are not counted).
* ``unit_price_recomputed``: the site's unit price disagreed with price and size and was
  recomputed (:mod:`grocer.normalization.unit_price`).
* Whitespace-only strings become None; ``name``, ``brand`` and ``size`` are stripped (neither
  changes a key nor a hash). Over-long optional texts (brand/size > 255, URLs > 2048) become None.
* A name containing "donation" is rejected (SplitCart's sanity check removed those lines).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from collections.abc import Mapping

from .. import limits
from ..barcode import judge_barcode
from ..prices import calculate_price_info
from ..text import to_ascii
from ..unit_price import cross_check_unit_price
from ..values import finite_number

MAX_PRICE = 100_000  # a business bound, well inside what limits.MAX_MONEY holds
assert MAX_PRICE <= limits.MAX_MONEY
MAX_NAME_LENGTH = limits.NAME_LENGTH
MAX_SKU_LENGTH = limits.SKU_LENGTH
# Optional text fields longer than their column are dropped (set to None, listed under
# NULLED_FIELDS), never rejected.
MAX_FIELD_LENGTHS = {"brand": limits.BRAND_LENGTH, "size": 255, "url": limits.URL_LENGTH,
                     "image_url": limits.URL_LENGTH, "aldi_image_url": limits.URL_LENGTH,
                     "per_unit_price_string": limits.PER_UNIT_PRICE_STRING_LENGTH,
                     "per_unit_price_measure": 255}
MAX_INVALID_BARCODE_CHARS = 100
# The cleaned product lists here the fields it set to None because their value could not be
# stored (too long, out of range); the pipelines pop it and count grocer/nulled/<field>.
NULLED_FIELDS = "nulled_fields"
# How far in the future an observation may be dated (clock skew) before it is dropped.
DEFAULT_MAX_FUTURE_SKEW = dt.timedelta(days=1)

REJECTION_REASONS = {
    "not_a_product": "not a dict, an ad/banner tile (Coles _type != PRODUCT), or a tile without data",
    "no_sku": "no SKU / product id",
    "bad_sku": "SKU of a wrong type (bool, list, dict) or longer than 100 characters",
    "no_name": "name missing, not a string, or without any ASCII letter/digit",
    "name_too_long": "name longer than 255 characters",
    "donation": "a charity donation item (name contains \"donation\"), not a grocery product",
    "no_price": "no current price (often an unavailable product)",
    "bad_price": "current price not numeric, <= 0, NaN/inf, or > 100000",
    "malformed": "raw product of an unexpected structure",
    "bad_store_code": f"store code empty or longer than {limits.STORE_CODE_LENGTH} characters",
    "future_date": "observation dated more than the allowed clock skew in the future",
    "marketplace": "a marketplace seller's product (Woolworths IsMarketProduct), not the store's",
}

#: Keys every cleaned dict has (None where unknown). Chains add extras (description, ...).
CLEANED_FIELDS = (
    "sku", "name", "brand", "size", "barcode", "url", "image_url", "category_path",
    "price_current", "price_was", "is_on_special", "price_save_amount", "is_available",
    "per_unit_price_string", "per_unit_price_value", "per_unit_price_measure",
    "sold_by_weight",
)

_CLEANED_KEYS = frozenset(CLEANED_FIELDS)

#: Fields recomputed by :func:`grocer.normalization.derive`; dropped by :func:`validate_cleaned`.
DERIVED_FIELDS = (
    "sizes", "normalized_brand", "normalized_name_brand_size", "unit_price",
    "unit_of_measure", "price_hash", "normalized_name",
)


class ProductRejected(Exception):
    """A raw or cleaned product that cannot be used; ``reason`` is a short stats slug."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)







_NUMERIC_TEXT = re.compile(r"\s*\$?\s*(\d+(?:\.\d+)?)\s*")


def number_or_text(value):
    """Like :func:`_number`, also accepting a plain numeric string ("3.50", "$3.50") as float."""
    if isinstance(value, str):
        m = _NUMERIC_TEXT.fullmatch(value[:64]) if len(value) <= 64 else None
        return float(m.group(1)) if m else None
    return finite_number(value)


def as_text(value) -> str | None:
    """A stripped-or-None view used for optional text fields (numbers become strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    return None


def float_or_none(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def clean_category_path(parts) -> list[str]:
    """Drop falsy parts; each part ``str().strip().title()`` (Python title case)."""
    if not isinstance(parts, (list, tuple)):
        return []
    out = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (str, int, float)):
            continue
        text = str(part).strip()
        if text:
            out.append(text.title())
    return out


def dedupe(parts: list[str]) -> list[str]:
    return list(dict.fromkeys(parts))


# ---------------------------------------------------------------------------------------------
# common validation / coercion

def _validate_sku(product: dict) -> None:
    sku = product.get("sku")
    if sku is None:
        raise ProductRejected("no_sku")
    if isinstance(sku, bool):
        raise ProductRejected("bad_sku", repr(sku))
    if isinstance(sku, float):
        if not (math.isfinite(sku) and sku.is_integer()):
            raise ProductRejected("bad_sku", repr(sku))
        sku = int(sku)
    if isinstance(sku, int):
        sku = str(sku)
    if not isinstance(sku, str):
        raise ProductRejected("bad_sku", type(sku).__name__)
    sku = sku.strip()
    if not sku:
        raise ProductRejected("no_sku")
    if len(sku) > MAX_SKU_LENGTH:
        raise ProductRejected("bad_sku", "too long")
    product["sku"] = sku


_ALNUM = re.compile(r"[A-Za-z0-9]")


def _validate_name(product: dict) -> None:
    name = product.get("name")
    if not isinstance(name, str):
        raise ProductRejected("no_name")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise ProductRejected("name_too_long", f"{len(name)} chars")
    if _ALNUM.search(name) is None and _ALNUM.search(to_ascii(name)) is None:
        raise ProductRejected("no_name")  # nothing would be left of it in the key
    if "donation" in name.lower():
        raise ProductRejected("donation")  # charity tiles, removed by SplitCart's sanity check
    product["name"] = name


def _validate_price(product: dict) -> None:
    raw = product.get("price_current")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ProductRejected("no_price")
    price = number_or_text(raw)
    if price is None:
        raise ProductRejected("bad_price", f"not numeric: {type(raw).__name__}")
    if price <= 0 or price > MAX_PRICE:
        raise ProductRejected("bad_price", f"out of range: {price!r}")
    product["price_current"] = price

    was = number_or_text(product.get("price_was"))
    if was is not None and (was <= 0 or was > MAX_PRICE):
        was = None
    product["price_was"] = was


def _validate_barcode(product: dict) -> None:
    raw = product.get("barcode")
    product.pop("invalid_barcode", None)
    product.pop("barcode_problem", None)
    if raw is None:
        return
    product["barcode"], problem = judge_barcode(raw)
    if problem:
        try:
            text = str(raw).strip()
        except Exception:  # pragma: no cover
            text = "?"
        product["invalid_barcode"] = text[:MAX_INVALID_BARCODE_CHARS]
        product["barcode_problem"] = problem


def _finalize(product: dict, *, keep_special_flag: bool) -> dict:
    """Validation + coercion shared by every cleaner and :func:`validate_cleaned`."""
    _validate_sku(product)
    _validate_name(product)
    _validate_price(product)

    info = calculate_price_info(product["price_current"], product["price_was"])
    if keep_special_flag:  # an already cleaned product keeps what it says
        flag = product.get("is_on_special")
        if isinstance(flag, bool):
            info["is_on_special"] = flag
        saved = finite_number(product.get("price_save_amount"))
        if saved is not None:
            info["price_save_amount"] = saved
    product.update(info)

    _validate_barcode(product)

    for key in ("brand", "size"):
        value = product.get(key)
        if value is not None and not isinstance(value, str):
            value = as_text(value)
        product[key] = value.strip() if isinstance(value, str) else None

    value = product.get("per_unit_price_value")
    if value is not None:
        product["per_unit_price_value"] = finite_number(value)

    available = product.get("is_available")
    product["is_available"] = None if available is None else bool(available)
    product["sold_by_weight"] = bool(product.get("sold_by_weight"))

    path = product.get("category_path")
    if not isinstance(path, list) or not all([isinstance(p, str) for p in path]):
        product["category_path"] = clean_category_path(path)

    nulled = []
    for key, value in product.items():
        if value is None:
            continue
        if isinstance(value, str):
            if not value or value.isspace():
                product[key] = None
            elif key in MAX_FIELD_LENGTHS and len(value) > MAX_FIELD_LENGTHS[key]:
                product[key] = None
                nulled.append(key)
        elif key in MAX_FIELD_LENGTHS:
            product[key] = None  # a URL or unit string that is not a string
    if product.get("per_unit_price_value") is not None and not fits_unit_money(
            product["per_unit_price_value"]):
        product["per_unit_price_value"] = None
        nulled.append("per_unit_price_value")
    if nulled:
        product[NULLED_FIELDS] = nulled
    if not _CLEANED_KEYS.issubset(product):  # a cleaner's map sets them all, as a rule
        for key in CLEANED_FIELDS:
            if key not in product:
                product[key] = None
    return product


class Cleaner:
    """Maps one chain's raw product to the cleaned shape; see the module docstring."""

    company = ""

    def clean(self, raw, category_path=None) -> dict:
        """The cleaned product of one raw product; `category_path` is the crawled category's
        path, taken where the raw product names no category of its own."""
        if not isinstance(raw, dict):
            raise ProductRejected("not_a_product", type(raw).__name__)
        try:
            self.check_product(raw)
            product = self.transform(raw)
            if category_path and not product.get("category_path"):
                product["category_path"] = dedupe(clean_category_path(category_path))
            product = _finalize(product, keep_special_flag=False)
            # Popped and counted by the clean pipeline (grocer/unit_price/recomputed).
            product["unit_price_recomputed"] = cross_check_unit_price(product)
            return product
        except ProductRejected:
            raise
        except Exception as exc:  # one bad item never stops a crawl
            raise ProductRejected("malformed", f"{type(exc).__name__}: {exc}"[:200]) from None

    def check_product(self, raw: dict) -> None:
        """Raise ``ProductRejected("not_a_product")`` for tiles that are not products."""

    def transform(self, raw: dict) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} company={self.company!r}>"


# The largest float Numeric(12, 4) holds: a float compares with it exactly as with the Decimal
# bound, ten times cheaper (twice per item).
_MAX_UNIT_MONEY_FLOAT = float(limits.MAX_UNIT_MONEY)
if Decimal(_MAX_UNIT_MONEY_FLOAT) > limits.MAX_UNIT_MONEY:
    _MAX_UNIT_MONEY_FLOAT = math.nextafter(_MAX_UNIT_MONEY_FLOAT, 0)


def fits_unit_money(value) -> bool:
    """True when a unit price fits its column (Numeric(12, 4)); beyond it, it is absurd."""
    if type(value) is float and value == value:  # NaN keeps the Decimal comparison's error
        return abs(value) <= _MAX_UNIT_MONEY_FLOAT
    return value is None or abs(value) <= limits.MAX_UNIT_MONEY


def validate_store_code(code) -> str:
    """The store code of an item, which must fit Store.store_code: else the item is dropped
    (ProductRejected("bad_store_code")) rather than failing its batch in the database."""
    text = str(code).strip() if code is not None else ""
    if not text or len(text) > limits.STORE_CODE_LENGTH:
        raise ProductRejected("bad_store_code", f"{len(text)} chars")
    return text


def validate_observed_at(observed_at: dt.datetime, now: dt.datetime,
                         skew: dt.timedelta = DEFAULT_MAX_FUTURE_SKEW) -> None:
    """An observation dated beyond now + skew would freeze its price forever (newer-dated
    rows always win): ProductRejected("future_date")."""
    if observed_at > now + skew:
        raise ProductRejected("future_date", observed_at.isoformat())


def validate_cleaned(product) -> dict:
    """Validate an ALREADY cleaned product (e.g. a SplitCart archive line's ``product``).

    Skips the field map but applies the same validation and coercion as the cleaners (sku to
    str, barcode cleaning, name/price checks, whitespace -> None) and raises
    :class:`ProductRejected` the same way. Derived fields are dropped (recompute them with
    :func:`grocer.normalization.derive`). A given boolean ``is_on_special`` is kept. Returns a
    new dict.
    """
    if not isinstance(product, Mapping):
        raise ProductRejected("not_a_product", type(product).__name__)
    try:
        out = {k: v for k, v in product.items() if k not in DERIVED_FIELDS}
        return _finalize(out, keep_special_flag=True)
    except ProductRejected:
        raise
    except Exception as exc:
        raise ProductRejected("malformed", f"{type(exc).__name__}: {exc}"[:200]) from None
