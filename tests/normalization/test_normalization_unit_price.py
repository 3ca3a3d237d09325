"""The unit price cross-check, the Woolworths unit price of the current price, marketplace items,
and one price meaning across chains (loose pieces, Aldi availability)."""

import pytest

from grocer.normalization import ProductRejected, get_cleaner
from grocer.normalization.unit_price import (cross_check_unit_price, pack_quantity,
                                             unit_price_agrees)


@pytest.mark.parametrize("size, quantity", [
    ("500g", (500.0, "g")), ("1kg", (1000.0, "g")), ("375mL x 4 pack", (1500.0, "ml")),
    ("330mL x 24 case", (7920.0, "ml")), ("6 each", (6.0, "each")), ("5 pack", (5.0, "each")),
    ("approx. 0.9 kg per piece", (900.0, "g")), ("2 x 100g", None), ("500g-1kg", None),
    ("each", None), (None, None),
])
def test_pack_quantity(size, quantity):
    assert pack_quantity(size) == quantity


def woolworths(**fields):
    raw = {"Stockcode": 331963, "Name": "Rolled Oats", "Price": 7.2, "WasPrice": 9,
           "PackageSize": "1kg", "CupPrice": 0.72, "InstoreCupPrice": 0.9, "CupMeasure": "100G",
           "CupString": "$0.72 / 100G", "IsAvailable": True, "IsMarketProduct": False,
           "Barcode": "9310354980516"}
    raw.update(fields)
    return get_cleaner("woolworths").clean(raw)


def test_woolworths_unit_price_comes_from_the_current_price_not_the_was_price():
    product = woolworths()
    # InstoreCupPrice (0.90 / 100 g) is the was price's: the old cleaner stored it.
    assert product["per_unit_price_value"] == 0.72 and product["per_unit_price_measure"] == "100G"
    assert product["unit_price_recomputed"] is False and unit_price_agrees(product) is True


def test_woolworths_without_cup_price_divides_the_price_by_the_size():
    product = woolworths(CupPrice=None, InstoreCupPrice=None, CupMeasure="0", CupString="",
                         Price=10, PackageSize="750mL")
    assert (product["per_unit_price_value"], product["per_unit_price_measure"]) == (13.3333, "1l")


def test_a_unit_price_disagreeing_with_price_and_size_is_recomputed():
    product = woolworths(CupPrice=0.9, CupString="$0.90 / 100G")
    assert product["unit_price_recomputed"] is True
    assert (product["per_unit_price_value"], product["per_unit_price_measure"]) == (7.2, "1kg")
    assert unit_price_agrees(product) is True


def test_a_weighed_item_is_checked_against_its_price_per_kg():
    product = {"price_current": 5.99, "size": "approx. 0.9 kg per piece", "sold_by_weight": True,
               "per_unit_price_value": 5.99, "per_unit_price_measure": "1kg"}
    assert unit_price_agrees(product) is True and cross_check_unit_price(product) is False


def test_woolworths_marketplace_items_are_dropped():
    with pytest.raises(ProductRejected) as rejected:
        woolworths(IsMarketProduct=True)
    assert rejected.value.reason == "marketplace"


def test_aldi_loose_piece_has_its_piece_price_and_no_availability():
    raw = {"sku": "000000000000383733", "name": "Red Seedless Grapes Loose", "brandName": None,
           "sellingSize": "approx. 0.9 kg per piece", "notForSale": True, "weightType": "3",
           "isRandomWeight": True, "quantityUnit": "kg",
           "price": {"amount": 599, "amountRelevant": 539, "comparison": 599,
                     "comparisonDisplay": "$5.99 per 1 kg"}}
    product = get_cleaner("aldi").clean(raw)
    assert product["price_current"] == 5.39 and product["sold_by_weight"] is False
    assert product["is_available"] is None
    assert unit_price_agrees(product) is True and product["unit_price_recomputed"] is False
