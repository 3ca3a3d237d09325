"""Scoring (rapidfuzz on sorted word strings) and the guards: why a pair can never match."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

from grocer.matching.blocking import Candidate
from grocer.matching.products import MatchConfig, MatchProduct
from grocer.matching.profiles import Profile
from grocer.matching.vocabulary import (
    CLAIM_WORDS,
    CONTAINER_WORDS,
    CONTAINERS,
    DESCRIPTORS,
    IMPLIED_BY,
    PACK_SIZE_WORDS,
    PLAIN_VARIANTS,
    VARIANT_WORDS,
)


def _core_pair(c: Candidate) -> tuple[frozenset[str], frozenset[str]]:
    brands = c.a.brand_words | c.b.brand_words
    return c.a.core - brands, c.b.core - brands


#: Size relations where both sides weigh the same (see :func:`_size_relation`).
EQUAL_WEIGHTS = frozenset({"equal", "equal-count-one-sided", "total"})


def score_pairs(candidates: list[Candidate], config: MatchConfig = MatchConfig()) -> None:
    """Fill scores, one-sided words and guards of every candidate (in place).

    The score is the mean of token-sort and token-set ratios on the sorted core words. For a
    pair of two chains, when the same score on the *identity words* alone (core words without
    generic descriptors and without the one-sided words a cross-chain rule explains) is
    higher, the score moves half-way towards it; when the identity words are the same, the
    score is at least ``config.explained_score``: "Wombat Oat Crunch" and "Wombat Oat Crunch
    Breakfast Cereal" name one article, but the descriptors pull their plain score under the
    threshold. An exact name (100) still leads such a pair by the margin.
    """
    if not candidates:
        return
    left, right, left_identity, right_identity = [], [], [], []
    for c in candidates:
        ca, cb = _core_pair(c)
        left.append(" ".join(sorted(ca)))
        right.append(" ".join(sorted(cb)))
        c.extra_a = tuple(sorted(ca - cb))
        c.extra_b = tuple(sorted(cb - ca))
        c.guard = _guard(c, ca, cb, config)
        if c.cross_chain:
            drop = DESCRIPTORS | {w for w, _ in c.explained}
            left_identity.append(" ".join(sorted(ca - drop)))
            right_identity.append(" ".join(sorted(cb - drop)))
        else:
            left_identity.append(left[-1])
            right_identity.append(right[-1])
    sort_scores = pairwise_scores(left, right, fuzz.ratio)
    set_scores = pairwise_scores(left, right, fuzz.token_set_ratio)
    identity_sort = pairwise_scores(left_identity, right_identity, fuzz.ratio)
    identity_set = pairwise_scores(left_identity, right_identity, fuzz.token_set_ratio)
    for i, c in enumerate(candidates):
        c.sort_score = round(float(sort_scores[i]), 2)
        c.set_score = round(float(set_scores[i]), 2)
        c.score = round((c.sort_score + c.set_score) / 2, 2)
        if c.guard is None and c.cross_chain and left_identity[i] == right_identity[i]:
            # names differing only by descriptors and explained words (or brand-only names):
            # as good as an exact name, but an exact name still leads by the margin
            c.score = max(c.score, config.explained_score)
        elif left_identity[i] and right_identity[i]:
            # identity words agreeing lift the score half-way
            identity = (float(identity_sort[i]) + float(identity_set[i])) / 2
            c.score = max(c.score, round((c.score + identity) / 2, 2))


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
    return [scorer(x, y) for x, y in zip(left, right, strict=False)]


def _spelling_variants(x: str, y: str) -> bool:
    """True if ``x`` and ``y`` are one word spelt two ways ("crispbraed" / "crispbread",
    "biscuts" / "biscuits", "coat" / "coated", "chocolat" / "chocolate").

    Both 4+ letters, same first letter, ``fuzz.ratio`` >= 80, and the difference is an ending
    (one word begins with the other), one inserted or dropped letter, or two swapped adjacent
    letters; one replaced letter only in words of 7+ letters. A replaced letter in a short
    word is another word as often as a typo: liver / lover, paste / pasta, trail / train; and
    words two edits apart are two articles.
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


def _labels(p: Profile, other: Profile) -> set[str]:
    """Variant words of ``p`` read as the article's label, not as a variant: followed in the name
    by a generic descriptor the other name lacks ("potato chips", "dark chocolate" beside a
    name stating neither). "Orange chocolate" beside "chocolate" stays a variant."""
    others = set(other.words)
    return {w for w, after in zip(p.words, p.words[1:], strict=False)
            if w in VARIANT_WORDS and w not in DESCRIPTORS and after in DESCRIPTORS
            and after not in others}


def _compounds(extra: set[str], other: Profile) -> set[str]:
    """One-sided words that are two adjacent words of the other name written as one
    ("seasalt" / "sea salt"), with those two words."""
    found = set()
    for first, second in zip(other.words, other.words[1:], strict=False):
        if first + second in extra:
            found |= {first + second, first, second}
    return found


def _one_sided_percentage(c: Candidate, p: Profile, other: Profile) -> bool:
    """True if the only numbers of the pair are percentages of ``p``'s name ("Dark 70%") and
    the other name states no number, both sides weighing the same."""
    return (c.size in EQUAL_WEIGHTS and bool(p.numbers) and p.numbers == p.percents
            and not other.numbers)


def _numbers_are_counts(c: Candidate) -> bool:
    """True if every number only one name has is the other side's pack count ("Bites 12
    Multipack" beside "Bites 12 Pieces")."""
    return all(float(n) in other.counts
               for mine, other in ((c.a, c.b), (c.b, c.a))
               for n in mine.numbers - other.numbers)


def _cross_chain_explained(c: Candidate, extra_a: set[str], extra_b: set[str],
                           ) -> dict[str, str]:
    """One-sided words of a two-chain pair that general grocery knowledge explains, each with
    its rule (see the word lists of :mod:`grocer.matching.vocabulary`)."""
    extra = extra_a | extra_b
    explained: dict[str, str] = {}
    if c.size in EQUAL_WEIGHTS:
        explained.update(dict.fromkeys(extra & PACK_SIZE_WORDS, "pack-size word, equal weights"))
    explained.update(dict.fromkeys(extra & CLAIM_WORDS, "claim word"))
    for mine, other in ((extra_a, c.b), (extra_b, c.a)):
        for word in mine & set(IMPLIED_BY):
            if IMPLIED_BY[word] & set(other.words):
                explained[word] = "implied by the other name"
    for mine, p, other in ((extra_a, c.a, c.b), (extra_b, c.b, c.a)):
        # "70% cocoa" beside "70%" or beside no number: what the percentage is of
        stated = p.percents if _one_sided_percentage(c, p, other) else p.percents & other.percents
        for number, word in zip(p.words, p.words[1:], strict=False):
            if number in stated and word in mine:
                explained[word] = "what a percentage is of"
    for word in (_compounds(extra_a, c.b) | _compounds(extra_b, c.a)) & extra:
        explained.setdefault(word, "one word / two words")
    # a label or a plain variant on one side only while the other side states no variant
    # word at all (not even "milk" of "milk chocolate": dark beside milk is two articles)
    for mine, theirs, p, other in ((extra_a, extra_b, c.a, c.b), (extra_b, extra_a, c.b, c.a)):
        if (theirs - set(explained)) & VARIANT_WORDS:
            continue
        for word in _labels(p, other) & mine:
            explained.setdefault(word, "label (variant word + descriptor)")
        variants = {w for w in mine - set(explained) if w in VARIANT_WORDS - DESCRIPTORS}
        if variants and variants <= PLAIN_VARIANTS:
            explained.update(dict.fromkeys(variants, "plain variant"))
    return explained


def _guard(c: Candidate, ca: frozenset[str], cb: frozenset[str], config: MatchConfig) -> str | None:
    """Why the pair can never be the same article, or None. Sets ``c.explained``.

    A pair of two chains gets the cross-chain rules (:func:`_cross_chain_explained`; a name
    that is only its brand and descriptors -- "Wombat Bar" beside "Wombat Chocolate Bar" --
    when both weigh the same); a pair within one chain (the duplicate-listing check) does not.
    """
    extra_a, extra_b = _pair_typos(set(ca - cb), set(cb - ca))
    explained = _cross_chain_explained(c, extra_a, extra_b) if c.cross_chain else {}
    c.explained = tuple(sorted(explained.items()))
    extra_a -= set(explained)
    extra_b -= set(explained)
    if not ca or not cb:
        brand_only = (c.cross_chain and c.size in EQUAL_WEIGHTS
                      and (extra_a | extra_b) <= DESCRIPTORS)
        if not brand_only:
            return "empty-name"
    if c.a.numbers != c.b.numbers and not (c.cross_chain and (
            _one_sided_percentage(c, c.a, c.b) or _one_sided_percentage(c, c.b, c.a)
            or _numbers_are_counts(c))):
        return "numbers-differ:" + ",".join(sorted(c.a.numbers ^ c.b.numbers))
    kinds_a, kinds_b = _containers(c.a), _containers(c.b)
    if kinds_a and kinds_b and not kinds_a & kinds_b:
        only_a = (set(c.a.words) - set(c.b.words)) & CONTAINER_WORDS
        only_b = (set(c.b.words) - set(c.a.words)) & CONTAINER_WORDS
        return "containers-conflict:" + ",".join(sorted(only_a)) + "/" + ",".join(sorted(only_b))
    variants_a = {w for w in extra_a if w in VARIANT_WORDS and w not in DESCRIPTORS}
    variants_b = {w for w in extra_b if w in VARIANT_WORDS and w not in DESCRIPTORS}
    if variants_a and variants_b:
        return ("variants-conflict:" + ",".join(sorted(variants_a)) + "/"
                + ",".join(sorted(variants_b)))
    if variants_a or variants_b:
        return "variant-one-sided:" + ",".join(sorted(variants_a | variants_b))
    if ca and cb and (len(extra_a) > config.max_one_sided or len(extra_b) > config.max_one_sided
                      or len(extra_a) + len(extra_b) > config.max_unshared_share * len(ca | cb)):
        return "too-many-unshared-words"
    unexplained = {w for w in extra_a | extra_b if w not in DESCRIPTORS}
    if len(unexplained) > config.max_unexplained:
        return "unexplained-words:" + ",".join(sorted(unexplained))
    ratio = unit_price_ratio(c.a.product, c.b.product)
    if (config.max_unit_price_ratio is not None and ratio is not None
            and ratio > config.max_unit_price_ratio and c.cross_chain):
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

