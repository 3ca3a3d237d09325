"""Sizes: extraction from text (§1.8.3), standardization (§1.8.4), parsing and comparison (§1.9).

Readings fixed by spec §1.8.7 (the golden Aldi file confirms the first group):

* spaces around the multipack ``x`` are optional ("12x375ml");
* each pattern's matches are removed (replaced by a single space) before the next pattern runs;
* the two multipack patterns run before the plain one;
* the number-unit separator (optional spaces, optional "/", optional spaces) also applies inside
  the range pattern ("17-30 Kg");
* standalone unit words need word boundaries on both sides and exclude bare "g"/"l";
* numbers are ``\\d+(?:\\.\\d+)?``; spaces are allowed around the range "-"; the multipack count
  is an integer; unit alternatives are tried longest first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Iterable

__all__ = [
    "UNIT_VARIATIONS",
    "extract_raw_sizes",
    "standardize_sizes",
    "parse_size",
    "canonical_sizes",
    "are_sizes_compatible",
    "are_sizes_different",
]

#: Unit vocabulary (§1.8.2): standard unit -> its spellings. No oz, m, sheets or dozen.
UNIT_VARIATIONS: dict[str, tuple[str, ...]] = {
    "g": ("g", "gram", "grams"),
    "kg": ("kg", "kilogram", "kilograms"),
    "ml": ("ml", "millilitre", "millilitres"),
    "l": ("l", "litre", "litres"),
    "pk": ("pk", "pack", "packs"),
    "ea": ("each", "ea"),
}

_STANDARD_UNIT = {spelling: std for std, spellings in UNIT_VARIATIONS.items() for spelling in spellings}
# Longest first, so "kilograms" is tried before "kg" and "grams" before "g".
_ALL_SPELLINGS = sorted(_STANDARD_UNIT, key=lambda s: (-len(s), s))
_UNIT = "(" + "|".join(_ALL_SPELLINGS) + ")"
_WORD_UNIT = "(" + "|".join(s for s in _ALL_SPELLINGS if len(s) > 1) + ")"
_NUM = r"(\d+(?:\.\d+)?)"
# A match can only start where a digit run starts. This never changes a result (the number is
# greedy and nothing after it may begin with a digit, so a match found inside a run would have
# been found at the run's start) but keeps the scan linear on long digit runs.
_AT_RUN_START = r"(?<!\d)"
_SEP = r"\s*/?\s*"

# (a) range "A-B<unit>" -> A<unit>, B<unit>
_RANGE = re.compile(_AT_RUN_START + _NUM + r"\s*-\s*" + _NUM + _SEP + _UNIT + r"\b")
# (b) multipack "N x S<unit>" -> Npk, S<unit>
_MULTI_COUNT_FIRST = re.compile(_AT_RUN_START + r"(\d+)\s*x\s*" + _NUM + _SEP + _UNIT)
# (c) multipack "S<unit> x N" -> S<unit>, Npk
_MULTI_SIZE_FIRST = re.compile(_AT_RUN_START + _NUM + _SEP + _UNIT + r"\s*x\s*(\d+)")
# (d) plain "S<unit>"
_PLAIN = re.compile(_AT_RUN_START + _NUM + _SEP + _UNIT + r"\b")
# (e) standalone unit words (not bare "g"/"l") -> the unit alone
_WORD = re.compile(r"\b" + _WORD_UNIT + r"\b")

_APPROX_PREFIXES = ("approx. ", "approx ", "around ", "about ")

# Longer texts are cut before extraction: identity fields are at most 255 characters once
# cleaned, and the patterns backtrack quadratically on very long digit runs.
MAX_EXTRACT_CHARS = 1024

_HAS_DIGIT = re.compile(r"\d")


def _extract_uncached(text: str) -> frozenset[str]:
    text = text[:MAX_EXTRACT_CHARS].lower().replace(",", "")
    for prefix in _APPROX_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    found: set[str] = set()
    if _HAS_DIGIT.search(text):

        def _range(m: re.Match) -> str:
            unit = _STANDARD_UNIT[m.group(3)]
            found.add(m.group(1) + unit)
            found.add(m.group(2) + unit)
            return " "

        def _count_first(m: re.Match) -> str:
            found.add(m.group(1) + "pk")
            found.add(m.group(2) + _STANDARD_UNIT[m.group(3)])
            return " "

        def _size_first(m: re.Match) -> str:
            found.add(m.group(1) + _STANDARD_UNIT[m.group(2)])
            found.add(m.group(3) + "pk")
            return " "

        def _plain(m: re.Match) -> str:
            found.add(m.group(1) + _STANDARD_UNIT[m.group(2)])
            return " "

        if "-" in text:  # cheap pre-checks: a range needs "-", a multipack needs "x"
            text = _RANGE.sub(_range, text)
        if "x" in text:
            text = _MULTI_COUNT_FIRST.sub(_count_first, text)
            text = _MULTI_SIZE_FIRST.sub(_size_first, text)
        text = _PLAIN.sub(_plain, text)
    for m in _WORD.finditer(text):
        found.add(_STANDARD_UNIT[m.group(1)])
    return frozenset(found)


_extract_cached = lru_cache(maxsize=32768)(_extract_uncached)
_CACHE_MAX_CHARS = 200  # names, brands and sizes repeat; long texts are not worth keeping


def _extract(text: str) -> frozenset[str]:
    if len(text) <= _CACHE_MAX_CHARS:
        return _extract_cached(text)
    return _extract_uncached(text)


def extract_raw_sizes(text) -> set[str]:
    """Raw size tokens found in one text (name, brand or size field), units in standard form.

    Examples: "Milk 500g" -> {"500g"}; "6 x 375ml" -> {"6pk", "375ml"};
    "100-200g product" -> {"100g", "200g"}; "Value Pack" -> {"pk"}; non-strings -> set().
    """
    if not isinstance(text, str) or not text:
        return set()
    return set(_extract(text))


_PARSE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([a-z]+)")
_TO_BASE = {"g": (1.0, "g"), "kg": (1000.0, "g"), "ml": (1.0, "ml"), "l": (1000.0, "ml"),
            "pk": (1.0, "pk"), "ea": (1.0, "ea")}


@lru_cache(maxsize=32768)
def _parse(s: str) -> tuple[float, str] | None:
    m = _PARSE.fullmatch(s)
    if m is None:
        return None
    base = _TO_BASE.get(m.group(2))
    if base is None:
        return None
    factor, unit = base
    value = float(m.group(1))
    if factor != 1.0:
        value = value * factor  # binary float on purpose: "1.001kg" -> 1000.9999999999999 g
    return value, unit


def parse_size(s) -> tuple[float, str] | None:
    """``'500g'`` -> ``(500.0, 'g')``, ``'1kg'`` -> ``(1000.0, 'g')``, ``'1.5l'`` -> ``(1500.0, 'ml')``.

    Input must be lower-case without spaces (number then unit letters); an unknown unit
    (``'500oz'``), a missing number (``'pk'``) or a missing unit (``'500'``) gives None.
    """
    if not isinstance(s, str):
        return None
    return _parse(s)


def _render(value: float, unit: str) -> str:
    if value.is_integer():
        return f"{int(value)}{unit}"
    return f"{value!r}{unit}"


def _pass1(s: str) -> str:
    s = "".join(s.split()).replace("pack", "pk").replace("each", "ea")
    return "ea" if s == "1ea" else s


def standardize_sizes(raw_sizes: Iterable[str]) -> list[str]:
    """Canonical size strings, sorted (§1.8.4).

    Pass 1 (text): remove spaces, "pack" -> "pk", "each" -> "ea", exactly "1ea" -> "ea".
    Pass 2 (numeric): parsable sizes are keyed by their ``(value, base unit)`` tuple (so
    "0.5kg" and "500g" collapse) and rendered as ``int(value)`` when integral, else the float's
    ``repr``, plus the base unit; unparsable ones ("pk", "kg", "ea") are kept verbatim.
    """
    canonical: dict[tuple[float, str], str] = {}
    verbatim: set[str] = set()
    for raw in raw_sizes:
        if not isinstance(raw, str):
            continue
        s = _pass1(raw)
        parsed = _parse(s)
        if parsed is None:
            verbatim.add(s)
        elif parsed not in canonical:
            canonical[parsed] = _render(*parsed)
    verbatim.update(canonical.values())
    return sorted(verbatim)


def canonical_sizes(sizes: Iterable[str]) -> set[tuple[float, str]]:
    """The parsable sizes of a ``sizes`` list as ``(value, base unit)`` tuples."""
    out = set()
    for s in sizes or ():
        parsed = parse_size(_pass1(s)) if isinstance(s, str) else None
        if parsed is not None:
            out.add(parsed)
    return out


def _as_canonical(sizes) -> set[tuple[float, str]]:
    if not sizes:
        return set()
    items = list(sizes)
    if all(isinstance(x, tuple) for x in items):
        return set(items)
    return canonical_sizes(x for x in items if isinstance(x, str))


def are_sizes_compatible(a, b, tolerance: float = 0.1) -> bool:
    """True if some size of ``a`` and some size of ``b`` share a base unit and are close.

    ``a``/``b``: canonical tuples (from :func:`canonical_sizes`) or size strings. Packs must be
    equal; other units within ``|a - b| <= a * tolerance`` (relative to ``a``: asymmetric, as in
    SplitCart). Empty on either side -> False.
    """
    sa, sb = _as_canonical(a), _as_canonical(b)
    if not sa or not sb:
        return False
    for va, ua in sa:
        for vb, ub in sb:
            if ua != ub:
                continue
            if ua == "pk":
                if va == vb:
                    return True
            elif abs(va - vb) <= va * tolerance:
                return True
    return False


def are_sizes_different(a, b) -> bool:
    """False if either side is empty; otherwise True when the canonical sets differ."""
    sa, sb = _as_canonical(a), _as_canonical(b)
    if not sa or not sb:
        return False
    return sa != sb
