"""The product identity key, format v1 (``KEY_VERSION = 1``): byte-compatible with SplitCart.

``normalized_name_brand_size`` = bag of words of ``name + " " + normalized_brand + " " + sizes``,
then mapped through the product translation table; ``normalized_brand`` = bag of words of the
brand, mapped through the brand table (spec §1.8). Existing SplitCart tables and databases keep
working because v1 reproduces SplitCart's keys **including its quirks**. They are reproduced on
purpose; a later key version may fix them, stored with its version and never mixed with v1.

Quirks reproduced on purpose (spec §6.2.11, §1.8.7):

1. Punctuation is deleted, not replaced by a space: "Coca-Cola" -> "cocacola", "4.8g" -> "48g",
   "READY, SET…COOK!" -> "ready setcook", "Bird's" -> "birds".
2. Raw size tokens of the *name* survive next to the canonical sizes: "Milk 2L" ->
   ``2000ml 2l milk`` but "Milk" + size "2 L" -> ``2000ml milk``; "Gum 37.5g" -> ``375g gum``
   (the canonical ``37.5g`` loses its dot too); "Mince 300-400g" -> ``300400g 300g 400g mince``.
3. Float artefacts of the kg/l -> g/ml conversion: "1.001kg" -> ``1000.9999999999999g``.
4. Standalone unit words become sizes: "pack" -> ``pk``, "kg" -> ``kg``, "each" -> ``ea``
   ("Lemon Each" + "1 each" -> sizes ``['ea']``, key ``ea each lemon``). "1ea"/"1 each" -> ``ea``.
5. A None name becomes the word "none"; a missing size is the string "None" (harmless).
6. Barcodes: 12-digit codes are padded with "0"; EAN-8 and GTIN-14 are rejected.
7. The unit-price measure regex has no word boundary ("1 gallon" -> g), measures of "each" are
   rendered as a float quantity (``1.0each``, ``100.0each``), and no unit (oz, m, sheets, dozen)
   outside the §1.8.2 vocabulary is known.
8. Size extraction (§1.8.3): the multipack ``x`` needs no spaces ("12x375ml"); each pattern's
   matches are removed before the next pattern; the two multipack patterns run before the plain
   one, so "125g x 2 pack" -> ``['125g', '2pk', 'pk']``; the separator (spaces, optional "/")
   applies inside ranges ("17-30 Kg"); standalone unit words need word boundaries on both sides
   and exclude bare "g"/"l"; a leading "approx. "/"approx "/"around "/"about " is stripped once.

Readings grocer fixes where the golden file cannot tell (§1.8.7): numbers are
``\\d+(?:\\.\\d+)?``; spaces are allowed around the range "-"; the multipack count is an
integer; matches are replaced by one space; unit alternatives are tried longest first; size
extraction on the brand uses the raw brand string ('' when missing); rounding is Python
``round(x, 2)`` on floats (for "each" too); a measure quantity of 0 gives no unit price.

Robustness additions that do not change any key of real data: non-string inputs never raise
(a non-string brand counts as its ``str()``), and texts longer than
:data:`grocer.normalization.sizes.MAX_EXTRACT_CHARS` are cut before size extraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from .sizes import _extract, standardize_sizes
from .text import clean_value

__all__ = ["KEY_VERSION", "ProductNormalizer"]

KEY_VERSION = 1
IDENTITY_CACHE_SIZE = 32768  # (name, brand, size) texts of about a chain's catalogue


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:
        return ""


class ProductNormalizer:
    """Computes ``sizes``, ``normalized_brand`` and ``normalized_name_brand_size`` (key v1).

    The two translation tables (``{variation: canonical}``) are given to the constructor; the
    normalizer never reads files. ``normalize`` never raises.
    """

    key_version = KEY_VERSION

    def __init__(self, brand_table: Mapping[str, str] | None = None,
                 product_table: Mapping[str, str] | None = None):
        self.brand_table = dict(brand_table or {})
        self.product_table = dict(product_table or {})
        # A crawl sees each product once per store: its identity is computed once per
        # (name, brand, size) texts and these tables (new tables make a new normalizer).
        self._identity_of = lru_cache(maxsize=IDENTITY_CACHE_SIZE)(self._identity)

    def normalized_brand(self, brand) -> str:
        """Bag of words of the brand mapped through the brand table; '' for an empty brand."""
        if not brand:
            return ""
        cleaned = clean_value(_as_text(brand))
        if not cleaned:
            return ""
        canonical = self.brand_table.get(cleaned, cleaned)
        return canonical if isinstance(canonical, str) else cleaned

    def sizes(self, name, brand, size) -> list[str]:
        raw = set(_extract(_as_text(name)))
        if brand:
            raw.update(_extract(_as_text(brand)))
        raw.update(_extract(_as_text(size)))
        return standardize_sizes(raw)

    def normalize(self, cleaned: Mapping) -> dict:
        """``{"sizes": [...], "normalized_brand": str, "normalized_name_brand_size": str}``."""
        try:
            get = cleaned.get
            name = _as_text(get("name"))
            brand = get("brand") or ""
            size = _as_text(get("size"))
        except Exception:
            name, brand, size = "None", "", "None"
        if isinstance(brand, str):
            sizes, normalized_brand, key = self._identity_of(name, brand, size)
        else:  # not hashable, perhaps: computed every time
            sizes, normalized_brand, key = self._identity(name, brand, size)
        return {
            "sizes": list(sizes),  # each product its own list
            "normalized_brand": normalized_brand,
            "normalized_name_brand_size": key,
        }

    def _identity(self, name: str, brand, size: str) -> tuple[tuple[str, ...], str, str]:
        normalized_brand = self.normalized_brand(brand)
        sizes = self.sizes(name, brand, size)
        key = clean_value(name + " " + normalized_brand + " " + " ".join(sizes))
        canonical = self.product_table.get(key, key)
        if isinstance(canonical, str):
            key = canonical
        return tuple(sizes), normalized_brand, key
