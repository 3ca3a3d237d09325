"""The Woolworths field map: the site's raw product -> the cleaned shape."""

from __future__ import annotations

from ..unit_price import unit_price_from_size
from ..values import finite_number
from .validation import Cleaner, ProductRejected, as_text, float_or_none


class WoolworthsCleaner(Cleaner):
    """Woolworths browse/search product (``Bundles[].Products[]``); it names no category, so
    the path is the crawled category's (the item's ``category_path``)."""

    company = "woolworths"

    def check_product(self, raw: dict) -> None:
        # The API ignores the SoldBy(Woolworths) filter at times: marketplace sellers' items
        # are not the store's range and have no store price.
        if raw.get("IsMarketProduct"):
            raise ProductRejected("marketplace", str(raw.get("Stockcode"))[:40])

    def transform(self, raw: dict) -> dict:
        sku = raw.get("Stockcode")
        slug = raw.get("UrlFriendlyName")
        url = slug if isinstance(slug, str) else None
        if url and url.strip() and sku not in (None, ""):
            url = f"https://www.woolworths.com.au/shop/productdetails/{sku}/{slug}"
        attrs = raw.get("AdditionalAttributes")
        attrs = attrs if isinstance(attrs, dict) else {}
        image = raw.get("LargeImageFile") or raw.get("MediumImageFile")
        rating = raw.get("Rating")
        rating = rating if isinstance(rating, dict) else {}
        # The unit price of the *current* price: CupPrice/CupString. InstoreCupPrice is computed
        # from the was price on specials. Without a CupPrice: price ÷ pack size.
        unit_value, unit_measure = finite_number(raw.get("CupPrice")), raw.get("CupMeasure")
        unit_string = raw.get("CupString")
        if unit_value is None:
            computed = unit_price_from_size(finite_number(raw.get("Price")), raw.get("PackageSize"))
            unit_value, unit_measure = computed or (None, None)
        sold_by_weight = str(raw.get("Unit") or "").strip().upper() == "KG"
        return {
            "sku": sku,
            "name": raw.get("Name"),
            "brand": raw.get("Brand"),
            "size": raw.get("PackageSize"),
            "barcode": raw.get("Barcode"),
            "description": as_text(raw.get("Description")),
            "ingredients": as_text(attrs.get("ingredients")),
            "allergens": as_text(attrs.get("allergystatement")),
            "country_of_origin": as_text(attrs.get("countryoforigin")),
            "url": url,
            "image_url": image if isinstance(image, str) else None,
            "category_path": [],  # the browse API names none: the crawled category's path
            "price_current": raw.get("Price"),
            "price_was": raw.get("WasPrice"),
            "per_unit_price_string": unit_string,
            "per_unit_price_value": unit_value,
            "per_unit_price_measure": unit_measure,
            "sold_by_weight": sold_by_weight,
            "average_user_rating": finite_number(rating.get("Average")),
            "rating_count": finite_number(rating.get("ReviewCount")),
            "health_star_rating": float_or_none(attrs.get("healthstarrating")),
            "is_available": bool(raw.get("IsAvailable", False)),
        }


# IGA units: abbreviation/type -> (dimension, factor to the base unit g / ml / each)
