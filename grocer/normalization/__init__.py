"""grocer.normalization — pure normalization (no Scrapy, no database; stdlib only).

Cleaners map each chain's raw product to one cleaned shape (spec §1.7, §4); ``derive`` adds the
identity key v1 (byte-compatible with SplitCart, quirks included: see
:mod:`grocer.normalization.key`), the standardized unit price and the price hash (§1.8–1.11).

Typical use (the clean and normalize pipelines)::

    brand_table, product_table = load_translation_tables(directory)  # grocer.tables.files
    normalizer = ProductNormalizer(brand_table, product_table)
    try:
        item = derive(get_cleaner("coles").clean(raw), normalizer)
    except ProductRejected as exc:
        stats.inc_value(f"grocer/dropped/{exc.reason}")
"""

from .barcode import clean_barcode
from .cleaners import (
    CLEANED_FIELDS,
    CLEANERS,
    DERIVED_FIELDS,
    MAX_NAME_LENGTH,
    MAX_PRICE,
    REJECTION_REASONS,
    AldiCleaner,
    Cleaner,
    ColesCleaner,
    IgaCleaner,
    ProductRejected,
    WoolworthsCleaner,
    clean_category_path,
    get_cleaner,
    validate_cleaned,
)
from .derive import derive
from .key import KEY_VERSION, ProductNormalizer
from .prices import calculate_price_info, price_hash, standardize_unit_price
from .sizes import (
    are_sizes_compatible,
    are_sizes_different,
    canonical_sizes,
    extract_raw_sizes,
    parse_size,
    standardize_sizes,
)
from .text import clean_value

__all__ = [
    "KEY_VERSION",
    "clean_value",
    "clean_barcode",
    "extract_raw_sizes",
    "standardize_sizes",
    "parse_size",
    "canonical_sizes",
    "are_sizes_compatible",
    "are_sizes_different",
    "ProductNormalizer",
    "standardize_unit_price",
    "calculate_price_info",
    "price_hash",
    "Cleaner",
    "AldiCleaner",
    "ColesCleaner",
    "WoolworthsCleaner",
    "IgaCleaner",
    "CLEANERS",
    "get_cleaner",
    "ProductRejected",
    "REJECTION_REASONS",
    "CLEANED_FIELDS",
    "DERIVED_FIELDS",
    "MAX_PRICE",
    "MAX_NAME_LENGTH",
    "clean_category_path",
    "validate_cleaned",
    "derive",
]
