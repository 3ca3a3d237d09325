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

import importlib

# Lazy (PEP 562): the spiders import small helpers (`values`, `dates`) from this package, and
# `scrapy list` imports every spider; loading the cleaners, key and sizes with them would cost
# every command's start-up. A name is imported from its module when first used.
_EXPORTS = {
    "barcode": ["clean_barcode"],
    "cleaners": ["CLEANED_FIELDS", "CLEANERS", "DERIVED_FIELDS", "MAX_NAME_LENGTH", "MAX_PRICE",
                 "REJECTION_REASONS", "AldiCleaner", "Cleaner", "ColesCleaner", "IgaCleaner",
                 "ProductRejected", "WoolworthsCleaner", "clean_category_path", "get_cleaner",
                 "validate_cleaned"],
    "derive": ["derive"],
    "key": ["KEY_VERSION", "ProductNormalizer"],
    "prices": ["calculate_price_info", "price_hash", "standardize_unit_price"],
    "sizes": ["are_sizes_compatible", "are_sizes_different", "canonical_sizes",
              "extract_raw_sizes", "parse_size", "standardize_sizes"],
    "text": ["clean_value"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value
