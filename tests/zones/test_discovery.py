"""Zone discovery and basket rotation: pure logic."""

from decimal import Decimal as D

from grocer import settings
from grocer.zones.basket import PriceBasket, basket_categories
from grocer.zones.discovery import (JOINED, MOVED, NEW_ZONE, REPRESENTATIVE, STAYED, KnownZone,
                                    ZoneAssigner)

# The crawl's defaults (grocer/settings.py).
MATCHING = {"max_override_share": settings.GROCER_ZONE_MAX_OVERRIDE_SHARE,
            "min_common": settings.GROCER_ZONE_MIN_COMMON}


def assigner_of(zones=(), **options) -> ZoneAssigner:
    return ZoneAssigner(zones, **{**MATCHING, **options})


BASE = {f"sku{i}": D(i) + D("0.99") for i in range(20)}


def priced(**changes) -> dict:
    return {**BASE, **{sku: D(price) for sku, price in changes.items()}}


def other_zone() -> dict:
    return {sku: price + 1 for sku, price in BASE.items()}


def test_identical_baskets_form_one_zone_with_the_first_store_as_representative():
    assigner = assigner_of()
    first = assigner.assign("A", BASE)
    second = assigner.assign("B", dict(BASE))
    assert first.action == NEW_ZONE and first.crawl_fully
    assert second.action == JOINED and second.zone == first.zone
    assert second.representative == "A" and not second.overrides and not second.crawl_fully


def test_a_store_matching_no_zone_starts_its_own_and_the_decision_says_what_differed():
    assigner = assigner_of()
    assigner.assign("A", BASE)
    decision = assigner.assign("B", other_zone())
    assert decision.action == NEW_ZONE and decision.zone != assigner.decisions["A"].zone
    assert "20/20 differ" in decision.explain() and "sku0 1.99 vs 0.99" in decision.explain()


def test_a_few_local_prices_are_overrides_of_a_member_not_a_new_zone():
    assigner = assigner_of()
    assigner.assign("A", BASE)
    decision = assigner.assign("B", priced(sku3="2.50"))
    assert decision.action == JOINED
    assert decision.overrides == {"sku3": D("2.50")}
    assert "sku3" not in decision.matching and "sku4" in decision.matching
    assert "1/20 differ: sku3 2.50 vs 3.99" in decision.explain()


def test_products_only_one_store_carries_are_not_compared():
    assigner = assigner_of()
    assigner.assign("A", BASE)
    decision = assigner.assign("B", {**BASE, "extra": D("9.99")})
    assert decision.action == JOINED and not decision.overrides
    assert decision.comparisons[0].common == 20


def test_too_few_common_products_never_match():
    assigner = assigner_of(min_common=10)
    assigner.assign("A", BASE)
    decision = assigner.assign("B", {sku: BASE[sku] for sku in list(BASE)[:5]})
    assert decision.action == NEW_ZONE


def test_known_zones_keep_their_representative_and_members_stay():
    zones = [KnownZone(1, "A", frozenset({"B"})), KnownZone(2, "C", frozenset({"D"}))]
    assigner = assigner_of(zones)
    assert assigner.check_order(["B", "D", "A", "C"]) == ["A", "C", "B", "D"]
    assert assigner.assign("A", BASE).action == REPRESENTATIVE
    assert assigner.assign("C", other_zone()).action == REPRESENTATIVE
    stayed = assigner.assign("B", BASE)
    assert (stayed.action, stayed.zone, stayed.previous_zone) == (STAYED, 1, 1)


def test_a_member_whose_basket_now_differs_moves_to_the_zone_it_matches():
    assigner = assigner_of([KnownZone(1, "A", frozenset({"B"})), KnownZone(2, "C")])
    assigner.assign("A", BASE)
    assigner.assign("C", other_zone())
    moved = assigner.assign("B", other_zone())
    assert (moved.action, moved.zone, moved.previous_zone) == (MOVED, 2, 1)
    assert "vs zone 1 (A): 20/20 differ" in moved.explain()


def test_a_member_matching_no_zone_splits_off_into_its_own():
    assigner = assigner_of([KnownZone(1, "A", frozenset({"B"}))])
    assigner.assign("A", BASE)
    split = assigner.assign("B", {sku: price * 3 for sku, price in BASE.items()})
    assert split.action == NEW_ZONE and split.previous_zone == 1 and split.crawl_fully


def test_an_unchecked_representative_is_replaced_by_the_first_member_checked():
    assigner = assigner_of([KnownZone(1, "A", frozenset({"B", "C"}))])
    decision = assigner.assign("B", BASE)
    assert decision.action == REPRESENTATIVE and decision.zone == 1
    assert "replaces representative A" in decision.explain()
    assert assigner.assign("C", BASE).representative == "B"


def test_a_representative_whose_full_crawl_failed_is_replaced_by_a_member():
    assigner = assigner_of([KnownZone(1, "A", frozenset({"B", "C"}))])
    baskets = {"A": BASE, "B": priced(sku1="5.00"), "C": dict(BASE)}
    for store in ("A", "B", "C"):
        assigner.assign(store, baskets[store])
    new = assigner.replace_representative("A", baskets)
    assert new.store == "C" and new.action == REPRESENTATIVE  # C has no override, B has one
    assert assigner.decisions["A"].action == JOINED
    assert assigner.decisions["A"].representative == "C"
    assert assigner.decisions["B"].overrides == {"sku1": D("5.00")}


def test_the_basket_rotates_so_that_a_week_covers_every_rotating_category():
    basket = PriceBasket(core=("fruit", "meat"), rotating=tuple("abcdefg"), per_day=1)
    week = [basket.slugs_for(day) for day in range(100, 107)]
    assert all(slugs[:2] == ("fruit", "meat") and len(slugs) == 3 for slugs in week)
    assert {slugs[2] for slugs in week} == set("abcdefg")
    assert basket.nights_to_cover() == 7
    assert PriceBasket(core=("x",)).slugs_for(5) == ("x",)


def test_basket_categories_match_slugs_anywhere_in_a_path():
    class Category:
        def __init__(self, *slugs):
            self.slugs = slugs

    fruit = Category("fruit-veg", "fruit-veg/fresh-fruit")
    meat = Category("meat", "beef")
    chosen, missing = basket_categories([fruit, meat], ["fresh-fruit", "meat", "toys"])
    assert chosen == [fruit, meat] and missing == ["toys"]
