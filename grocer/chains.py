"""The four chains grocer knows: one place for their names and default stores."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chain:
    slug: str  # spider name and the `company` of items
    name: str  # Company.name as in the store list
    default_store: str | None  # None: the first store with a site id (IGA)
    # Divisions whose stores are supermarkets (`stores=all`); None = every store.
    supermarket_divisions: tuple[str, ...] | None = None
    needs_site_store_id: bool = False


CHAINS: dict[str, Chain] = {
    "aldi": Chain("aldi", "Aldi", "G102"),
    "coles": Chain("coles", "Coles", "COL:401", ("Coles Supermarkets",)),
    "iga": Chain("iga", "Iga", None, needs_site_store_id=True),
    "woolworths": Chain("woolworths", "Woolworths", "1147", ("SUPERMARKETS",)),
}


def get_chain(company: str) -> Chain:
    try:
        return CHAINS[company.strip().lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown company {company!r}; known: {', '.join(CHAINS)}") from None
