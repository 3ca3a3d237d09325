"""Per-chain cleaners (spec §1.7, §4): a retailer's raw product -> one cleaned dict.

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
* A barcode that does not clean (§1.8.6) becomes None and the raw value is kept, as a string,
  under ``invalid_barcode`` (absence markers like "null"/"notfound" are not counted).
* Whitespace-only strings become None; ``name``, ``brand`` and ``size`` are stripped (neither
  changes a key nor a hash). Over-long optional texts (brand/size > 255, URLs > 2048) become None.
* A name containing "donation" is rejected (SplitCart's sanity check removed those lines).

Chain notes: Aldi prices are cents / 100.0 (floats); Coles ``was == 0`` means no was-price and
``_type != "PRODUCT"`` tiles are not products; Woolworths ``category_path`` is stamped on the raw
product by the spider. IGA (historic storefront API): the price is ``wholePrice`` (the TPR price
when ``wasWholePrice`` is set), i.e. per ``unitOfPrice`` (per kg for weighed "EachUnit" produce);
``price_was`` = ``wasWholePrice``; the size string is ``<unitOfSize.size><abbr>`` (+ " <sellBy>"
unless "Each") or ``"<n> each"``; the per-unit price is computed with unit conversion
(:func:`iga_unit_price`), not SplitCart's same-unit assumption (§6.1.8).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Mapping

from .barcode import ABSENT_BARCODE_MARKERS, clean_barcode
from .prices import calculate_price_info
from .text import slugify, to_ascii

__all__ = [
    "ProductRejected",
    "REJECTION_REASONS",
    "CLEANED_FIELDS",
    "DERIVED_FIELDS",
    "MAX_PRICE",
    "MAX_NAME_LENGTH",
    "Cleaner",
    "AldiCleaner",
    "ColesCleaner",
    "WoolworthsCleaner",
    "IgaCleaner",
    "CLEANERS",
    "get_cleaner",
    "validate_cleaned",
    "clean_category_path",
]

MAX_PRICE = 100_000
MAX_NAME_LENGTH = 255
MAX_SKU_LENGTH = 100
# Optional text fields longer than this are dropped (set to None), never rejected.
MAX_FIELD_LENGTHS = {"brand": 255, "size": 255, "url": 2048, "image_url": 2048,
                     "aldi_image_url": 2048, "per_unit_price_string": 255,
                     "per_unit_price_measure": 255}
MAX_INVALID_BARCODE_CHARS = 100

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
}

#: Keys every cleaned dict has (None where unknown). Chains add extras (description, ...).
CLEANED_FIELDS = (
    "sku", "name", "brand", "size", "barcode", "url", "image_url", "category_path",
    "price_current", "price_was", "is_on_special", "price_save_amount", "is_available",
    "per_unit_price_string", "per_unit_price_value", "per_unit_price_measure",
)

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


# ---------------------------------------------------------------------------------------------
# small safe accessors

def _get(obj: Any, *path) -> Any:
    """Walk dict keys / list indexes; None on any mismatch (never raises)."""
    for part in path:
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and isinstance(part, int):
            if -len(obj) <= part < len(obj):
                obj = obj[part]
            else:
                return None
        else:
            return None
        if obj is None:
            return None
    return obj


def _number(value) -> int | float | Decimal | None:
    """A finite real number keeping its type, else None (bools are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


_NUMERIC_TEXT = re.compile(r"\s*\$?\s*(\d+(?:\.\d+)?)\s*")


def _number_or_text(value):
    """Like :func:`_number`, also accepting a plain numeric string ("3.50", "$3.50") as float."""
    if isinstance(value, str):
        m = _NUMERIC_TEXT.fullmatch(value[:64]) if len(value) <= 64 else None
        return float(m.group(1)) if m else None
    return _number(value)


def _text(value) -> str | None:
    """A stripped-or-None view used for optional text fields (numbers become strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    return None


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


def _dedupe(parts: list[str]) -> list[str]:
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
    price = _number_or_text(raw)
    if price is None:
        raise ProductRejected("bad_price", f"not numeric: {type(raw).__name__}")
    if price <= 0 or price > MAX_PRICE:
        raise ProductRejected("bad_price", f"out of range: {price!r}")
    product["price_current"] = price

    was = _number_or_text(product.get("price_was"))
    if was is not None and (was <= 0 or was > MAX_PRICE):
        was = None
    product["price_was"] = was


def _validate_barcode(product: dict) -> None:
    raw = product.get("barcode")
    product.pop("invalid_barcode", None)
    if raw is None:
        return
    cleaned = clean_barcode(raw)
    product["barcode"] = cleaned
    if cleaned is None:
        try:
            text = str(raw).strip()
        except Exception:  # pragma: no cover
            text = "?"
        if text.lower() not in ABSENT_BARCODE_MARKERS:
            product["invalid_barcode"] = text[:MAX_INVALID_BARCODE_CHARS]


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
        saved = _number(product.get("price_save_amount"))
        if saved is not None:
            info["price_save_amount"] = saved
    product.update(info)

    _validate_barcode(product)

    for key in ("brand", "size"):
        value = product.get(key)
        if value is not None and not isinstance(value, str):
            value = _text(value)
        product[key] = value.strip() if isinstance(value, str) else None

    value = product.get("per_unit_price_value")
    if value is not None:
        product["per_unit_price_value"] = _number(value)

    available = product.get("is_available")
    product["is_available"] = None if available is None else bool(available)

    path = product.get("category_path")
    if not isinstance(path, list) or not all([isinstance(p, str) for p in path]):
        product["category_path"] = clean_category_path(path)

    limits = MAX_FIELD_LENGTHS
    for key, value in product.items():
        if value is None:
            continue
        if isinstance(value, str):
            if not value or value.isspace():
                product[key] = None
            elif key in limits and len(value) > limits[key]:
                product[key] = None
        elif key in limits:
            product[key] = None  # a URL or unit string that is not a string
    for key in CLEANED_FIELDS:
        if key not in product:
            product[key] = None
    return product


# ---------------------------------------------------------------------------------------------
# cleaners

class Cleaner:
    """Maps one chain's raw product to the cleaned shape; see the module docstring."""

    company = ""

    def clean(self, raw) -> dict:
        if not isinstance(raw, dict):
            raise ProductRejected("not_a_product", type(raw).__name__)
        try:
            self.check_product(raw)
            product = self.transform(raw)
            return _finalize(product, keep_special_flag=False)
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


def _aldi_was_price(display) -> float | None:
    if not isinstance(display, str):
        return None
    digits = re.sub(r"[^\d.]", "", display[:64])
    try:
        return float(digits) if digits else None
    except ValueError:
        return None


def _cents(value) -> float | None:
    number = _number(value)
    if number is None:
        return None
    return number / 100 if isinstance(number, Decimal) else number / 100.0


class AldiCleaner(Cleaner):
    """Aldi v3 product search item (``data[]``); prices in cents -> dollars (floats)."""

    company = "aldi"

    def transform(self, raw: dict) -> dict:
        sku = raw.get("sku")
        amount = _get(raw, "price", "amount")
        price_current = _cents(amount)
        if amount is not None and price_current is None:
            raise ProductRejected("bad_price", f"not numeric: {type(amount).__name__}")
        slug = raw.get("urlSlugText")
        url = None
        if isinstance(slug, str) and slug.strip() and sku not in (None, ""):
            url = f"https://www.aldi.com.au/product/{slug}-{sku}"
        image = _get(raw, "assets", 0, "url")
        image = image if isinstance(image, str) and image.strip() else None
        aldi_image = None
        if image:
            aldi_image = image.replace("{width}", "500")
            if aldi_image.endswith("/{slug}"):
                aldi_image = aldi_image[: -len("/{slug}")]
        categories = raw.get("categories")
        names = [_get(c, "name") for c in categories] if isinstance(categories, list) else []
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
            "price_was": _aldi_was_price(_get(raw, "price", "wasPriceDisplay")),
            "per_unit_price_string": _get(raw, "price", "comparisonDisplay"),
            "per_unit_price_value": _cents(_get(raw, "price", "comparison")),
            "per_unit_price_measure": None,
            "is_available": not bool(raw.get("notForSale", False)),
        }


#: Coles online heirs skipped when choosing a product's category path.
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
        image = _get(raw, "imageUris", 0, "uri")
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
            "description": _text(raw.get("description")),
            "url": url,
            "image_url": image,
            "category_path": _coles_category_path(raw.get("onlineHeirs")),
            "price_current": pricing.get("now"),
            "price_was": was,
            "per_unit_price_string": pricing.get("comparable"),
            "per_unit_price_value": _number(_get(pricing, "unit", "price")),
            "per_unit_price_measure": _get(pricing, "unit", "ofMeasureUnits"),
            "is_available": raw.get("availability"),
        }


def _float_or_none(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


class WoolworthsCleaner(Cleaner):
    """Woolworths browse/search product (``Bundles[].Products[]``); the spider stamps
    ``category_path`` (root -> leaf display names) on each raw product."""

    company = "woolworths"

    def transform(self, raw: dict) -> dict:
        sku = raw.get("Stockcode")
        slug = raw.get("UrlFriendlyName")
        url = slug if isinstance(slug, str) else None
        if url and url.strip() and sku not in (None, ""):
            url = f"https://www.woolworths.com.au/shop/productdetails/{sku}/{slug}"
        attrs = raw.get("AdditionalAttributes")
        attrs = attrs if isinstance(attrs, dict) else {}
        image = raw.get("LargeImageFile") or raw.get("MediumImageFile")
        rating = raw.get("Rating")
        rating = rating if isinstance(rating, dict) else {}
        return {
            "sku": sku,
            "name": raw.get("Name"),
            "brand": raw.get("Brand"),
            "size": raw.get("PackageSize"),
            "barcode": raw.get("Barcode"),
            "description": _text(raw.get("Description")),
            "ingredients": _text(attrs.get("ingredients")),
            "allergens": _text(attrs.get("allergystatement")),
            "country_of_origin": _text(attrs.get("countryoforigin")),
            "url": url,
            "image_url": image if isinstance(image, str) else None,
            "category_path": _dedupe(clean_category_path(raw.get("category_path"))),
            "price_current": raw.get("Price"),
            "price_was": raw.get("WasPrice"),
            "per_unit_price_string": raw.get("CupString"),
            "per_unit_price_value": _number(raw.get("InstoreCupPrice")),
            "per_unit_price_measure": raw.get("CupMeasure"),
            "average_user_rating": _number(rating.get("Average")),
            "rating_count": _number(rating.get("ReviewCount")),
            "health_star_rating": _float_or_none(attrs.get("healthstarrating")),
            "is_available": bool(raw.get("IsAvailable", False)),
        }


# IGA units: abbreviation/type -> (dimension, factor to the base unit g / ml / each)
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
    size = _float_or_none(unit.get("size"))
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
    price = _number(price)
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
    size = _float_or_none(unit.get("size"))
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


class IgaCleaner(Cleaner):
    """IGA storefront search item (``items[]``) [hist]."""

    company = "iga"

    def transform(self, raw: dict) -> dict:
        sku = raw.get("productId")
        if sku in (None, ""):
            sku = raw.get("sku")
        tpr = _get(raw, "tprPrice", 0, "wholePrice")
        if raw.get("wasWholePrice") is not None and tpr is not None:
            current = tpr
        else:
            current = raw.get("wholePrice")
        if _number(current) is None and raw.get("priceNumeric") is not None:
            current = raw.get("priceNumeric")
        was = raw.get("wasWholePrice")
        breadcrumb = _get(raw, "defaultCategory", 0, "categoryBreadcrumb")
        if not isinstance(breadcrumb, str):
            categories = raw.get("categories")
            crumbs = [_get(c, "categoryBreadcrumb") for c in categories] if isinstance(categories, list) else []
            crumbs = [c for c in crumbs if isinstance(c, str)]
            breadcrumb = max(crumbs, key=lambda c: c.count("/"), default=None)
        path = clean_category_path(breadcrumb.split("/")) if isinstance(breadcrumb, str) else []
        value, measure = iga_unit_price(current, raw)
        image = _get(raw, "image", "default") or _get(raw, "image", "template")
        return {
            "sku": sku,
            "name": raw.get("name"),
            "brand": raw.get("brand"),
            "size": _iga_size(raw),
            "barcode": raw.get("barcode"),
            "description": _text(raw.get("description")),
            "url": None,
            "image_url": image if isinstance(image, str) else None,
            "category_path": path,
            "price_current": current,
            "price_was": was,
            "per_unit_price_string": raw.get("pricePerUnit"),
            "per_unit_price_value": value,
            "per_unit_price_measure": measure,
            "is_available": raw.get("available"),
        }


CLEANERS: dict[str, Cleaner] = {
    "aldi": AldiCleaner(),
    "coles": ColesCleaner(),
    "woolworths": WoolworthsCleaner(),
    "iga": IgaCleaner(),
}


def get_cleaner(company: str) -> Cleaner:
    """The cleaner of a chain ("Aldi", "coles", " WOOLWORTHS " ...); KeyError if unknown."""
    key = company.strip().lower() if isinstance(company, str) else company
    try:
        return CLEANERS[key]
    except (KeyError, TypeError):
        raise KeyError(f"no cleaner for company {company!r}; known: {sorted(CLEANERS)}") from None


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
