"""Cross-chain product matching: suggest pairs of products (of different companies) that are
the same article although their identity keys differ (issues 9 and 20).

No Scrapy, no database: the query is :mod:`grocer.db.matching`, the review flow (report,
rejections, apply) :mod:`grocer.matching.review`, the command ``scrapy match``. Barcodes are
never used here (a product with a barcode is merged by barcode anyway);
:attr:`MatchProduct.barcode` only travels into reports and the evaluation.

Three stages, each recorded on every suggested pair (``block``, scores, ``rule``):

1. **Blocking** (:func:`candidate_pairs`). Two products of different companies are compared only
   when their *brands agree* -- equal normalized brands (after the brand table), or every word
   of one side's brand (company words such as "Pty Ltd" dropped) found in the other side's name
   or brand: a chain may name the maker, "Wombat Foods Pty Limited", and put the brand in
   the name -- and their *sizes do not conflict*. Sizes are taken from name and size field
   (spec §1.8.3) as canonical tuples (§1.9): a bare ``ea`` ("Each", IGA's selling unit) or
   ``pk`` has no number and is no size; a size field "per 100g" is a unit-price basis, not a
   size; a multipack "N x S" also offers its total N*S; "N pieces" and price / price per each
   (when a whole number) are pack counts. Masses/volumes must be §1.9-compatible (10 %) when
   both sides have one, pack counts equal when both sides have one.
2. **Scoring** (:func:`score_pairs`). Each side's name becomes a set of words (ASCII, lower,
   light plural folding, a few synonyms) without size mentions, without both sides' brand words
   and without packaging words; the pre-sorted word strings are compared with rapidfuzz
   (``ratio`` = token-sort, and ``token_set_ratio``; ``process.cpdist`` with ``workers=-1`` for
   large batches); the score is their mean -- for two chains lifted towards the same score on
   the identity words (no descriptors, no words a cross-chain rule explains).
3. **Decision** (:func:`decide`), tuned for precision -- a wrong merge mixes two products'
   prices, a missed one only costs a comparison:

   * guards: no differing numbers ("70% cocoa" vs "85%", "size 4" vs "size 5"); no variant word
     on one side only or conflicting ones (lite/skim vs full cream, zero/diet, sugar free,
     flavours, colours, share packs ...); every word only one side has must be a generic
     descriptor ("biscuits", "chocolate", "sauce") or a spelling variant of a word of the other
     (swapped, dropped or added letters, an ending -- not another letter in a short word:
     liver / lover); no conflicting containers (cans vs bottles, jar vs pouch); unit prices
     (per kg, l or each) at most 4 times apart;
   * for two chains only, general grocery knowledge explains some one-sided words (pack-size
     words at equal weights, labels such as "potato chips", the plain variant, claim words,
     implied words, compounds, a percentage one chain states; brand-only names): the
     duplicate-listing check of one chain keeps the strict rule;
   * sizes: a mass/volume equal on both sides (within 0.5 %); weaker evidence (only equal
     counts, a multipack total, one side's count missing, no size on either side) needs a
     higher score; "close" (re-sized article) or one-sided sizes ("Each" vs "6 pack") are
     never suggested;
   * score >= threshold; mutual best (the best guard-passing candidate of both products); a
     margin over each product's runner-up;
   * the pair's *block* (the other products of that brand and size relation, whatever their
     guards said) must leave no doubt: no *rival listing* -- a product differing from the
     pair's product only by generic descriptors or by another brand's name ("Zedco Pascoe
     Caramels" beside "Zedco Caramels": either may be the article) -- and no *duplicate
     listing* (:func:`duplicate_listings`): when a chain lists two products of one brand and
     one mass/volume that the matcher would pair with each other (an old and a re-coded
     listing of one article, or names too poor to tell two articles apart), names no longer
     identify one barcode in that block, and no pair into it is suggested.

   What no rule on names can see: one article under two barcodes over the years (re-coded,
   re-sized with a stale size field, imported), when each chain lists only one of them.

Every suggested pair carries a confidence (0-1) and an explanation in words; pairs a reviewer
rejected are never suggested (:mod:`.review`). Output is deterministic: products are processed
in key order, ties broken by key.

Modules: :mod:`.vocabulary` (word lists, words of a text), :mod:`.products` (records, thresholds),
:mod:`.profiles` (per-product features), :mod:`.blocking`, :mod:`.scoring` (scores and guards),
:mod:`.decision` (the rule and the driver), :mod:`.review` (report, rejections, apply).
"""

from grocer.matching.blocking import Candidate, candidate_pairs
from grocer.matching.decision import (
    MatchPair,
    MatchResult,
    decide,
    duplicate_listings,
    group_pairs,
    match_products,
)
from grocer.matching.products import MatchConfig, MatchProduct
from grocer.matching.profiles import brand_vocabulary, profile
from grocer.matching.scoring import score_pairs

__all__ = [
    "MatchProduct",
    "MatchConfig",
    "Candidate",
    "MatchPair",
    "MatchResult",
    "profile",
    "candidate_pairs",
    "score_pairs",
    "duplicate_listings",
    "brand_vocabulary",
    "decide",
    "match_products",
    "group_pairs",
]
