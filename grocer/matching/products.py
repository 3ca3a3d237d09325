"""The matcher's records: a product as the matcher sees it and the thresholds of the rule."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class MatchProduct:
    """One product as the matcher sees it.

    ``key`` identifies the product (the v1 key ``normalized_name_brand_size`` for database
    products); ``sizes`` are its v1 sizes (used only when neither ``name`` nor ``size`` give
    any); ``normalized_brand`` its brand key after the brand table. ``weight`` (prices or stores)
    picks the canonical product of a pair. ``barcode`` is carried, never matched on.
    ``price`` and the unit price (``unit_price`` per ``unit_measure``: "1kg", "1l" or "1.0each",
    as :func:`grocer.normalization.standardize_unit_price` renders it) are evidence, when known.
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
    price: float | None = None
    unit_price: float | None = None
    unit_measure: str | None = None


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
    #: score of two chains' names that differ only by descriptors and explained words
    #: (see :func:`grocer.matching.scoring.score_pairs`); an exact name leads it by the margin
    explained_score: float = 95.0
    #: two chains' unit prices (per kg, l or each) of one article rarely differ by more than
    #: this factor; a cross-chain pair whose unit prices do is rejected (None: not checked)
    max_unit_price_ratio: float | None = 4.0

    def threshold(self, size_relation: str, branded: bool) -> float | None:
        """The score a pair needs, or None when its size relation is never suggested."""
        if size_relation in STRONG_SIZES:
            base = self.min_score
        elif size_relation in WEAK_SIZES:
            base = self.min_score + self.weak_size_extra
        else:
            return None
        return base if branded else base + self.unbranded_extra

    def with_min_score(self, min_score: float) -> MatchConfig:
        """The same rule with ``min_score`` changed (the stricter thresholds move with it)."""
        return replace(self, min_score=min_score)

    def without_unit_prices(self) -> MatchConfig:
        """The same rule blind to prices (to measure what the unit-price evidence is worth)."""
        return replace(self, max_unit_price_ratio=None)

