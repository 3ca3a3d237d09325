"""Per-chain cleaners (spec §1.7, §4): a retailer's raw product -> one cleaned dict; one
module per chain over the shared rules in `validation`.

Every cleaner returns the same shape or raises :class:`ProductRejected`; the shape, the limits
and the rules every cleaned product follows are in :mod:`.validation`.

Price meaning (README "Prices"): ``price_current`` is what the shopper pays for one unit as sold;
``sold_by_weight`` items are priced per kg; a piece of estimated weight has its piece price.

Chain notes: Aldi prices are cents / 100.0 (floats), a loose piece's is ``amountRelevant``,
``is_available`` None (``notForSale`` only says Aldi sells nothing online); Coles ``was == 0``
means no was-price and ``_type != "PRODUCT"`` tiles are not products; a Woolworths product's
path is the crawled category's (the item's ``category_path``), the unit price is ``CupPrice``
(never ``InstoreCupPrice``, computed from the was price), marketplace items are rejected. IGA
(storefront API): the price is ``wholePrice`` (the TPR price when ``wasWholePrice`` is set),
i.e. per ``unitOfPrice``, except loose "EachUnit" produce priced per kg and bought by the piece:
its ``priceNumeric`` piece price (was price scaled to the piece); ``price_was`` = ``wasWholePrice``; the size string is ``<unitOfSize.size><abbr>`` (+ " <sellBy>"
unless "Each") or ``"<n> each"``; the per-unit price is computed with unit conversion
(:func:`iga_unit_price`), not SplitCart's same-unit assumption (§6.1.8).
"""


from .aldi import AldiCleaner
from .coles import ColesCleaner
from .iga import IgaCleaner, iga_unit_price
from .validation import (
    CLEANED_FIELDS,
    DERIVED_FIELDS,
    MAX_NAME_LENGTH,
    MAX_PRICE,
    REJECTION_REASONS,
    Cleaner,
    ProductRejected,
    clean_category_path,
    validate_cleaned,
)
from .woolworths import WoolworthsCleaner

__all__ = [
    "ProductRejected", "REJECTION_REASONS", "CLEANED_FIELDS", "DERIVED_FIELDS", "MAX_PRICE",
    "MAX_NAME_LENGTH", "Cleaner", "AldiCleaner", "ColesCleaner", "WoolworthsCleaner",
    "IgaCleaner", "CLEANERS", "get_cleaner", "validate_cleaned", "clean_category_path",
    "iga_unit_price",
]

CLEANERS: dict[str, Cleaner] = {
    "aldi": AldiCleaner(),
    "coles": ColesCleaner(),
    "woolworths": WoolworthsCleaner(),
    "iga": IgaCleaner(),
}


def get_cleaner(company: str) -> Cleaner:
    """The cleaner of a chain ("Aldi", "coles", " WOOLWORTHS " ...); KeyError if unknown."""
    key = company.strip().lower() if isinstance(company, str) else company
    try:
        return CLEANERS[key]
    except (KeyError, TypeError):
        raise KeyError(f"no cleaner for company {company!r}; known: {sorted(CLEANERS)}") from None
