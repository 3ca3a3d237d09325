"""What the database columns can hold: the one source of truth for sizes (pure stdlib).

grocer/db/models.py declares its columns with these constants and the cleaners bound values
with them, so a value that passed cleaning always fits its column (never a database error).
"""

from __future__ import annotations

from decimal import Decimal

STORE_CODE_LENGTH = 50  # Store.store_code
NAME_LENGTH = 255  # Product.name
KEY_LENGTH = 255  # Product.normalized_name_brand_size, ProductKeyVariation.key
BRAND_LENGTH = 255  # Brand.name / normalized_name
SIZE_LENGTH = 100  # Product.size (longer sizes are cut; the key is computed before)
SKU_LENGTH = 100  # Sku.sku
BARCODE_LENGTH = 50  # Product.barcode
URL_LENGTH = 1024  # Product.url, image_url, aldi_image_url
UNIT_OF_MEASURE_LENGTH = 50  # Price.unit_of_measure
PER_UNIT_PRICE_STRING_LENGTH = 255  # Price.per_unit_price_string

# Numeric(precision, scale) of money columns.
MONEY_PRECISION, MONEY_SCALE = 10, 2  # price, was_price
UNIT_MONEY_PRECISION, UNIT_MONEY_SCALE = 12, 4  # unit_price


def numeric_max(precision: int, scale: int) -> Decimal:
    """The largest value a Numeric(precision, scale) column holds (99999999.99 for 10, 2)."""
    return Decimal(10) ** (precision - scale) - Decimal(10) ** -scale


MAX_MONEY = numeric_max(MONEY_PRECISION, MONEY_SCALE)
MAX_UNIT_MONEY = numeric_max(UNIT_MONEY_PRECISION, UNIT_MONEY_SCALE)
