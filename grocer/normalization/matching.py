"""Cross-chain product matching: suggest pairs of products (of different companies) that are
the same article although their identity keys differ (issue 9).

Pure: no Scrapy, no database. The database side is :mod:`grocer.db.matching`, the command
``scrapy match``. Barcodes are never used here (a product with a barcode is merged by barcode
anyway); :attr:`MatchProduct.barcode` only travels into reports and the evaluation.

Three stages, each recorded on every suggested pair (``block``, scores, ``rule``):

1. **Blocking** (:func:`candidate_pairs`). Two products of different companies are compared only
   when their *brands agree* -- equal normalized brands (after the brand table), or every word
   of one side's brand (company words such as "Pty Ltd" dropped) found in the other side's name
   or brand: IGA often names the maker, "Mondelez Australia Pty Limited", and puts "Cadbury" in
   the name -- and their *sizes do not conflict*. Sizes are taken from name and size field
   (spec §1.8.3) as canonical tuples (§1.9): a bare ``ea`` ("Each", IGA's selling unit) or
   ``pk`` has no number and is no size; a size field "per 100g" is a unit-price basis, not a
   size; a multipack "N x S" also offers its total N*S. Masses/volumes must be §1.9-compatible
   (10 %) when both sides have one, pack counts equal when both sides have one.
2. **Scoring** (:func:`score_pairs`). Each side's name becomes a set of words (ASCII, lower,
   light plural folding, a few synonyms) without size mentions, without both sides' brand words
   and without packaging words; the pre-sorted word strings are compared with rapidfuzz
   (``ratio`` = token-sort, and ``token_set_ratio``; ``process.cpdist`` with ``workers=-1`` for
   large batches); the score is their mean.
3. **Decision** (:func:`decide`), tuned for precision -- a wrong merge mixes two products'
   prices, a missed one only costs a comparison:

   * guards: no differing numbers ("70% cocoa" vs "85%", "size 4" vs "size 5"); no variant word
     on one side only or conflicting ones (lite/skim vs full cream, zero/diet, sugar free,
     flavours, colours, share packs ...); every word only one side has must be a generic
     descriptor ("biscuits", "chocolate", "sauce") or a spelling variant of a word of the other
     (swapped, dropped or added letters, an ending -- not another letter in a short word:
     liver / lover); no conflicting containers (cans vs bottles, jar vs pouch);
   * sizes: a mass/volume equal on both sides (within 0.5 %); weaker evidence (only equal
     counts, a multipack total, one side's count missing, no size on either side) needs a
     higher score; "close" (re-sized article) or one-sided sizes ("Each" vs "6 pack") are
     never suggested;
   * score >= threshold; mutual best (the best guard-passing candidate of both products); a
     margin over each product's runner-up;
   * the pair's *block* (the other products of that brand and size relation, whatever their
     guards said) must leave no doubt: no *rival listing* -- a product differing from the
     pair's product only by generic descriptors or by another brand's name ("Cadbury Pascall
     Caramels" beside "Cadbury Caramels": either may be the article) -- and no *duplicate
     listing* (:func:`duplicate_listings`): when a chain lists two products of one brand and
     one mass/volume that the matcher would pair with each other (an old and a re-coded
     listing of one article, or names too poor to tell two articles apart), names no longer
     identify one barcode in that block, and no pair into it is suggested.

   What no rule on names can see: one article under two barcodes over the years (re-coded,
   re-sized with a stale size field, imported), when each chain lists only one of them.

Output is deterministic: products are processed in key order, ties broken by key.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Iterable, Mapping, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

from grocer.normalization import (
    are_sizes_compatible,
    canonical_sizes,
    extract_raw_sizes,
    standardize_sizes,
)

__all__ = [
    "MatchProduct",
    "MatchConfig",
    "Candidate",
    "MatchPair",
    "MatchResult",
    "profile",
    "candidate_pairs",
    "score_pairs",
    "duplicate_listings",
    "brand_vocabulary",
    "decide",
    "match_products",
    "group_pairs",
]


# --------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class MatchProduct:
    """One product as the matcher sees it.

    ``key`` identifies the product (the v1 key ``normalized_name_brand_size`` for database
    products); ``sizes`` are its v1 sizes (used only when neither ``name`` nor ``size`` give
    any); ``normalized_brand`` its brand key after the brand table. ``weight`` (prices or stores)
    picks the canonical product of a pair. ``barcode`` is carried, never matched on.
    """

    key: str
    name: str
    company: str
    brand: str = ""
    size: str = ""
    sizes: tuple[str, ...] = ()
    normalized_brand: str = ""
    barcode: str | None = None
    weight: int = 0
    id: int | None = None


#: Size relations that can be suggested (see :func:`_size_relation`); "close" and "one-sided"
#: pairs are blocked together (and reported as rejected) but never suggested.
STRONG_SIZES = frozenset({"equal"})
WEAK_SIZES = frozenset({"equal-count-one-sided", "equal-count", "total", "none"})


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Thresholds of the decision rule (scores are 0-100)."""

    #: score needed when a mass/volume is equal on both sides
    min_score: float = 80.0
    #: extra score needed for weaker size evidence (only a count, a multipack total, no size)
    weak_size_extra: float = 8.0
    #: extra score needed when neither side has a brand
    unbranded_extra: float = 5.0
    #: the winner must lead each side's runner-up by this much
    margin: float = 5.0
    #: §1.9 tolerance used for blocking ("close" sizes are compared, never suggested)
    size_tolerance: float = 0.1
    #: at most this many core words of a side may be missing on the other side ...
    max_one_sided: int = 3
    #: ... and together at most this share of the union of core words
    max_unshared_share: float = 0.5
    #: one-sided words that are not generic descriptors (see DESCRIPTORS) tolerated
    max_unexplained: int = 0

    def threshold(self, size_relation: str, branded: bool) -> float | None:
        """The score a pair needs, or None when its size relation is never suggested."""
        if size_relation in STRONG_SIZES:
            base = self.min_score
        elif size_relation in WEAK_SIZES:
            base = self.min_score + self.weak_size_extra
        else:
            return None
        return base if branded else base + self.unbranded_extra

    def with_min_score(self, min_score: float) -> "MatchConfig":
        """The same rule with ``min_score`` changed (the stricter thresholds move with it)."""
        return replace(self, min_score=min_score)


# --------------------------------------------------------------------------------------------
# vocabulary

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")
_WORD = re.compile(r"[a-z0-9]+")
_UNITS = (r"kilograms?|kg|grams?|gms?|g|millilitres?|milliliters?|mls?|litres?|liters?|ltrs?|lt|l"
          r"|packs?|pk|each|ea")
_NUM = r"\d+(?:\.\d+)?"
# A size mention in a name ("500g", "6 x 375ml", "375ml x 24", "10 pack", "1.25 L").
_SIZE_MENTION = re.compile(
    rf"(?:\b\d+\s*x\s*)?\b{_NUM}\s*/?\s*(?:{_UNITS})\b(?:\s*x\s*\d+\b)?|\b\d+\s*x\b")
_PER_BASIS = re.compile(r"^\s*(?:per|/)\b", re.I)

#: Words with no identity: articles, connectives.
STOPWORDS = frozenset("a an and the with of in on for to from by n or".split())
#: Packaging and presentation words: chains add or omit them freely (removed before scoring).
PACKAGING = frozenset(
    "bag bar block bottle box can canned carton case container jar pack packet pouch punnet roll "
    "sachet tin tray tub piece prepack each".split())
#: Kinds of container: a name stating one kind and the other name another kind are other
#: articles (beer in cans vs in bottles, honey in a jar vs a squeeze pouch). Words of one set
#: are the same kind. Only these packaging words conflict -- "pack", "box", "bag" are
#: presentation words chains use freely.
CONTAINERS: tuple[frozenset[str], ...] = (
    frozenset({"can", "canned", "tin"}), frozenset({"bottle"}), frozenset({"carton"}),
    frozenset({"jar"}), frozenset({"pouch", "sachet"}))

_CONTAINER_WORDS = frozenset().union(*CONTAINERS)

#: Words of company names that are not brands ("Mondelez Australia Pty Limited").
CORPORATE = frozenset(
    "pty ltd limited inc co company corporation corp australia aust nz llc sa sau gmbh plc "
    "group holdings unit trust international intl food product brand".split())

#: Spellings that mean the same (applied to single words after stemming).
SYNONYMS: Mapping[str, str] = {
    "lite": "light", "choc": "chocolate", "chocolatey": "chocolate", "chocolaty": "chocolate",
    "yogurt": "yoghurt", "chili": "chilli", "barbecue": "bbq", "bbqs": "bbq", "flavor": "flavour",
    "flavored": "flavoured", "favourite": "favorite", "colour": "color", "org": "organic",
    "tomatoe": "tomato", "vanila": "vanilla", "gf": "glutenfree",
    "sf": "sugarfree", "nas": "noaddedsugar", "veg": "vegetable", "bisc": "biscuit",
    "mayo": "mayonnaise", "crisp": "chip", "cooky": "cookie", "wholewheat": "wholemeal",
    "creme": "cream",
}

#: Variant words: when one side has such a word and the other does not, they are different
#: articles (the lite milk is not the full-cream milk, the orange chocolate not the plain one,
#: the share pack not the single bar). Words are in stemmed form (see :func:`_stem`).
VARIANT_WORDS = frozenset(
    # fat, sugar, salt, caffeine, alcohol and other "less / free / more" variants
    "light skim skinny low reduced less lean zero diet free sugarfree glutenfree lactose "
    "unsweetened sweetened unsalted salted decaf decaffeinated caffeine nonalcoholic "
    "noaddedsugar full cream thickened double extra max ultra plus mini maxi jumbo giant "
    "king family kid junior toddler baby adult senior mild medium hot spicy strong "
    "sensitive whitening natural organic vegan protein high fibre premium "
    # multipacks and presentations that are other articles
    "multipack sharepack share party fun funsize snack treat value bulk "
    # forms, cuts and preserving media
    "sliced diced crushed whole half grated shredded spread flaked chunky smooth crunchy "
    "thin thick mince minced ground roasted raw fresh frozen dried instant brine oil "
    "springwater water "
    # flavours and colours
    "original classic plain vanilla strawberry raspberry blueberry berry cherry banana mango "
    "apple pear peach apricot orange lemon lime grapefruit pineapple passionfruit coconut "
    "grape watermelon tropical mint peppermint spearmint caramel butterscotch toffee honey "
    "maple cinnamon ginger hazelnut almond peanut cashew macadamia pistachio walnut coffee "
    "mocha espresso latte cappuccino cocoa chocolate milk dark white cookie biscuit fudge "
    "cheese cheddar parmesan mozzarella feta garlic onion chive herb tomato chilli pepper "
    "jalapeno bbq smoky smoked sour salt vinegar chicken beef pork lamb ham bacon turkey "
    "fish tuna salmon prawn vegetable mushroom spinach pumpkin potato sweet savoury teriyaki "
    "satay curry tikka korma butter sesame soy wasabi truffle lemongrass basil oregano "
    "rosemary thyme pesto red green yellow black blue pink purple gold silver brown "
    "rice oat wheat corn quinoa sultana raisin date fig cranberry fruit nut seed".split())

#: Generic descriptors: what kind of article it is, a word chains add or drop ("Dairy Milk
#: Peppermint" vs "Dairy Milk Peppermint Chocolate Block", "Milk Arrowroot Biscuits"). Only
#: these may appear on one side alone; any other one-sided word may name another article.
DESCRIPTORS = frozenset(
    "chocolate milk biscuit cookie cracker crispbread chip cereal breakfast sauce pasta "
    "noodle soup dip spread flavour flavoured style coated liquid squeezy sandwich lolly "
    "candy confectionery chewing gum drink beverage food product dessert dressing".split())


def _ascii_lower(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.lower()


def _stem(word: str) -> str:
    """Light plural folding: berries -> berry, chips -> chip, glass stays."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("es") and word[-3] in "sxz" and not word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return SYNONYMS.get(word, word)


def _words(text: str, strip_sizes: bool = True) -> list[str]:
    """Ordered words of a text: ASCII, lower, apostrophes dropped, size mentions removed."""
    if not isinstance(text, str) or not text:
        return []
    text = _APOSTROPHES.sub("", _ascii_lower(text)).replace(",", "")
    if strip_sizes:
        text = _SIZE_MENTION.sub(" ", text)
    return [_stem(w) for w in _WORD.findall(text)]


# --------------------------------------------------------------------------------------------
# profiles (per-product features, computed once)


@dataclass(frozen=True, slots=True)
class Profile:
    """The features of one product that blocking, scoring and guards use."""

    product: MatchProduct
    words: tuple[str, ...]            # name words in order
    brand_words: frozenset[str]       # brand words without corporate words
    brand_joined: str                 # "redrockdeli"
    text_words: frozenset[str]        # name words | brand words
    joined_forms: frozenset[str]      # words and joins of 2-3 adjacent words
    measures: frozenset[tuple[float, str]]   # g / ml sizes, own
    totals: frozenset[tuple[float, str]]     # multipack totals N*S
    counts: frozenset[float]          # pack counts
    core: frozenset[str]              # identity words of the name
    numbers: frozenset[str]           # numbers left in the name ("90" of "90% cocoa")

    @property
    def key(self) -> str:
        return self.product.key


def _product_sizes(product: MatchProduct) -> set[tuple[float, str]]:
    raw = set(extract_raw_sizes(product.name or ""))
    if product.size and not _PER_BASIS.match(product.size):
        raw |= extract_raw_sizes(product.size)
    if not raw and not product.name and not product.size:
        return canonical_sizes(product.sizes)
    return canonical_sizes(standardize_sizes(raw))


def profile(product: MatchProduct) -> Profile:
    """The matching features of one product."""
    words = tuple(_words(product.name))
    brand_words = frozenset(
        w for w in _words(product.brand or "", strip_sizes=False)
        if w not in CORPORATE and w not in STOPWORDS)
    brand_joined = "".join(w for w in _words(product.brand or "", strip_sizes=False)
                           if w not in CORPORATE)
    forms = set(words)
    for n in (2, 3):
        forms.update("".join(words[i:i + n]) for i in range(len(words) - n + 1))
    sizes = _product_sizes(product)
    measures = frozenset(s for s in sizes if s[1] in ("g", "ml"))
    counts = frozenset(v for v, u in sizes if u in ("pk", "ea") and v > 1)
    totals = frozenset((v * n, u) for v, u in measures for n in counts
                       ) if len(counts) == 1 else frozenset()
    name_words = set(words)
    core = frozenset(w for w in name_words - brand_words - STOPWORDS - PACKAGING if not w.isdigit())
    numbers = frozenset(w for w in name_words if w.isdigit())
    return Profile(product, words, brand_words, brand_joined, frozenset(name_words | brand_words),
                   frozenset(forms), measures, totals, counts, core, numbers)


# --------------------------------------------------------------------------------------------
# blocking


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


# --------------------------------------------------------------------------------------------
# scoring and guards


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
        only_a = (set(c.a.words) - set(c.b.words)) & _CONTAINER_WORDS
        only_b = (set(c.b.words) - set(c.a.words)) & _CONTAINER_WORDS
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
    return None


def duplicate_listings(profiles: Sequence[Profile], config: MatchConfig = MatchConfig(),
                       ) -> dict[tuple[str, str], tuple[str, ...]]:
    """Products a chain lists twice: ``(company, key) -> keys of its doubles`` (same company).

    Two products of one company are doubles when the matcher would pair them if they were of
    two chains: brands agree, a mass/volume is equal (size relation ``equal``), the guards pass
    and the score reaches the threshold (mutual best and margin are not asked). A chain holds
    such doubles when it keeps an old and a re-coded listing of one article (a new barcode
    for a new recipe, pack or owner; the names stay) or when two of its articles have names
    too poor to tell apart. Either way the names of that brand and size no longer point to
    one barcode: :func:`decide` suggests no pair into such a block.
    """
    by_company: dict[str, list[Profile]] = defaultdict(list)
    for p in profiles:
        by_company[p.product.company].append(p)
    doubles: dict[tuple[str, str], set[str]] = defaultdict(set)
    for company in sorted(by_company):
        group = by_company[company]
        candidates = [c for c in candidate_pairs(group, group, config, same_company=True)
                      if c.size in STRONG_SIZES]
        score_pairs(candidates, config)
        for c in candidates:
            threshold = config.threshold(c.size, c.brand != "unbranded")
            if c.guard is None and threshold is not None and c.score >= threshold:
                doubles[(company, c.a.key)].add(c.b.key)
                doubles[(company, c.b.key)].add(c.a.key)
    return {k: tuple(sorted(v)) for k, v in sorted(doubles.items())}


def brand_vocabulary(profiles: Iterable[Profile]) -> frozenset[str]:
    """Words that name a brand somewhere: the brand words of all ``profiles`` (company words
    dropped) that are not variant, descriptor, packaging or connective words. A name holding
    such a word besides the brand ("Cadbury Pascall Caramels") names a co-brand or the maker's
    line, not necessarily another article."""
    words: set[str] = set()
    for p in profiles:
        words |= p.brand_words
    return frozenset(w for w in words if not w.isdigit()) - VARIANT_WORDS - DESCRIPTORS \
        - PACKAGING - STOPWORDS


# --------------------------------------------------------------------------------------------
# decision


@dataclass(frozen=True, slots=True)
class MatchPair:
    """A suggested pair and why."""

    a: MatchProduct
    b: MatchProduct
    score: float
    sort_score: float
    set_score: float
    block: str
    rule: str
    margin: float

    def as_row(self) -> dict:
        return {
            "company_a": self.a.company, "key_a": self.a.key, "name_a": self.a.name,
            "brand_a": self.a.brand, "size_a": self.a.size,
            "company_b": self.b.company, "key_b": self.b.key, "name_b": self.b.name,
            "brand_b": self.b.brand, "size_b": self.b.size,
            "score": self.score, "sort_score": self.sort_score, "set_score": self.set_score,
            "margin": self.margin, "block": self.block, "rule": self.rule,
        }


@dataclass
class MatchResult:
    pairs: list[MatchPair]
    candidates: int
    rejected: dict[str, int] = field(default_factory=dict)


def decide(candidates: list[Candidate], config: MatchConfig = MatchConfig(),
           duplicates: Mapping[tuple[str, str], Sequence[str]] | None = None,
           brand_words: frozenset[str] = frozenset()) -> MatchResult:
    """Apply the decision rule to scored candidates.

    A pair is suggested when it passed the guards, its score reaches the threshold of its size
    relation, and it is the best-scored guard-passing candidate of both its products, ahead of
    each product's runner-up (any guard-passing candidate, whatever its score) by the margin.
    Two more checks look at the pair's *block*: the candidates of either product in the same
    size relation as the pair (same brand, same size), whatever their guards said.

    * rival listing: no other product of the block differs from the pair's product only by
      generic descriptors or by words of ``brand_words`` (see :func:`brand_vocabulary`) --
      "Cadbury Caramels" for a chain that also lists "Cadbury Pascall Caramels" of that size:
      either may be the article, the exact name is no evidence which (the guards keep the
      unexplained word "pascall" from matching, but it may be the maker's line, not another
      article);
    * duplicate listing: no product of the block, the pair's own included, is listed twice by
      its chain (``duplicates``, see :func:`duplicate_listings`; None: not checked) -- unless
      the double is the pair's other product itself (a product both chains sell).
    """
    rejected: dict[str, int] = defaultdict(int)
    duplicates = duplicates or {}
    tolerated = DESCRIPTORS | brand_words
    # (company, key): a product sold by two chains has one key and two listings
    block_of: dict[tuple[str, str], list[tuple[Profile, Candidate]]] = defaultdict(list)
    for c in candidates:
        block_of[(c.a.product.company, c.a.key)].append((c.b, c))
        block_of[(c.b.product.company, c.b.key)].append((c.a, c))

    def block(c: Candidate):
        """``(other product, candidate)`` of the pair's block."""
        for mine in (c.a, c.b):
            for other, o in block_of[(mine.product.company, mine.key)]:
                if o.size == c.size:
                    yield other, o

    def rival(c: Candidate) -> Candidate | None:
        for _, o in block(c):
            if o is c or (o.guard and not o.guard.startswith("unexplained-words")):
                continue
            if set(o.extra_a) | set(o.extra_b) <= tolerated:
                return o
        return None

    def duplicate(c: Candidate) -> str | None:
        for other, _ in block(c):
            # a double that is the pair's own other product (a product sold by both chains,
            # read once per chain) is what the pair asserts, not a second candidate
            if set(duplicates.get((other.product.company, other.key), ())) - {c.a.key, c.b.key}:
                return other.key
        return None

    viable = []
    for c in candidates:
        sized = config.threshold(c.size, c.brand != "unbranded") is not None
        if c.guard:
            rejected[c.guard.split(":", 1)[0]] += 1
        elif not sized:
            rejected[f"size-{c.size}"] += 1
        else:
            viable.append(c)
    by_a: dict[str, list[Candidate]] = defaultdict(list)
    by_b: dict[str, list[Candidate]] = defaultdict(list)
    for c in viable:
        by_a[c.a.key].append(c)
        by_b[c.b.key].append(c)
    order = lambda c: (-c.score, -c.sort_score, c.a.key, c.b.key)  # noqa: E731
    for lst in (*by_a.values(), *by_b.values()):
        lst.sort(key=order)

    def lead(lst: list[Candidate]) -> float:
        return lst[0].score - lst[1].score if len(lst) > 1 else 100.0

    pairs = []
    for c in viable:
        threshold = config.threshold(c.size, c.brand != "unbranded")
        if c.score < threshold:
            rejected["below-threshold"] += 1
            continue
        if by_a[c.a.key][0] is not c or by_b[c.b.key][0] is not c:
            rejected["not-mutual-best"] += 1
            continue
        margin = round(min(lead(by_a[c.a.key]), lead(by_b[c.b.key])), 2)
        if margin < config.margin:
            rejected["ambiguous"] += 1
            continue
        if rival(c) is not None:
            rejected["rival-listing"] += 1
            continue
        if duplicate(c) is not None:
            rejected["duplicate-listing"] += 1
            continue
        rule = (f"score {c.score:g} >= {threshold:g} (size {c.size}, brand {c.brand}); "
                f"mutual best; margin {margin:g} >= {config.margin:g}; guards passed; "
                f"no rival or duplicate listing in the block")
        pairs.append(MatchPair(c.a.product, c.b.product, c.score, c.sort_score, c.set_score,
                               c.block, rule, margin))
    pairs.sort(key=lambda p: (p.a.company, p.b.company, p.a.key, p.b.key))
    return MatchResult(pairs, len(candidates), dict(sorted(rejected.items())))


# --------------------------------------------------------------------------------------------
# driver


def match_products(products: Iterable[MatchProduct], config: MatchConfig = MatchConfig(),
                   companies: Iterable[str] | None = None) -> MatchResult:
    """Match every pair of companies among ``products`` (or among ``companies``)."""
    by_company: dict[str, list[Profile]] = defaultdict(list)
    for p in sorted(products, key=lambda p: (p.company, p.key)):
        by_company[p.company].append(profile(p))
    names = sorted(set(companies) if companies else by_company)
    chosen = [p for name in names for p in by_company.get(name, [])]
    duplicates = duplicate_listings(chosen, config)
    brand_words = brand_vocabulary(chosen)
    result = MatchResult([], 0, {})
    seen: set[tuple[str, str]] = set()
    for x, y in combinations(names, 2):
        candidates = candidate_pairs(by_company.get(x, []), by_company.get(y, []), config)
        score_pairs(candidates, config)
        part = decide(candidates, config, duplicates, brand_words)
        for pair in part.pairs:
            # a product sold by several chains is read once per chain: report a pair once
            keys = (min(pair.a.key, pair.b.key), max(pair.a.key, pair.b.key))
            if keys not in seen:
                seen.add(keys)
                result.pairs.append(pair)
        result.candidates += part.candidates
        for reason, n in part.rejected.items():
            result.rejected[reason] = result.rejected.get(reason, 0) + n
    result.pairs.sort(key=lambda p: (p.a.company, p.b.company, p.a.key, p.b.key))
    result.rejected = dict(sorted(result.rejected.items()))
    return result


def group_pairs(pairs: Iterable[MatchPair]) -> list[list[MatchProduct]]:
    """Connected groups of matched products (each sorted by key), groups sorted by first key."""
    parent: dict[str, str] = {}
    products: dict[str, MatchProduct] = {}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for p in pairs:
        for prod in (p.a, p.b):
            products.setdefault(prod.key, prod)
            parent.setdefault(prod.key, prod.key)
        ra, rb = find(p.a.key), find(p.b.key)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[MatchProduct]] = defaultdict(list)
    for k in sorted(products):
        groups[find(k)].append(products[k])
    return [groups[k] for k in sorted(groups)]
