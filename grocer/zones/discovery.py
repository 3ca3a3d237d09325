"""Zone discovery: which zone a store's basket puts it in, and why.

A basket is {sku: price} as a store's basket check saw it. A zone's reference basket is its
representative's basket of the same night. A store *matches* a zone when they have at least
`min_common` products in common and at most `max_override_share` of those differ; the
differing products are the store's *overrides* (local prices, stored for the store itself).
A store keeps its zone while it matches it; one that no longer does leaves (a split) and joins
the zone it now matches best, or starts its own zone (and is then crawled fully). Every
`Decision` keeps the comparisons that led to it, so `explain()` says which products differed.

Stores are fed one by one (`assign`), representatives of known zones first: the first store of
a zone fed in gives the zone's reference basket for the night; if its representative could not
be checked, that first member becomes the representative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

Basket = Mapping[str, Decimal]

# Decision actions
REPRESENTATIVE = "representative"  # the zone's representative: crawled fully
STAYED = "stayed"  # still matches its zone
JOINED = "joined"  # had no zone, matches one
MOVED = "moved"  # left its zone (split) for another it matches
NEW_ZONE = "new_zone"  # matches no zone: starts its own, crawled fully
OWN_PRICES = "own_prices"  # a chain without zones (IGA): a one-store zone, crawled fully
FULL_CRAWL = frozenset({REPRESENTATIVE, NEW_ZONE, OWN_PRICES})


@dataclass(frozen=True)
class KnownZone:
    key: int | str  # PriceZone.id (new zones get "new:<store>")
    representative: str | None  # store code
    members: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Difference:
    sku: str
    price: Decimal  # the store's
    reference: Decimal  # the representative's

    def __str__(self) -> str:
        return f"{self.sku} {self.price} vs {self.reference}"


@dataclass(frozen=True)
class Comparison:
    zone: int | str
    representative: str
    common: int
    differences: tuple[Difference, ...]

    def as_dict(self, limit: int = 20) -> dict:
        return {"zone": self.zone, "representative": self.representative,
                "common": self.common, "differing": len(self.differences),
                "differences": [str(d) for d in self.differences[:limit]]}


@dataclass
class Decision:
    store: str
    action: str
    zone: int | str
    representative: str
    previous_zone: int | str | None = None
    overrides: dict[str, Decimal] = field(default_factory=dict)  # sku → the store's price
    matching: frozenset[str] = frozenset()  # basket skus priced as the representative's
    comparisons: tuple[Comparison, ...] = ()
    note: str = ""

    @property
    def crawl_fully(self) -> bool:
        return self.action in FULL_CRAWL

    def explain(self) -> str:
        parts = [f"store {self.store}: {self.action} zone {self.zone} "
                 f"(representative {self.representative})"]
        if self.previous_zone is not None and self.previous_zone != self.zone:
            parts.append(f"left zone {self.previous_zone}")
        for comparison in self.comparisons:
            shown = ", ".join(str(d) for d in comparison.differences[:5])
            more = len(comparison.differences) - 5
            parts.append(f"vs zone {comparison.zone} ({comparison.representative}): "
                         f"{len(comparison.differences)}/{comparison.common} differ"
                         + (f": {shown}" if shown else "") + (f" (+{more})" if more > 0 else ""))
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    def as_dict(self) -> dict:
        return {"action": self.action, "zone": self.zone, "representative": self.representative,
                "previous_zone": self.previous_zone, "overrides": len(self.overrides),
                "compared": [c.as_dict() for c in self.comparisons], "note": self.note}


def compare(zone: int | str, representative: str, basket: Basket,
            reference: Basket) -> Comparison:
    common = sorted(set(basket) & set(reference))
    return Comparison(zone, representative, len(common), tuple(
        Difference(sku, basket[sku], reference[sku]) for sku in common
        if basket[sku] != reference[sku]))


class ZoneAssigner:
    """Assigns stores to zones for one night; see the module docstring."""

    def __init__(self, zones: Iterable[KnownZone] = (), *, max_override_share: float,
                 min_common: int):
        """`max_override_share`, `min_common`: GROCER_ZONE_MAX_OVERRIDE_SHARE, _MIN_COMMON."""
        self.zones: dict[int | str, KnownZone] = {zone.key: zone for zone in zones}
        self.zone_of: dict[str, int | str] = {
            member: zone.key for zone in self.zones.values()
            for member in zone.members | {zone.representative} if member}
        self.max_override_share = max_override_share
        self.min_common = min_common
        self.references: dict[int | str, tuple[str, Basket]] = {}  # zone → (rep, basket)
        self.decisions: dict[str, Decision] = {}

    def matches(self, comparison: Comparison) -> bool:
        return (comparison.common >= self.min_common
                and len(comparison.differences) <= self.max_override_share * comparison.common)

    def check_order(self, stores: Iterable[str]) -> list[str]:
        """`stores` with the representatives of known zones first."""
        stores = list(stores)
        representatives = {zone.representative for zone in self.zones.values()}
        return ([s for s in stores if s in representatives]
                + [s for s in stores if s not in representatives])

    def assign(self, store: str, basket: Basket) -> Decision:
        previous = self.zone_of.get(store)
        zone = self.zones.get(previous)
        if zone is not None and previous not in self.references:
            note = "" if zone.representative == store else (
                f"replaces representative {zone.representative} (not checked)")
            self.references[previous] = (store, dict(basket))
            return self._decide(Decision(store, REPRESENTATIVE, previous, store, previous,
                                         matching=frozenset(basket), note=note))
        comparisons, own = [], None
        if previous in self.references:
            own = self._compare(previous, basket)
            comparisons.append(own)
            if self.matches(own):
                return self._decide(self._member(store, STAYED, own, basket, previous,
                                                 comparisons))
        others = [self._compare(key, basket) for key in self.references if key != previous]
        comparisons.extend(others)
        best = min((c for c in others if self.matches(c)),
                   key=lambda c: len(c.differences) / c.common, default=None)
        if best is not None:
            return self._decide(self._member(store, MOVED if previous is not None else JOINED,
                                             best, basket, previous, comparisons))
        key = f"new:{store}"
        self.references[key] = (store, dict(basket))
        self.zones[key] = KnownZone(key, store)
        return self._decide(Decision(store, NEW_ZONE, key, store, previous,
                                     matching=frozenset(basket),
                                     comparisons=tuple(comparisons)))

    def _compare(self, key, basket: Basket) -> Comparison:
        representative, reference = self.references[key]
        return compare(key, representative, basket, reference)

    def _member(self, store, action, comparison: Comparison, basket: Basket, previous,
                comparisons) -> Decision:
        differing = {d.sku for d in comparison.differences}
        return Decision(store, action, comparison.zone, comparison.representative, previous,
                        overrides={d.sku: d.price for d in comparison.differences},
                        matching=frozenset(set(basket) - differing),
                        comparisons=tuple(comparisons))

    def _decide(self, decision: Decision) -> Decision:
        self.decisions[decision.store] = decision
        self.zone_of[decision.store] = decision.zone
        return decision

    def replace_representative(self, failed: str, baskets: Mapping[str, Basket]) -> Decision | None:
        """A representative whose full crawl failed: the member of its zone with the fewest
        overrides tonight becomes the representative (to be crawled fully), the failed one a
        member. None when the zone has no other member checked tonight."""
        decision = self.decisions.get(failed)
        if decision is None:
            return None
        candidates = [d for d in self.decisions.values() if d.zone == decision.zone
                      and d.store != failed and not d.crawl_fully and d.store in baskets]
        if not candidates:
            return None
        chosen = min(candidates, key=lambda d: (len(d.overrides), d.store))
        note = f"replaces representative {failed} (full crawl failed)"
        self.references[decision.zone] = (chosen.store, dict(baskets[chosen.store]))
        new = self._decide(Decision(chosen.store, REPRESENTATIVE, decision.zone, chosen.store,
                                    chosen.previous_zone, matching=frozenset(baskets[chosen.store]),
                                    note=note))
        for other in list(self.decisions.values()):  # members now compare with the new one
            if other.zone == decision.zone and other.store != chosen.store:
                comparison = self._compare(decision.zone, baskets.get(other.store, {}))
                self._decide(self._member(other.store, other.action if other.store != failed
                                          else JOINED, comparison,
                                          baskets.get(other.store, {}), other.previous_zone,
                                          (comparison,)))
        return new
