"""The decision rule: which scored candidates become suggested pairs, and the driver."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from collections.abc import Collection, Iterable, Mapping, Sequence

from grocer.matching.blocking import Candidate, candidate_pairs
from grocer.matching.products import STRONG_SIZES, MatchConfig, MatchProduct
from grocer.matching.profiles import Profile, brand_vocabulary, profile
from grocer.matching.scoring import score_pairs, unit_price_ratio
from grocer.matching.vocabulary import DESCRIPTORS


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
    #: 0-1, see :func:`confidence`
    confidence: float = 0.0
    #: the evidence in words: brands, sizes, one-sided words and why they are allowed, unit
    #: prices, the lead over the runner-up
    explanation: str = ""

    def as_row(self) -> dict:
        return {
            "company_a": self.a.company, "key_a": self.a.key, "name_a": self.a.name,
            "brand_a": self.a.brand, "size_a": self.a.size,
            "company_b": self.b.company, "key_b": self.b.key, "name_b": self.b.name,
            "brand_b": self.b.brand, "size_b": self.b.size,
            "score": self.score, "sort_score": self.sort_score, "set_score": self.set_score,
            "margin": self.margin, "block": self.block, "rule": self.rule,
            "confidence": self.confidence, "explanation": self.explanation,
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
      "Zedco Caramels" for a chain that also lists "Zedco Pascoe Caramels" of that size:
      either may be the article, the exact name is no evidence which (the guards keep the
      unexplained word "pascoe" from matching, but it may be the maker's line, not another
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
                               c.block, rule, margin, confidence(c, threshold, margin),
                               explain(c, margin)))
    pairs.sort(key=lambda p: (p.a.company, p.b.company, p.a.key, p.b.key))
    return MatchResult(pairs, len(candidates), dict(sorted(rejected.items())))



def confidence(c: Candidate, threshold: float, margin: float) -> float:
    """How sure a suggested pair is, 0-1: how far its score is over its threshold (60 %), its
    lead over the runner-up (20 %, full from a lead of 20) and its unit prices (20 %: full when
    they agree within x1.5, half when unknown, none beyond); x0.9 when only weaker size
    evidence (a count, a multipack total, no size) backs it. Exact names of equal weight and
    agreeing unit prices with no runner-up score 1."""
    over = (c.score - threshold) / (100.0 - threshold) if threshold < 100 else 1.0
    ratio = unit_price_ratio(c.a.product, c.b.product)
    prices = 0.5 if ratio is None else 1.0 if ratio <= 1.5 else 0.0
    value = 0.6 * max(0.0, min(over, 1.0)) + 0.2 * min(margin, 20.0) / 20.0 + 0.2 * prices
    return round(value if c.size in STRONG_SIZES else 0.9 * value, 2)


def explain(c: Candidate, margin: float) -> str:
    """The evidence of a suggested pair in words (the ``explanation`` of the report)."""
    sizes = ",".join(sorted(f"{v:g}{u}" for v, u in c.a.measures & c.b.measures))
    parts = [f"brands {c.brand}", f"sizes {c.size}" + (f" ({sizes})" if sizes else ""),
             f"names score {c.score:g}"]
    why = dict(c.explained)
    one_sided = [f"{w} ({why.get(w, 'descriptor' if w in DESCRIPTORS else 'spelling')})"
                 for w in sorted(set(c.extra_a) | set(c.extra_b))]
    parts.append("one-sided words: " + ", ".join(one_sided) if one_sided
                 else "same name words")
    ratio = unit_price_ratio(c.a.product, c.b.product)
    if ratio is None:
        parts.append("unit prices not comparable")
    else:
        parts.append(f"unit prices {c.a.product.unit_price:g} vs {c.b.product.unit_price:g} "
                     f"per {c.a.product.unit_measure} (x{ratio:.2f})")
    parts.append("no runner-up" if margin >= 100 else f"leads the runner-up by {margin:g}")
    return "; ".join(parts)


def match_products(products: Iterable[MatchProduct], config: MatchConfig = MatchConfig(),
                   companies: Iterable[str] | None = None,
                   rejected_pairs: Collection[frozenset[str]] = ()) -> MatchResult:
    """Match every pair of companies among ``products`` (or among ``companies``).

    ``rejected_pairs``: pairs of keys a reviewer rejected (see
    :mod:`grocer.matching.review`): never suggested (counted as ``rejected-by-review``).
    """
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
        if rejected_pairs:
            for c in candidates:
                if frozenset((c.a.key, c.b.key)) in rejected_pairs:
                    c.guard = "rejected-by-review"
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
