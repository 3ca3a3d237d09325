"""Barcode cleaning (spec §1.8.6): GTIN-8/12/13/14 with a valid GS1 check digit.

Kept: a GTIN-13 as it is, a GTIN-12 (UPC-A) padded to 13 digits, a GTIN-8 (EAN-8) as its 8
digits, a GTIN-14 as it is. Anything else cleans to None with a reason (:func:`barcode_problem`),
which the clean pipeline counts as ``grocer/barcode/invalid/<reason>``. Store-internal codes
are no product's barcode (another store uses the same number for something else): GS1
restricted-circulation numbers, i.e. a 13-digit form starting with ``2`` (``02`` UPC-A
variable-measure and ``20``-``29`` in-store / variable-weight codes).
"""

from __future__ import annotations

__all__ = ["clean_barcode", "barcode_problem", "judge_barcode", "check_digit_ok", "ABSENT_BARCODE_MARKERS",
           "BARCODE_PROBLEMS"]

#: Values a retailer uses to say "no barcode"; they clean to None without counting as invalid.
ABSENT_BARCODE_MARKERS = frozenset({"", "notfound", "null", "none"})

#: Why a barcode field cleaned to None (the stat key suffix).
BARCODE_PROBLEMS = ("not_digits", "length", "check_digit", "store_internal")

# A barcode field longer than this is junk; never scan it.
_MAX_BARCODE_TEXT = 1000
_GTIN_LENGTHS = (8, 12, 13, 14)


def check_digit_ok(digits: str) -> bool:
    """The GS1 check digit (last digit) of a GTIN of ASCII digits is right."""
    # Weights 3, 1, 3, ... from the digit next to the check digit leftwards, summed over the
    # bytes (each digit's code is 48 + its value): int() per digit was most of judging one.
    codes = digits.encode("ascii")
    tripled, single = codes[-2::-2], codes[-3::-2]
    total = 3 * sum(tripled) + sum(single) - 48 * (3 * len(tripled) + len(single))
    return (10 - total % 10) % 10 == codes[-1] - 48


def _tokens(value) -> list[str] | None:
    if not value or isinstance(value, (dict, list, tuple, set, bool, bytes)):
        return None
    try:
        text = str(value).strip().lower()
    except Exception:  # pragma: no cover - str() of an exotic object failing
        return None
    if text in ABSENT_BARCODE_MARKERS or len(text) > _MAX_BARCODE_TEXT:
        return None
    return [token.strip() for token in text.split(",") if token.strip()]


def _judge(token: str) -> tuple[str | None, str | None]:
    """(the barcode, None) or (None, the problem) of one token."""
    if not (token.isascii() and token.isdigit()):
        return None, "not_digits"
    if len(token) not in _GTIN_LENGTHS:
        return None, "length"
    if not check_digit_ok(token):
        return None, "check_digit"
    code = "0" + token if len(token) == 12 else token
    if len(code) == 13 and (code[0] == "2" or code[:2] == "02"):
        return None, "store_internal"
    return code, None


def _best(value) -> tuple[str | None, str | None]:
    tokens = _tokens(value)
    if not tokens:
        return None, None
    # A 13-digit token wins over the others (sites list the EAN-13 next to older forms).
    ordered = sorted(tokens, key=lambda t: (len(t) != 13, len(t) != 12))
    first_problem = None
    for token in ordered:
        code, problem = _judge(token)
        if code is not None:
            return code, None
        first_problem = first_problem or problem
    return None, first_problem


def judge_barcode(value) -> tuple[str | None, str | None]:
    """(the cleaned barcode, None), (None, why it cleans to None: one of
    :data:`BARCODE_PROBLEMS`) or (None, None) for a field that says "no barcode" (None, "",
    "null", "notfound"). Cleaners call this once per product for both answers."""
    if (type(value) is str and value.isascii() and value.isdigit()
            and len(value) <= _MAX_BARCODE_TEXT):
        return _judge(value)  # what most sites send: one token, nothing to split or strip
    code, problem = _best(value)
    if code is not None or problem is not None:
        return code, problem
    if not value or (isinstance(value, str) and value.strip().lower() in ABSENT_BARCODE_MARKERS):
        return None, None
    return None, "not_digits"  # a list, a dict, an endless text ...


def clean_barcode(value) -> str | None:
    """The cleaned barcode of a barcode field (comma-separated tokens allowed), or None."""
    return _best(value)[0]


def barcode_problem(value) -> str | None:
    """Why a barcode field cleans to None (one of :data:`BARCODE_PROBLEMS`); None when it
    cleans to a barcode or says "no barcode" (None, "", "null", "notfound")."""
    return judge_barcode(value)[1]
