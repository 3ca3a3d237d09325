"""The basket: a few price-sensitive category pages fetched at every store of a chain.

A chain declares it (a `PriceBasket` on its spider): `core` categories checked every night
(fresh produce, meat) and `rotating` ones of which `per_day` join them each night, so that over
`nights_to_cover()` nights every rotating category has been checked once. Each category gives
its first page, so a basket check costs len(slugs_for(day)) requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PriceBasket:
    core: tuple[str, ...]  # category slugs checked every night
    rotating: tuple[str, ...] = ()  # per_day of these join the core, in turn
    per_day: int = 1

    def slugs_for(self, day: int) -> tuple[str, ...]:
        """The category slugs of night `day` (any integer: a date's ordinal)."""
        if not self.rotating:
            return self.core
        count = min(self.per_day, len(self.rotating))
        start = (day * count) % len(self.rotating)
        return self.core + tuple(self.rotating[(start + i) % len(self.rotating)]
                                 for i in range(count))

    def nights_to_cover(self) -> int:
        """Nights until every rotating category was in a basket once."""
        return math.ceil(len(self.rotating) / max(1, min(self.per_day, len(self.rotating) or 1)))


def _matches(slugs: Sequence[str], wanted: str) -> bool:
    wanted = wanted.lower()
    return any(slug.lower() == wanted or slug.lower().rsplit("/", 1)[-1] == wanted
               for slug in slugs)


def basket_categories(categories: Sequence, slugs: Sequence[str]) -> tuple[list, list[str]]:
    """The categories (anything with `.slugs`, root → node) of a basket, one per slug — the
    first whose path holds it —, and the slugs that matched nothing."""
    chosen, missing = [], []
    for wanted in slugs:
        found = next((c for c in categories if _matches(c.slugs, wanted) and c not in chosen),
                     None)
        if found is None:
            missing.append(wanted)
        else:
            chosen.append(found)
    return chosen, missing
