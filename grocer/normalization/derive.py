"""``derive``: the derived fields of a cleaned product, in SplitCart's ``_post_process_product``
order (§1.7): key fields -> unit price -> whitespace-only strings (and the '' brand of a
brandless product) to None -> price hash over the final dict."""

from __future__ import annotations

from typing import Mapping

from .key import ProductNormalizer
from .prices import price_hash, standardize_unit_price

__all__ = ["derive"]


def derive(cleaned: Mapping, normalizer: ProductNormalizer) -> dict:
    """A NEW dict: ``cleaned`` + ``sizes``, ``normalized_brand``, ``normalized_name_brand_size``,
    ``unit_price``, ``unit_of_measure`` and ``price_hash``.

    ``normalized_brand`` is None for a product without brand (SplitCart's '' became None and the
    key was dropped from its JSONL), ``unit_price``/``unit_of_measure`` None when unknown. The
    hash is computed last, over the final values, exactly as SplitCart did. Never raises for a
    dict input.
    """
    out = dict(cleaned)
    out.update(normalizer.normalize(cleaned))
    out["unit_price"], out["unit_of_measure"] = standardize_unit_price(cleaned)
    for key, value in out.items():
        if isinstance(value, str) and (not value or value.isspace()):
            out[key] = None
    out["price_hash"] = price_hash(out)
    return out
