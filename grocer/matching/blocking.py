"""Blocking: which products of two chains are compared at all (brands agree, sizes do not
conflict)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Sequence

from grocer.matching.products import MatchConfig
from grocer.matching.profiles import Profile
from grocer.normalization import are_sizes_compatible


def _brand_relation(a: Profile, b: Profile) -> str | None:
    """How the brands agree ("equal", "a-in-b", "b-in-a", "unbranded") or None."""
    na, nb = a.product.normalized_brand, b.product.normalized_brand
    if not a.brand_words and not b.brand_words:
        return "unbranded"
    if na and na == nb:
        return "equal"
    if a.brand_words and (a.brand_words <= b.text_words or a.brand_joined in b.joined_forms):
        return "a-in-b"
    if b.brand_words and (b.brand_words <= a.text_words or b.brand_joined in a.joined_forms):
        return "b-in-a"
    return None


def _size_relation(a: Profile, b: Profile, tolerance: float) -> str | None:
    """How the sizes relate; None when they conflict (never the same article).

    * ``equal``: a mass/volume of each side is the same (within 0.5 %), counts equal or absent;
    * ``equal-count-one-sided``: same, but only one side states a pack count;
    * ``total``: equal only through a multipack total ("125g x 2 pack" vs "250g");
    * ``close``: only §1.9-compatible (within ``tolerance``, 10 %): a re-sized article is a new
      article, so such pairs are blocked together but never suggested;
    * ``one-sided``: only one side states a mass/volume or a count ("Each" vs "6 pack");
    * ``none``: neither side states any size (loose produce: "Each" vs "each");
    * None: counts differ, or masses/volumes are not even §1.9-compatible.
    """
    if a.counts and b.counts and not (a.counts & b.counts):
        return None
    if a.measures and b.measures:
        for va, ua in a.measures:
            for vb, ub in b.measures:
                if ua == ub and abs(va - vb) <= 0.005 * max(va, vb):
                    return "equal" if bool(a.counts) == bool(b.counts) else "equal-count-one-sided"
        if (a.totals or b.totals) and are_sizes_compatible(
                a.totals | a.measures, b.totals | b.measures, 0.005):
            return "total"
        if are_sizes_compatible(a.measures, b.measures, tolerance) or \
                are_sizes_compatible(b.measures, a.measures, tolerance):
            return "close"
        return None
    if a.measures or b.measures or a.counts or b.counts:
        if a.counts and b.counts and not (a.measures or b.measures):
            return "equal-count"
        return "one-sided"
    return "none"


@dataclass(slots=True)
class Candidate:
    """A pair inside one block, with its evidence. ``a`` sorts before ``b`` by company."""

    a: Profile
    b: Profile
    brand: str
    size: str
    sort_score: float = 0.0
    set_score: float = 0.0
    score: float = 0.0
    guard: str | None = None        # why the pair can never match; None = passed
    extra_a: tuple[str, ...] = ()   # core words of a missing on b
    extra_b: tuple[str, ...] = ()
    #: one-sided words a cross-chain rule explains (pack-size, claim, label, plain-variant
    #: words, compounds), with the rule: ("share", "pack-size words, equal weights")
    explained: tuple[tuple[str, str], ...] = ()

    @property
    def cross_chain(self) -> bool:
        return self.a.product.company != self.b.product.company

    @property
    def block(self) -> str:
        sizes = ",".join(sorted(_render(s) for s in (self.a.measures & self.b.measures)))
        return f"brand:{self.brand};size:{self.size}" + (f"({sizes})" if sizes else "")


def _render(size: tuple[float, str]) -> str:
    value, unit = size
    return f"{value:g}{unit}"


def _index(profiles: Sequence[Profile]):
    by_text_word: dict[str, set[int]] = defaultdict(set)
    by_brand_word: dict[str, set[int]] = defaultdict(set)
    by_joined: dict[str, set[int]] = defaultdict(set)
    by_form: dict[str, set[int]] = defaultdict(set)
    by_norm_brand: dict[str, set[int]] = defaultdict(set)
    unbranded: set[int] = set()
    for i, p in enumerate(profiles):
        for w in p.text_words:
            by_text_word[w].add(i)
        for f in p.joined_forms:
            by_form[f].add(i)
        if p.brand_words:
            by_brand_word[min(p.brand_words)].add(i)
            by_joined[p.brand_joined].add(i)
        else:
            unbranded.add(i)
        if p.product.normalized_brand:
            by_norm_brand[p.product.normalized_brand].add(i)
    return by_text_word, by_brand_word, by_joined, by_form, by_norm_brand, unbranded


def candidate_pairs(left: Sequence[Profile], right: Sequence[Profile],
                    config: MatchConfig = MatchConfig(), *,
                    same_company: bool = False) -> list[Candidate]:
    """Every (left, right) pair whose brands agree and whose sizes do not conflict.

    Pairs are of different companies; with ``same_company`` only pairs of one company (each
    unordered pair once, ``a.key < b.key``), to find a chain's duplicate listings.
    """
    by_text_word, by_brand_word, by_joined, by_form, by_norm_brand, unbranded = _index(right)
    out = []
    for a in left:
        found: set[int] = set()
        if a.brand_words:
            # a's brand inside b's name/brand
            sets = [by_text_word.get(w, set()) for w in a.brand_words]
            found |= set.intersection(*sets) if sets else set()
            found |= by_form.get(a.brand_joined, set())
        else:
            found |= unbranded
        # b's brand inside a's name/brand
        for w in a.text_words:
            found |= by_brand_word.get(w, set())
        for f in a.joined_forms:
            found |= by_joined.get(f, set())
        if a.product.normalized_brand:
            found |= by_norm_brand.get(a.product.normalized_brand, set())
        for j in sorted(found):
            b = right[j]
            if (a.product.company == b.product.company) != same_company or a.key == b.key:
                continue
            if same_company and a.key > b.key:
                continue
            brand = _brand_relation(a, b)
            if brand is None:
                continue
            size = _size_relation(a, b, config.size_tolerance)
            if size is None:
                continue
            out.append(Candidate(a, b, brand, size))
    return out

