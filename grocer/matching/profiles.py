"""Per-product features (computed once): words, brand words, sizes, core words."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable

from grocer.matching.products import MatchProduct
from grocer.matching.vocabulary import (
    CORPORATE,
    DESCRIPTORS,
    PACKAGING,
    PER_BASIS,
    PERCENT,
    PIECES,
    STOPWORDS,
    VARIANT_WORDS,
    words_of,
)
from grocer.normalization import canonical_sizes, extract_raw_sizes, standardize_sizes


@dataclass(frozen=True, slots=True)
class Profile:
    """The features of one product that blocking, scoring and guards use."""

    product: MatchProduct
    words: tuple[str, ...]            # name words in order
    brand_words: frozenset[str]       # brand words without corporate words
    brand_joined: str                 # "wombatfoods"
    text_words: frozenset[str]        # name words | brand words
    joined_forms: frozenset[str]      # words and joins of 2-3 adjacent words
    measures: frozenset[tuple[float, str]]   # g / ml sizes, own
    totals: frozenset[tuple[float, str]]     # multipack totals N*S
    counts: frozenset[float]          # pack counts
    core: frozenset[str]              # identity words of the name
    numbers: frozenset[str]           # numbers left in the name ("90" of "90% cocoa")
    percents: frozenset[str] = frozenset()   # those of them stated as a percentage

    @property
    def key(self) -> str:
        return self.product.key


def _product_sizes(product: MatchProduct) -> set[tuple[float, str]]:
    raw = set(extract_raw_sizes(product.name or ""))
    if product.size and not PER_BASIS.match(product.size):
        raw |= extract_raw_sizes(product.size)
    if not raw and not product.name and not product.size:
        return canonical_sizes(product.sizes)
    return canonical_sizes(standardize_sizes(raw))


def derived_count(product: MatchProduct) -> frozenset[float]:
    """The pack count a price per each gives away: price / unit price per 1 each, when a whole
    number of 2 or more explains the price with the unit price rounded to the cent -- "6 pack"
    unsaid in name and size."""
    if not (product.price and product.unit_price and product.unit_measure == "1.0each"):
        return frozenset()
    whole = round(product.price / product.unit_price)
    fits = whole * (product.unit_price - 0.005) <= product.price \
        <= whole * (product.unit_price + 0.005)
    return frozenset({float(whole)}) if whole >= 2 and fits else frozenset()


def profile(product: MatchProduct) -> Profile:
    """The matching features of one product."""
    words = tuple(words_of(product.name))
    brand_words = frozenset(
        w for w in words_of(product.brand or "", strip_sizes=False)
        if w not in CORPORATE and w not in STOPWORDS)
    brand_joined = "".join(w for w in words_of(product.brand or "", strip_sizes=False)
                           if w not in CORPORATE)
    forms = set(words)
    for n in (2, 3):
        forms.update("".join(words[i:i + n]) for i in range(len(words) - n + 1))
    sizes = _product_sizes(product)
    measures = frozenset(s for s in sizes if s[1] in ("g", "ml"))
    counts = frozenset(v for v, u in sizes if u in ("pk", "ea") and v > 1) | frozenset(
        float(n) for n in PIECES.findall(product.name or "") if int(n) > 1)
    if not counts:
        counts = derived_count(product)
    totals = frozenset((v * n, u) for v, u in measures for n in counts
                       ) if len(counts) == 1 else frozenset()
    name_words = set(words)
    core = frozenset(w for w in name_words - brand_words - STOPWORDS - PACKAGING if not w.isdigit())
    numbers = frozenset(w for w in name_words if w.isdigit())
    percents = frozenset(PERCENT.findall(product.name or "")) & numbers
    return Profile(product, words, brand_words, brand_joined, frozenset(name_words | brand_words),
                   frozenset(forms), measures, totals, counts, core, numbers, percents)



def brand_vocabulary(profiles: Iterable[Profile]) -> frozenset[str]:
    """Words that name a brand somewhere: the brand words of all ``profiles`` (company words
    dropped) that are not variant, descriptor, packaging or connective words. A name holding
    such a word besides the brand ("Zedco Pascoe Caramels") names a co-brand or the maker's
    line, not necessarily another article."""
    words: set[str] = set()
    for p in profiles:
        words |= p.brand_words
    return frozenset(w for w in words if not w.isdigit()) - VARIANT_WORDS - DESCRIPTORS \
        - PACKAGING - STOPWORDS

