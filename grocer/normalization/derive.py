"""``derive``: the derived fields of a cleaned product, in SplitCart's ``_post_process_product``
order (§1.7): key fields -> unit price -> whitespace-only strings (and the '' brand of a
brandless product) to None -> price hash over the final dict."""

from __future__ import annotations

from collections.abc import Mapping

from .cleaners.validation import NULLED_FIELDS, fits_unit_money
from .key import ProductNormalizer
from .prices import price_hash, standardize_unit_price

__all__ = ["derive"]


def derive(cleaned: Mapping, normalizer: ProductNormalizer) -> dict:
    """A NEW dict: ``cleaned`` + ``sizes``, ``normalized_brand``, ``normalized_name_brand_size``,
    ``unit_price``, ``unit_of_measure`` and ``price_hash``. A unit price its column cannot
    hold becomes None and is listed under ``NULLED_FIELDS``.

    ``normalized_brand`` is None for a product without brand (SplitCart's '' became None and the
    key was dropped from its JSONL), ``unit_price``/``unit_of_measure`` None when unknown. The
    hash is computed last, over the final values, exactly as SplitCart did. Never raises for a
    dict input.
    """
    out = dict(cleaned)
    out.update(normalizer.normalize(cleaned))
    out["unit_price"], out["unit_of_measure"] = standardize_unit_price(cleaned)
    if not fits_unit_money(out["unit_price"]):  # absurd, and more than its column holds
        out["unit_price"] = out["unit_of_measure"] = None
        out[NULLED_FIELDS] = [*(out.get(NULLED_FIELDS) or ()), "unit_price"]
    for key, value in out.items():
        if isinstance(value, str) and (not value or value.isspace()):
            out[key] = None
    out["price_hash"] = price_hash(out)
    return out
