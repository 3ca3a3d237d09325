"""The rules that hold for two chains' listings only (issue 20): identity-word scoring, pack-size
words at equal weights, "N pieces", labels, plain variants, claim words, compounds, brand-only
names, the unit-price guard -- each with pairs that must never match, and the same pairs within
one chain (the duplicate-listing check keeps the strict rule). Invented fixtures."""

from __future__ import annotations

import pytest

from grocer.matching import (
    MatchConfig,
    candidate_pairs,
    duplicate_listings,
    profile,
    score_pairs,
)
from tests.matching.test_matcher import candidates_of, iga, suggested, ww


def same_chain(a, b, config=MatchConfig()):
    """The candidate of two listings of one chain (as the duplicate-listing check sees it)."""
    pa, pb = profile(a), profile(b)
    [c] = candidate_pairs([pa, pb], [pa, pb], config, same_company=True)
    score_pairs([c], config)
    return c


@pytest.mark.parametrize("name_a, name_b", [
    # descriptors pull the plain score under the threshold; identity words agree
    ("Wombat Oat Crunch", "Wombat Oat Crunch Breakfast Cereal"),
    # pack-size words when both weigh the same
    ("Wombat Sea Salt Crisps Share Pack", "Wombat Sea Salt Crisps"),
    ("Wombat Caramel Bites Fun Size", "Wombat Caramel Bites Party Bag"),
    # a label: a variant word before a descriptor the other name lacks
    ("Wombat Dark Chocolate Hazelnut Crunch", "Wombat Hazelnut Crunch"),
    # the plain variant beside no variant
    ("Wombat Fruit Loaf Original", "Wombat Fruit Loaf"),
    # a claim word
    ("Wombat Real Egg Mayonnaise", "Wombat Egg Mayonnaise"),
    # one word written as two
    ("Wombat Sea Salt Caramel", "Wombat Seasalt Caramel"),
    # brand-only name beside brand + descriptors
    ("Wombat Bar", "Wombat Chocolate Bar"),
    # names differing only by descriptors and pack-size words
    ("Wombat Bites Funsize", "Wombat Milk Chocolate Bites Party Share Bag"),
    # words the other name implies
    ("Wombat Potato Chips Sea Salt", "Wombat Chips Sea Salt"),
    ("Wombat Cheddar Cheese Crackers", "Wombat Cheddar Crackers"),
    # a percentage stated by one chain only, and what it is of
    ("Wombat Dark Block 70% Cocoa", "Wombat Dark Block"),
    ("Wombat Dark 70%", "Wombat Dark Chocolate 70% Cocoa"),
])
def test_cross_chain_rules_match_two_chains_listings(name_a, name_b):
    a = iga("i1", name_a, "Wombat", "200g Each")
    b = ww("w1", name_b, "Wombat", "200g")
    [c] = candidates_of(a, b)
    assert c.guard is None, c.guard
    assert suggested([a, b]) == {("i1", "w1")}


@pytest.mark.parametrize("name_a, name_b", [
    ("Wombat Sea Salt Crisps Share Pack", "Wombat Sea Salt Crisps"),
    ("Wombat Fruit Loaf Original", "Wombat Fruit Loaf"),
    ("Wombat Real Egg Mayonnaise", "Wombat Egg Mayonnaise"),
    ("Wombat Dark Chocolate Hazelnut Crunch", "Wombat Hazelnut Crunch"),
    ("Wombat Bar", "Wombat Chocolate Bar"),
])
def test_within_one_chain_the_strict_rule_stays(name_a, name_b):
    c = same_chain(ww("w1", name_a, "Wombat", "200g"), ww("w2", name_b, "Wombat", "200g"))
    assert c.guard is not None and c.explained == ()


@pytest.mark.parametrize("name_a, name_b, size_b", [
    # pack-size words when the weights differ (or one side has none): another pack
    ("Wombat Sea Salt Crisps Share Pack", "Wombat Sea Salt Crisps", "45g"),
    # "orange" before a descriptor both names have is the flavour, not a label
    ("Wombat Orange Chocolate Block", "Wombat Chocolate Block", "200g"),
    # a label while the other side states another variant: dark beside milk
    ("Wombat Dark Chocolate Sea Salt", "Wombat Milk Sea Salt", "200g"),
    # the plain variant beside another variant
    ("Wombat Fruit Loaf Original", "Wombat Fruit Loaf Spiced", "200g"),
    ("Wombat Muesli Original", "Wombat Muesli Apricot", "200g"),
    # a brand-only name beside a flavour
    ("Wombat Bar", "Wombat Caramel Bar", "200g"),
    # a brand-only name without equal weights
    ("Wombat Bar", "Wombat Chocolate Bar", "6 pack"),
    # corn chips are not what "chips" implies
    ("Wombat Corn Chips Sea Salt", "Wombat Chips Sea Salt", "200g"),
    # two percentages
    ("Wombat Dark 70% Cocoa", "Wombat Dark 85% Cocoa", "200g"),
    # a bare number that is no pack count of the other side
    ("Wombat Bites 11 Multipack", "Wombat Bites 12 Pieces", "200g"),
])
def test_pairs_that_must_never_match_across_chains(name_a, name_b, size_b):
    a = iga("i1", name_a, "Wombat", "200g Each")
    b = ww("w1", name_b, "Wombat", size_b)
    assert suggested([a, b]) == set()


def test_pieces_are_a_count_not_a_number_of_the_name():
    a = iga("i1", "Wombat Caramel Bites Party Bag", "Wombat", "180g Each")
    b = ww("w1", "Wombat Caramel Bites Party Bag 12 Pieces", "Wombat", "180g")
    assert profile(b).counts == {12.0} and profile(b).numbers == frozenset()
    [c] = candidates_of(a, b)
    assert c.size == "equal-count-one-sided" and c.guard is None
    assert suggested([a, b]) == {("i1", "w1")}
    # another count of pieces is another pack
    c12 = iga("i2", "Wombat Caramel Bites 12 Pieces", "Wombat", "180g Each")
    c15 = ww("w2", "Wombat Caramel Bites 15 Pieces", "Wombat", "180g")
    assert candidates_of(c12, c15) == []


def test_a_bare_number_may_be_the_other_sides_count():
    a = iga("i1", "Wombat Bites 11 Multipack", "Wombat", "132g Each")
    b = ww("w1", "Wombat Bites Party Share Bag 11 Pieces", "Wombat", "132g")
    [c] = candidates_of(a, b)
    assert c.guard is None
    assert suggested([a, b]) == {("i1", "w1")}
    # within one chain a number stays a number
    assert same_chain(ww("w2", a.name, "Wombat", "132g"), b).guard.startswith("numbers-differ")


def test_unit_prices_far_apart_are_two_articles():
    a = iga("i1", "Wombat Dijon Mustard", "Wombat", "200g Each", price=4.0,
            unit_price=20.0, unit_measure="1kg")
    cheap = ww("w1", "Wombat Dijon Mustard", "Wombat", "200g", price=0.9, unit_price=4.5,
               unit_measure="1kg")
    [c] = candidates_of(a, cheap)
    assert c.guard == "unit-prices-differ:x4.4"
    assert suggested([a, cheap]) == set()
    # a special at half price is still the article; so are unknown or other-measure prices
    half = ww("w2", "Wombat Dijon Mustard", "Wombat", "200g", price=2.0, unit_price=10.0,
              unit_measure="1kg")
    other_measure = ww("w3", "Wombat Dijon Mustard", "Wombat", "200g", price=0.9,
                       unit_price=0.9, unit_measure="1.0each")
    assert suggested([a, half]) == {("i1", "w2")}
    assert suggested([a, other_measure]) == {("i1", "w3")}
    # blind to prices (the benchmark's comparison run), the cheap one matches
    assert suggested([a, cheap], MatchConfig().without_unit_prices()) == {("i1", "w1")}


def test_one_chain_listing_an_article_twice_is_still_found():
    # the duplicate-listing check works with the strict rule: two listings of one chain that
    # differ only by a pack-size word are not doubles, but identical names are
    listings = [profile(ww("w1", "Wombat Crisps", "Wombat", "200g")),
                profile(ww("w2", "Wombat Crisps Share Pack", "Wombat", "200g")),
                profile(ww("w3", "Wombat Crisps", "Wombat", "200g"))]
    doubles = duplicate_listings(listings)
    assert doubles[("woolworths", "w1")] == ("w3",)
    assert ("woolworths", "w2") not in doubles


def test_a_price_per_each_gives_away_the_pack_count():
    unsaid = ww("w1", "Wombat Crumpets", "Wombat", "", price=3.0, unit_price=0.5,
                unit_measure="1.0each")
    assert profile(unsaid).counts == {6.0}
    six = iga("i1", "Wombat Crumpets 6 Pack", "Wombat", "Each")
    four = iga("i2", "Wombat Crumpets 4 Pack", "Wombat", "Each")
    assert [c.size for c in candidates_of(six, unsaid)] == ["equal-count"]
    assert candidates_of(four, unsaid) == []         # another pack: never compared
    # not a whole number (a rounded or per-piece price), or per another measure: none
    per_piece = ww("w2", "Wombat Lozenges", "Wombat", "", price=3.2, unit_price=0.45,
                   unit_measure="1.0each")
    per_kg = ww("w3", "Wombat Crumpets", "Wombat", "", price=3.0, unit_price=0.5,
                unit_measure="1kg")
    assert profile(per_piece).counts == frozenset() == profile(per_kg).counts
