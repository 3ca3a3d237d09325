"""Barcode cleaning (spec §1.8.6)."""

from __future__ import annotations

__all__ = ["clean_barcode", "ABSENT_BARCODE_MARKERS"]

#: Values a retailer uses to say "no barcode"; they clean to None without counting as invalid.
ABSENT_BARCODE_MARKERS = frozenset({"", "notfound", "null", "none"})

# A barcode field longer than this is junk; never scan it.
_MAX_BARCODE_TEXT = 1000


def clean_barcode(value) -> str | None:
    """The EAN-13 form of a barcode field, or None.

    Falsy -> None; ``str().strip().lower()``; "notfound" / "null" / "" -> None; split on commas
    and strip each token; the first 13-digit all-numeric token wins, otherwise the first 12-digit
    token left-padded with "0" (UPC-A), otherwise None. EAN-8 (8 digits) and GTIN-14 (14 digits)
    are rejected, as in SplitCart. In-store variable-measure codes (prefix 02) are kept.
    """
    if not value or isinstance(value, (dict, list, tuple, set, bool)):
        return None
    try:
        text = str(value).strip().lower()
    except Exception:  # pragma: no cover - str() of an exotic object failing
        return None
    if text in ABSENT_BARCODE_MARKERS or len(text) > _MAX_BARCODE_TEXT:
        return None
    tokens = [token.strip() for token in text.split(",")]
    for token in tokens:
        if len(token) == 13 and token.isascii() and token.isdigit():
            return token
    for token in tokens:
        if len(token) == 12 and token.isascii() and token.isdigit():
            return "0" + token
    return None
