"""Cross-chain matcher (pure): blocking, scoring, guards, decision rule. Invented fixtures."""

from __future__ import annotations

import random

import pytest

from grocer.normalization import ProductNormalizer
from grocer import matching as m
from grocer.matching import scoring, vocabulary
from grocer.matching import (
    MatchConfig,
    MatchProduct,
    candidate_pairs,
    group_pairs,
    match_products,
    profile,
    score_pairs,
)

NORMALIZER = ProductNormalizer({}, {})


def product(key, name, company, brand="", size="", **fields) -> MatchProduct:
    derived = NORMALIZER.normalize({"name": name, "brand": brand, "size": size})
    return MatchProduct(key=key, name=name, company=company, brand=brand, size=size,
                        sizes=tuple(derived["sizes"]),
                        normalized_brand=fields.pop("normalized_brand",
                                                    derived["normalized_brand"]),
                        **fields)


def ww(key, name, brand="", size="", **fields):
    return product(key, name, "woolworths", brand, size, **fields)


def iga(key, name, brand="", size="", **fields):
    return product(key, name, "iga", brand, size, **fields)


def candidates_of(a, b, config=MatchConfig()):
    cands = candidate_pairs([profile(a)], [profile(b)], config)
    score_pairs(cands, config)
    return cands


def suggested(products, config=MatchConfig()):
    return {(p.a.key, p.b.key) for p in match_products(products, config).pairs}


# --- profiles ---------------------------------------------------------------------------------

def test_profile_sizes_ignore_bare_each_and_unit_price_basis():
    assert profile(iga("k", "Kale Bunch", size="Each")).measures == frozenset()
    assert profile(iga("k", "Kale Bunch", size="Each")).counts == frozenset()
    assert profile(ww("k", "Ham Shaved", size="per 100g")).measures == frozenset()
    assert profile(iga("k", "Choc Block", size="180g Each")).measures == {(180.0, "g")}
    assert profile(ww("k", "Cola", size="1.25L")).measures == {(1250.0, "ml")}


def test_profile_sizes_from_the_name_and_multipack_totals():
    p = profile(ww("k", "Rice Cups 125g x 2 pack", size=""))
    assert p.measures == {(125.0, "g")}
    assert p.counts == {2.0}
    assert p.totals == {(250.0, "g")}
    assert profile(iga("k", "Bean Sprouts 250 grams", size="Each")).measures == {(250.0, "g")}


def test_profile_core_drops_brand_sizes_packaging_and_keeps_numbers_apart():
    p = profile(ww("k", "Zedco Dark Chocolate 70% Cocoa Block 100g", "Zedco", "100g"))
    assert p.core == {"dark", "chocolate", "cocoa"}
    assert p.numbers == {"70"}
    assert p.brand_words == {"zedco"}


def test_profile_brand_drops_corporate_words_and_non_ascii_placeholders():
    assert profile(iga("k", "X", "Quokka Foods Australia Pty Ltd")).brand_words == {"quokka"}
    assert profile(iga("k", "Loose Carrots", "\u8212\u9002(\u5e7f\u5dde)")).brand_words == set()


def test_stemming_and_synonyms_fold_spelling_variants():
    assert vocabulary.words_of("Berries Cookies Chips Lite Choc Yogurt") == [
        "berry", "cookie", "chip", "light", "chocolate", "yoghurt"]
    assert vocabulary.words_of("Glass Hummus") == ["glass", "hummus"]


# --- blocking ---------------------------------------------------------------------------------

def test_blocking_needs_brand_agreement():
    a = iga("i1", "Wombat Crunch Oat Biscuits", "Wombat", "250g Each")
    b = ww("w1", "Koala Crunch Oat Biscuits", "Koala", "250g")
    assert candidates_of(a, b) == []
    assert suggested([a, b]) == set()


def test_blocking_brand_tokens_found_in_the_other_name():
    # IGA names the maker as brand and puts the brand in the name
    a = iga("i1", "Wombat Crunch Oat Biscuits", "Marsupial Snacks Pty Ltd", "250g Each")
    b = ww("w1", "Wombat Crunch Oat Biscuits", "Wombat", "250g")
    [c] = candidates_of(a, b)
    assert c.brand == "b-in-a"
    assert suggested([a, b]) == {("i1", "w1")}


def test_blocking_brand_joined_spelling():
    a = iga("i1", "Sun Rice Jasmine Rice", "Sun Rice", "1kg Each")
    b = ww("w1", "SunRice Jasmine Rice", "Sunrice", "1kg")
    assert candidates_of(a, b), "equal normalized brands agree"
    a2 = iga("i2", "Sun Rice Jasmine Rice", "Grain Co", "1kg Each")
    b2 = ww("w2", "Jasmine Rice", "SunRice", "1kg")
    assert candidates_of(a2, b2)[0].brand == "b-in-a"


def test_blocking_rejects_incompatible_sizes():
    a = iga("i1", "Wombat Crunch Oat Biscuits", "Wombat", "250g Each")
    b = ww("w1", "Wombat Crunch Oat Biscuits", "Wombat", "500g")
    assert candidates_of(a, b) == []
    assert suggested([a, b]) == set()


def test_blocking_rejects_different_pack_counts():
    a = iga("i1", "Wombat Muesli Bars 6 Pack", "Wombat", "Each")
    b = ww("w1", "Wombat Muesli Bars", "Wombat", "8 pack")
    assert candidates_of(a, b) == []


def test_blocking_keeps_close_sizes_but_never_suggests_them():
    a = iga("i1", "Wombat Choc Block", "Wombat", "180g Each")
    b = ww("w1", "Wombat Choc Block", "Wombat", "170g")  # within §1.9's 10 %
    [c] = candidates_of(a, b)
    assert c.size == "close"
    result = match_products([a, b])
    assert result.pairs == []
    assert result.rejected.get("size-close") == 1


def test_each_is_no_size_and_a_one_sided_size_is_not_suggested():
    a = iga("i1", "Wombat Muesli Bars Honey", "Wombat", "Each")
    b = ww("w1", "Wombat Muesli Bars Honey", "Wombat", "6 pack")
    [c] = candidates_of(a, b)
    assert c.size == "one-sided"
    assert suggested([a, b]) == set()


def test_loose_produce_without_sizes_or_brands_matches_with_a_stricter_score():
    a = iga("i1", "Iceberg Lettuce", "\u8212\u9002", "Each")
    b = ww("w1", "Iceberg Lettuce", "", "each")
    [c] = candidates_of(a, b)
    assert (c.brand, c.size) == ("unbranded", "none")
    assert MatchConfig().threshold("none", branded=False) > MatchConfig().threshold("equal", True)
    assert suggested([a, b]) == {("i1", "w1")}


def test_multipack_total_blocks_with_the_single_size():
    a = iga("i1", "Quokka Microwave Jasmine Rice", "Quokka", "250g Each")
    b = ww("w1", "Quokka Microwave Jasmine Rice 125g x 2 pack", "Quokka", "125g x 2 pack")
    [c] = candidates_of(a, b)
    assert c.size == "total"
    assert suggested([a, b]) == {("i1", "w1")}


def test_same_company_is_never_paired():
    a = ww("w1", "Wombat Crunch Oat Biscuits", "Wombat", "250g")
    b = ww("w2", "Wombat Crunch Oat Biscuits", "Wombat", "250g")
    assert suggested([a, b]) == set()


# --- scoring and guards -----------------------------------------------------------------------

def test_scores_ignore_word_order_brand_sizes_and_packaging():
    a = iga("i1", "Wombat Mustard Dijon Jar 215g", "Wombat", "215g Each")
    b = ww("w1", "Wombat Dijon Mustard", "Wombat", "215g")
    [c] = candidates_of(a, b)
    assert (c.sort_score, c.set_score, c.score) == (100.0, 100.0, 100.0)
    assert c.guard is None


@pytest.mark.parametrize("name_a, name_b, guard", [
    ("Moo Farm Lite Milk", "Moo Farm Full Cream Milk", "variants-conflict"),
    ("Moo Farm Skim Milk", "Moo Farm Milk", "variant-one-sided"),
    ("Fizzco Cola Zero Sugar", "Fizzco Cola", "variant-one-sided"),
    ("Fizzco Diet Cola", "Fizzco Cola Classic", "variants-conflict"),
    ("Zedco Dark Chocolate Orange", "Zedco Dark Chocolate Mint", "variants-conflict"),
    ("Zedco Dark Chocolate Orange", "Zedco Dark Chocolate", "variant-one-sided"),
    ("Zedco Dark Chocolate 70% Cocoa", "Zedco Dark Chocolate 85% Cocoa", "numbers-differ"),
    ("Nappy Pants Size 4", "Nappy Pants Size 5", "numbers-differ"),
    ("Zedco Caramel Swirl Deluxe", "Zedco Caramel Swirl", "unexplained-words"),
    ("Zedco", "Zedco Caramel Bar", "empty-name"),
])
def test_guards_reject_pairs_that_must_never_match(name_a, name_b, guard):
    brand = name_a.split()[0] if name_a.split()[0] in ("Zedco", "Fizzco") else "Moo Farm"
    if name_a.startswith("Nappy"):
        brand = ""
    a = iga("i1", name_a, brand, "1l Each")
    b = ww("w1", name_b, brand, "1L")
    [c] = candidates_of(a, b)
    assert c.guard is not None and c.guard.split(":")[0] == guard
    assert suggested([a, b]) == set()


def test_descriptor_and_typo_words_may_be_one_sided():
    a = iga("i1", "Kookaburra Milk Arrowroot", "Kookaburra", "250g Each")
    b = ww("w1", "Kookaburra Milk Arrowroot Biscuits", "Kookaburra", "250g")
    [c] = candidates_of(a, b)
    assert c.guard is None and c.extra_b == ("biscuit",)
    a2 = iga("i2", "Kookaburra Cruskits Cripsbread Original", "Kookaburra", "125g Each")
    b2 = ww("w2", "Kookaburra Cruskits Original Crispbreads", "Kookaburra", "125g")
    [c2] = candidates_of(a2, b2)
    assert c2.guard is None
    assert suggested([a, b, a2, b2]) == {("i1", "w1"), ("i2", "w2")}


def test_lite_versus_full_cream_never_matches_even_as_the_only_candidate():
    products = [
        iga("i1", "Moo Farm Full Cream Milk 2L", "Moo Farm", "2l Each"),
        ww("w1", "Moo Farm Lite Milk", "Moo Farm", "2L"),
    ]
    assert suggested(products) == set()


# --- decision ---------------------------------------------------------------------------------

def test_mutual_best_picks_the_right_variant_among_several():
    products = [
        iga("i1", "Moo Farm Full Cream Milk", "Moo Farm", "2l Each"),
        iga("i2", "Moo Farm Lite Milk", "Moo Farm", "2l Each"),
        iga("i3", "Moo Farm Skim Milk", "Moo Farm", "2l Each"),
        ww("w1", "Moo Farm Milk Full Cream 2L", "Moo Farm", "2L"),
        ww("w2", "Moo Farm Light Milk 2L", "Moo Farm", "2L"),
    ]
    assert suggested(products) == {("i1", "w1"), ("i2", "w2")}


def test_ambiguous_rivals_are_not_suggested():
    # two IGA products the Woolworths one fits equally well: no decision
    products = [
        iga("i1", "Wombat Crunch Oat Biscuits", "Wombat", "250g Each"),
        iga("i2", "Wombat Oat Crunch Biscuits", "Wombat", "250g Each"),
        ww("w1", "Wombat Crunch Oat Biscuits", "Wombat", "250g"),
    ]
    result = match_products(products)
    assert result.pairs == []
    assert result.rejected.get("ambiguous", 0) + result.rejected.get("not-mutual-best", 0) >= 1


def test_below_threshold_is_not_suggested_and_min_score_moves_it():
    a = iga("i1", "Wombat Hokkien Golden", "Wombat", "440g Each")
    b = ww("w1", "Wombat Golden Hokkien Noodles", "Wombat", "440g")
    [c] = candidates_of(a, b)
    assert c.guard is None and c.score < 100
    assert suggested([a, b], MatchConfig().with_min_score(c.score + 1)) == set()
    assert suggested([a, b], MatchConfig().with_min_score(c.score - 1)) == {("i1", "w1")}


def test_pair_carries_block_scores_and_rule():
    a = iga("i1", "Wombat Dijon Mustard", "Wombat", "215g Each")
    b = ww("w1", "Wombat Mustard Dijon", "Wombat", "215g")
    [pair] = match_products([a, b]).pairs
    assert pair.block == "brand:equal;size:equal(215g)"
    assert pair.score == 100.0 and pair.margin == 100.0
    assert "mutual best" in pair.rule and "guards passed" in pair.rule
    row = pair.as_row()
    assert row["key_a"] == "i1" and row["key_b"] == "w1" and row["rule"] == pair.rule


def test_barcodes_are_never_used():
    a = iga("i1", "Wombat Dijon Mustard", "Wombat", "215g Each", barcode="9300000000001")
    b = ww("w1", "Wombat Dijon Mustard", "Wombat", "215g", barcode="9300000000002")
    c = iga("i2", "Wombat Honey Mustard", "Wombat", "215g Each", barcode="9300000000002")
    assert suggested([a, b, c]) == {("i1", "w1")}


def test_output_is_deterministic_whatever_the_input_order():
    products = [
        iga("i1", "Moo Farm Full Cream Milk", "Moo Farm", "2l Each"),
        iga("i2", "Moo Farm Lite Milk", "Moo Farm", "2l Each"),
        iga("i3", "Wombat Dijon Mustard", "Wombat", "215g Each"),
        ww("w1", "Moo Farm Milk Full Cream 2L", "Moo Farm", "2L"),
        ww("w2", "Moo Farm Light Milk 2L", "Moo Farm", "2L"),
        ww("w3", "Wombat Mustard Dijon", "Wombat", "215g"),
        product("c1", "Wombat Dijon Mustard", "coles", "Wombat", "215g"),
    ]
    first = [p.as_row() for p in match_products(products).pairs]
    for seed in range(3):
        shuffled = products[:]
        random.Random(seed).shuffle(shuffled)
        assert [p.as_row() for p in match_products(shuffled).pairs] == first
    assert {(r["company_a"], r["company_b"]) for r in first} == {
        ("coles", "iga"), ("coles", "woolworths"), ("iga", "woolworths")}


def test_companies_restrict_the_chains_compared():
    products = [
        iga("i3", "Wombat Dijon Mustard", "Wombat", "215g Each"),
        ww("w3", "Wombat Mustard Dijon", "Wombat", "215g"),
        product("c1", "Wombat Dijon Mustard", "coles", "Wombat", "215g"),
    ]
    pairs = match_products(products, companies=["coles", "iga"]).pairs
    assert [(p.a.key, p.b.key) for p in pairs] == [("c1", "i3")]


def test_a_product_of_two_chains_is_not_paired_with_itself():
    shared = dict(key="k1", name="Wombat Dijon Mustard", brand="Wombat", size="215g")
    products = [MatchProduct(company="iga", **shared), MatchProduct(company="woolworths", **shared),
                ww("w9", "Wombat Mustard Dijon", "Wombat", "215g")]
    pairs = match_products(products).pairs
    assert [(p.a.key, p.b.key) for p in pairs] == [("k1", "w9")]


def test_group_pairs_joins_chains():
    products = [
        iga("i3", "Wombat Dijon Mustard", "Wombat", "215g Each"),
        ww("w3", "Wombat Mustard Dijon", "Wombat", "215g"),
        product("c1", "Wombat Dijon Mustard", "coles", "Wombat", "215g"),
    ]
    groups = group_pairs(match_products(products).pairs)
    assert [[p.key for p in g] for g in groups] == [["c1", "i3", "w3"]]


def test_bulk_scoring_gives_the_same_numbers(monkeypatch):
    left = ["chocolate dark", "milk", "caramel salt sea"]
    right = ["chocolate dark orange", "milk", "caramel sea"]
    direct = scoring.pairwise_scores(left, right, scoring.fuzz.ratio)
    monkeypatch.setattr(scoring, "BULK_SCORING_FROM", 1)
    assert scoring.pairwise_scores(left, right, scoring.fuzz.ratio) == pytest.approx(direct)


def test_scoring_many_pairs_is_fast_enough_and_ordered():
    # a synthetic block of 300 x 300 same-brand, same-size products
    flavours = ["apple", "pear", "mango", "lime", "plum", "kiwi", "fig", "date", "guava", "yuzu"]
    words = ["crunch", "crisp", "bites", "rounds", "squares", "thins", "puffs", "twists", "rings",
             "drops"]
    products = []
    for i in range(300):
        name = f"Wombat {words[i % 10]} {flavours[i // 10 % 10]} {words[i // 100]} Snack"
        products.append(iga(f"i{i:03d}", name, "Wombat", "100g Each"))
        products.append(ww(f"w{i:03d}", name, "Wombat", "100g"))
    result = match_products(products)
    keys = [(p.a.key, p.b.key) for p in result.pairs]
    assert keys == sorted(keys)
    assert all(a[1:] == b[1:] for a, b in keys)


# --- spelling variants and containers ---------------------------------------------------------

@pytest.mark.parametrize("x, y, same", [
    ("cripsbread", "crispbread", True),   # swapped letters
    ("brasied", "braised", True),
    ("coat", "coated", True),             # an ending
    ("chocolat", "chocolate", True),      # a dropped letter
    ("wholegrian", "wholegrain", True),
    ("liver", "lover", False),            # one replaced letter in a short word: another word
    ("paste", "pasta", False),
    ("trail", "train", False),
    ("caramel", "caramilk", False),       # two edits
    ("swede", "sweet", False),
])
def test_spelling_variants_are_insertions_swaps_and_endings_only(x, y, same):
    assert scoring._spelling_variants(x, y) is same
    assert scoring._spelling_variants(y, x) is same


def test_a_short_word_with_another_letter_is_not_a_typo():
    a = iga("i1", "Purrfect Liver Feast Wet Cat Food", "Purrfect", "85g Each")
    b = ww("w1", "Purrfect Lover Feast Wet Cat Food", "Purrfect", "85g")
    [c] = candidates_of(a, b)
    assert c.guard == "unexplained-words:liver,lover"
    assert suggested([a, b]) == set()


def test_creme_is_cream():
    a = iga("i1", "Zedco Mint Creme", "Zedco", "175g Each")
    b = ww("w1", "Zedco Mint Cream", "Zedco", "175g")
    assert suggested([a, b]) == {("i1", "w1")}


def test_cans_are_not_bottles_but_one_sided_containers_are_fine():
    a = iga("i1", "Hoppy Lager Cans 375ml x 24", "Hoppy", "Each")
    b = ww("w1", "Hoppy Lager Bottles 375mL x 24", "Hoppy", "case")
    [c] = candidates_of(a, b)
    assert c.guard == "containers-conflict:can/bottle"
    assert suggested([a, b]) == set()
    a2 = iga("i2", "Beeline Honey Jar", "Beeline", "500g Each")
    b2 = ww("w2", "Beeline Honey", "Beeline", "500g")
    b3 = ww("w3", "Beeline Honey Squeeze Pouch", "Beeline", "375g")
    assert candidates_of(a2, b2)[0].guard is None
    assert suggested([a2, b2, b3]) == {("i2", "w2")}
    assert candidates_of(iga("i4", "Beeline Honey Tin", "Beeline", "500g Each"),
                         ww("w4", "Beeline Honey Jar", "Beeline", "500g"))[0].guard.startswith(
        "containers-conflict")


# --- rival and duplicate listings in a block --------------------------------------------------

def test_duplicate_listings_are_doubles_of_one_chain_at_one_size():
    products = [
        iga("i1", "Crunchy Co Chips Salt & Vinegar", "Crunchy Co", "165g Each"),
        iga("i2", "Crunchy Co Salt & Vinegar Chips", "Crunchy Co", "165g Each"),   # double of i1
        iga("i3", "Crunchy Co Chips Salt & Vinegar", "Crunchy Co", "45g Each"),    # other size
        iga("i4", "Crunchy Co Chips Sea Salt", "Crunchy Co", "165g Each"),
        ww("w1", "Crunchy Co Chips Salt & Vinegar", "Crunchy Co", "165g"),         # other chain
    ]
    doubles = m.duplicate_listings([profile(p) for p in products])
    assert doubles == {("iga", "i1"): ("i2",), ("iga", "i2"): ("i1",)}


def test_no_pair_into_a_block_where_a_chain_lists_an_article_twice():
    # IGA keeps an old and a re-coded listing of the salt & vinegar chips: its names in the
    # Crunchy Co 165g block no longer point to one barcode, so even the exact name of another
    # flavour is not suggested; the 45g block is not affected
    products = [
        iga("i1", "Crunchy Co Potato Crisps Salt & Vinegar", "Crunchy Co", "165g Each"),
        iga("i2", "Crunchy Co Salt & Vinegar Potato Chips", "Crunchy Co", "165g Each"),
        iga("i3", "Crunchy Co Chips Lightly Salted", "Crunchy Co", "165g Each"),
        iga("i4", "Crunchy Co Chips Lightly Salted", "Crunchy Co", "45g Each"),
        ww("w1", "Crunchy Co Chips Lightly Salted", "Crunchy Co", "165g bag"),
        ww("w2", "Crunchy Co Chips Lightly Salted", "Crunchy Co", "45g bag"),
    ]
    result = match_products(products)
    assert {(p.a.key, p.b.key) for p in result.pairs} == {("i4", "w2")}
    assert result.rejected["duplicate-listing"] == 1
    assert "no rival or duplicate listing" in result.pairs[0].rule
    # without the double the pair is suggested
    assert suggested([p for p in products if p.key != "i2"]) == {("i3", "w1"), ("i4", "w2")}


def test_doubles_on_the_pairs_own_side_are_checked_too():
    products = [
        iga("i1", "Salsa Co Mild Salsa", "Salsa Co", "300g Each"),
        ww("w1", "Salsa Co Salsa Dip Mild", "Salsa Co", "300g"),
        ww("w2", "Salsa Co Medium Salsa", "Salsa Co", "300g"),
        ww("w3", "Salsa Co Salsa Dip Medium", "Salsa Co", "300g"),
    ]
    assert suggested(products) == set()
    assert suggested(products[:3]) == {("i1", "w1")}


def test_a_rival_that_adds_another_brand_makes_the_pair_ambiguous():
    # IGA lists the caramels with and without the maker's line name "Pascoe" (a brand of
    # other products): the Woolworths "Zedco Caramels" may be either of them
    products = [
        iga("i1", "Zedco Caramels", "Zedco Foods Pty Ltd", "160g Each"),
        iga("i2", "Zedco Pascoe Caramels", "Zedco Foods Pty Ltd", "160g Each"),
        ww("w1", "Zedco Caramels", "Zedco", "160g"),
        ww("w9", "Pascoe Jubes", "Pascoe", "350g"),
    ]
    result = match_products(products)
    assert result.pairs == []
    assert result.rejected["rival-listing"] == 1
    # "pascoe" naming no brand, it is an unexplained word: i2 is another article
    assert suggested(products[:3]) == {("i1", "w1")}


def test_a_rival_that_adds_only_a_generic_word_makes_the_pair_ambiguous():
    products = [
        iga("i1", "Wombat Arrowroot", "Wombat", "250g Each"),
        iga("i2", "Wombat Arrowroot Biscuits Marble Swirl", "Wombat", "250g Each"),
        ww("w1", "Wombat Arrowroot", "Wombat", "250g"),
    ]
    [c] = candidates_of(products[1], products[2])
    assert c.guard is not None            # i2 is no candidate ...
    assert suggested(products) == {("i1", "w1")}
    rival = iga("i3", "Wombat Arrowroot Biscuits", "Wombat", "250g Each")
    result = match_products(products + [rival])     # ... but i3 could be the same article
    assert result.pairs == [] and result.rejected["rival-listing"] == 1


def test_brand_vocabulary_leaves_out_variant_and_generic_words():
    vocab = m.brand_vocabulary([profile(ww("w1", "X", "Pascoe Natural Foods Pty Ltd")),
                                profile(ww("w2", "Y", "Chocolate Co")),
                                profile(ww("w3", "Z", "Sunny 88"))])
    assert vocab == {"pascoe", "sunny"}
