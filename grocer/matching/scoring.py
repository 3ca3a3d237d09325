"""Scoring (rapidfuzz on sorted word strings) and the guards: why a pair can never match."""

from __future__ import annotations

from typing import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

from grocer.matching.blocking import Candidate
from grocer.matching.products import MatchConfig, MatchProduct
from grocer.matching.profiles import Profile
from grocer.matching.vocabulary import CONTAINER_WORDS, CONTAINERS, DESCRIPTORS, VARIANT_WORDS


def _core_pair(c: Candidate) -> tuple[frozenset[str], frozenset[str]]:
    brands = c.a.brand_words | c.b.brand_words
    return c.a.core - brands, c.b.core - brands


def score_pairs(candidates: list[Candidate], config: MatchConfig = MatchConfig()) -> None:
    """Fill scores, one-sided words and guards of every candidate (in place)."""
    if not candidates:
        return
    left_strings, right_strings = [], []
    for c in candidates:
        ca, cb = _core_pair(c)
        left_strings.append(" ".join(sorted(ca)))
        right_strings.append(" ".join(sorted(cb)))
        c.extra_a = tuple(sorted(ca - cb))
        c.extra_b = tuple(sorted(cb - ca))
        c.guard = _guard(c, ca, cb, config)
    sort_scores = pairwise_scores(left_strings, right_strings, fuzz.ratio)
    set_scores = pairwise_scores(left_strings, right_strings, fuzz.token_set_ratio)
    for c, s1, s2 in zip(candidates, sort_scores, set_scores):
        c.sort_score = round(float(s1), 2)
        c.set_score = round(float(s2), 2)
        c.score = round((c.sort_score + c.set_score) / 2, 2)


#: From this many pairs on, scoring goes through ``rapidfuzz.process.cpdist`` (needs numpy).
BULK_SCORING_FROM = 5000


def _have_numpy() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def pairwise_scores(left: Sequence[str], right: Sequence[str], scorer) -> list[float]:
    """``scorer(left[i], right[i])`` for every i (strings are already pre-sorted token strings).

    Large batches use ``rapidfuzz.process.cpdist`` with ``workers=-1`` (all cores) when numpy is
    installed; otherwise, and for small batches, one C call per pair. Same numbers either way.
    """
    if len(left) >= BULK_SCORING_FROM and _have_numpy():
        return [float(x) for x in process.cpdist(left, right, scorer=scorer, workers=-1)]
    return [scorer(x, y) for x, y in zip(left, right)]


def _spelling_variants(x: str, y: str) -> bool:
    """True if ``x`` and ``y`` are one word spelt two ways ("cripsbread" / "crispbread",
    "brasied" / "braised", "coat" / "coated", "chocolat" / "chocolate").

    Both 4+ letters, same first letter, ``fuzz.ratio`` >= 80, and the difference is an ending
    (one word begins with the other), one inserted or dropped letter, or two swapped adjacent
    letters; one replaced letter only in words of 7+ letters. A replaced letter in a short
    word is another word as often as a typo: liver / lover, paste / pasta, trail / train; and
    caramel / caramilk (two edits) are two articles.
    """
    if len(x) < 4 or len(y) < 4 or x[0] != y[0] or x.isdigit() or y.isdigit():
        return False
    if fuzz.ratio(x, y) < 80:
        return False
    if x.startswith(y) or y.startswith(x):
        return True
    if len(x) != len(y):
        return Levenshtein.distance(x, y) == 1
    if DamerauLevenshtein.distance(x, y) != 1:
        return False
    return Levenshtein.distance(x, y) == 2 or min(len(x), len(y)) >= 7


def _pair_typos(extra_a: set[str], extra_b: set[str]) -> tuple[set[str], set[str]]:
    """Drop one-sided words that are spelling variants of each other (see
    :func:`_spelling_variants`)."""
    for x in sorted(extra_a):
        for y in sorted(extra_b):
            if _spelling_variants(x, y):
                extra_a.discard(x)
                extra_b.discard(y)
                break
    return extra_a, extra_b


def _containers(p: Profile) -> set[int]:
    words = set(p.words)
    return {i for i, kind in enumerate(CONTAINERS) if words & kind}


def _guard(c: Candidate, ca: frozenset[str], cb: frozenset[str], config: MatchConfig) -> str | None:
    """Why the pair can never be the same article, or None."""
    if not ca or not cb:
        return "empty-name"
    if c.a.numbers != c.b.numbers:
        return "numbers-differ:" + ",".join(sorted(c.a.numbers ^ c.b.numbers))
    kinds_a, kinds_b = _containers(c.a), _containers(c.b)
    if kinds_a and kinds_b and not kinds_a & kinds_b:
        only_a = (set(c.a.words) - set(c.b.words)) & CONTAINER_WORDS
        only_b = (set(c.b.words) - set(c.a.words)) & CONTAINER_WORDS
        return "containers-conflict:" + ",".join(sorted(only_a)) + "/" + ",".join(sorted(only_b))
    extra_a, extra_b = _pair_typos(set(ca - cb), set(cb - ca))
    variants_a = {w for w in extra_a if w in VARIANT_WORDS and w not in DESCRIPTORS}
    variants_b = {w for w in extra_b if w in VARIANT_WORDS and w not in DESCRIPTORS}
    if variants_a and variants_b:
        return ("variants-conflict:" + ",".join(sorted(variants_a)) + "/"
                + ",".join(sorted(variants_b)))
    if variants_a or variants_b:
        return "variant-one-sided:" + ",".join(sorted(variants_a | variants_b))
    if len(extra_a) > config.max_one_sided or len(extra_b) > config.max_one_sided or (
            len(extra_a) + len(extra_b)) > config.max_unshared_share * len(ca | cb):
        return "too-many-unshared-words"
    unexplained = {w for w in extra_a | extra_b if w not in DESCRIPTORS}
    if len(unexplained) > config.max_unexplained:
        return "unexplained-words:" + ",".join(sorted(unexplained))
    ratio = unit_price_ratio(c.a.product, c.b.product)
    if (config.max_unit_price_ratio is not None and ratio is not None
            and ratio > config.max_unit_price_ratio
            and c.a.product.company != c.b.product.company):
        # cross-chain evidence only: one chain's two listings are compared by their names
        return f"unit-prices-differ:x{ratio:.1f}"
    return None


def unit_price_ratio(a: MatchProduct, b: MatchProduct) -> float | None:
    """How many times dearer per kg / l / each one product is than the other (>= 1), or None
    when either unit price is unknown or they are per different measures."""
    if not (a.unit_price and b.unit_price and a.unit_price > 0 and b.unit_price > 0):
        return None
    if not a.unit_measure or a.unit_measure != b.unit_measure:
        return None
    return max(a.unit_price, b.unit_price) / min(a.unit_price, b.unit_price)

