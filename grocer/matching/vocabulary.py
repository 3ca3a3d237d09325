"""General grocery vocabulary of the matcher: word lists (packaging, containers, variant words,
generic descriptors, synonyms) and how a text becomes words. General knowledge only: no name
or brand of any data set."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")
_WORD = re.compile(r"[a-z0-9]+")
_UNITS = (r"kilograms?|kg|grams?|gms?|g|millilitres?|milliliters?|mls?|litres?|liters?|ltrs?|lt|l"
          r"|pieces?|pcs?"
          r"|packs?|pk|each|ea")
_NUM = r"\d+(?:\.\d+)?"
# A size mention in a name ("500g", "6 x 375ml", "375ml x 24", "10 pack", "1.25 L").
_SIZE_MENTION = re.compile(
    rf"(?:\b\d+\s*x\s*)?\b{_NUM}\s*/?\s*(?:{_UNITS})\b(?:\s*x\s*\d+\b)?|\b\d+\s*x\b")
#: "12 pieces", "20pcs": the count of pieces in a pack (a size, not a number of the name).
PIECES = re.compile(r"\b(\d+)\s*(?:pieces?|pcs?)\b", re.I)
#: "70% cocoa", "33 %": a percentage stated in a name.
PERCENT = re.compile(r"\b(\d+)\s*%")
PER_BASIS = re.compile(r"^\s*(?:per|/)\b", re.I)

#: Words with no identity: articles, connectives.
STOPWORDS = frozenset("a an and the with of in on for to from by n or".split())
#: Packaging and presentation words: chains add or omit them freely (removed before scoring).
PACKAGING = frozenset(
    "bag bar block bottle box can canned carton case container jar pack packet pouch punnet roll "
    "sachet tin tray tub piece prepack each".split())
#: Kinds of container: a name stating one kind and the other name another kind are other
#: articles (beer in cans vs in bottles, honey in a jar vs a squeeze pouch). Words of one set
#: are the same kind. Only these packaging words conflict -- "pack", "box", "bag" are
#: presentation words chains use freely.
CONTAINERS: tuple[frozenset[str], ...] = (
    frozenset({"can", "canned", "tin"}), frozenset({"bottle"}), frozenset({"carton"}),
    frozenset({"jar"}), frozenset({"pouch", "sachet"}))

CONTAINER_WORDS = frozenset().union(*CONTAINERS)

#: Words of company names that are not brands ("Wombat Foods Australia Pty Limited").
CORPORATE = frozenset(
    "pty ltd limited inc co company corporation corp australia aust nz llc sa sau gmbh plc "
    "group holdings unit trust international intl food product brand".split())

#: Spellings that mean the same (applied to single words after stemming).
SYNONYMS: Mapping[str, str] = {
    "lite": "light", "choc": "chocolate", "chocolatey": "chocolate", "chocolaty": "chocolate",
    "yogurt": "yoghurt", "chili": "chilli", "barbecue": "bbq", "bbqs": "bbq", "flavor": "flavour",
    "flavored": "flavoured", "favourite": "favorite", "colour": "color", "org": "organic",
    "tomatoe": "tomato", "vanila": "vanilla", "gf": "glutenfree",
    "sf": "sugarfree", "nas": "noaddedsugar", "veg": "vegetable", "bisc": "biscuit",
    "mayo": "mayonnaise", "crisp": "chip", "cooky": "cookie", "wholewheat": "wholemeal",
    "creme": "cream",
}

#: Variant words: when one side has such a word and the other does not, they are different
#: articles (the lite milk is not the full-cream milk, the orange chocolate not the plain one,
#: the share pack not the single bar). Words are in stemmed form (see :func:`_stem`).
VARIANT_WORDS = frozenset(
    # fat, sugar, salt, caffeine, alcohol and other "less / free / more" variants
    "light skim skinny low reduced less lean zero diet free sugarfree glutenfree lactose "
    "unsweetened sweetened unsalted salted decaf decaffeinated caffeine nonalcoholic "
    "noaddedsugar full cream thickened double extra max ultra plus mini maxi jumbo giant "
    "king family kid junior toddler baby adult senior mild medium hot spicy strong "
    "sensitive whitening natural organic vegan protein high fibre premium "
    # multipacks and presentations that are other articles
    "multipack sharepack share party fun funsize snack treat value bulk "
    # forms, cuts and preserving media
    "sliced diced crushed whole half grated shredded spread flaked chunky smooth crunchy "
    "thin thick mince minced ground roasted raw fresh frozen dried instant brine oil "
    "springwater water "
    # flavours and colours
    "original classic plain vanilla strawberry raspberry blueberry berry cherry banana mango "
    "apple pear peach apricot orange lemon lime grapefruit pineapple passionfruit coconut "
    "grape watermelon tropical mint peppermint spearmint caramel butterscotch toffee honey "
    "maple cinnamon ginger hazelnut almond peanut cashew macadamia pistachio walnut coffee "
    "mocha espresso latte cappuccino cocoa chocolate milk dark white cookie biscuit fudge "
    "cheese cheddar parmesan mozzarella feta garlic onion chive herb tomato chilli pepper "
    "jalapeno bbq smoky smoked sour salt vinegar chicken beef pork lamb ham bacon turkey "
    "fish tuna salmon prawn vegetable mushroom spinach pumpkin potato sweet savoury teriyaki "
    "satay curry tikka korma butter sesame soy wasabi truffle lemongrass basil oregano "
    "rosemary thyme pesto red green yellow black blue pink purple gold silver brown "
    "rice oat wheat corn quinoa sultana raisin date fig cranberry fruit nut seed".split())

#: Generic descriptors: what kind of article it is, a word chains add or drop ("Zedco
#: Peppermint" vs "Zedco Peppermint Chocolate Block", "Wombat Arrowroot Biscuits"). Only
#: these may appear on one side alone; any other one-sided word may name another article.
DESCRIPTORS = frozenset(
    "chocolate milk biscuit cookie cracker crispbread chip cereal breakfast sauce pasta "
    "noodle soup dip spread flavour flavoured style coated liquid squeezy sandwich lolly "
    "candy confectionery chewing gum drink beverage food product dessert dressing tortilla"
    .split())

# The words below loosen the guards for pairs of two chains only: one chain's two listings
# are compared by the stricter rule (its duplicate-listing check must keep finding doubles).

#: Words that say how big a pack is or how it is sold ("share pack", "party bag", "fun size",
#: "multipack"): when both sides weigh the same they say nothing more about the article.
PACK_SIZE_WORDS = frozenset(
    "share sharepack party fun funsize size multipack value bulk family king jumbo giant gift "
    "boxed".split())
#: The plain variant of a line: a name stating it and a name stating no variant at all are
#: one article (the chain that sells only the plain one does not say so).
PLAIN_VARIANTS = frozenset("original classic regular".split())
#: Claims and marketing words that name no article ("real", "traditional", "favourites").
CLAIM_WORDS = frozenset("real traditional favorite authentic genuine famous".split())
#: Words the other name implies: chips are potato chips unless a name says otherwise, a
#: cheddar is a cheese. A one-sided "potato" beside "chips" says nothing new.
IMPLIED_BY: Mapping[str, frozenset[str]] = {
    "potato": frozenset({"chip"}),
    "cheese": frozenset({"cheddar", "parmesan", "mozzarella", "feta", "brie", "camembert",
                         "gouda", "edam", "haloumi", "ricotta"}),
}


def _ascii_lower(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.lower()


def _stem(word: str) -> str:
    """Light plural folding: berries -> berry, chips -> chip, glass stays."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("es") and word[-3] in "sxz" and not word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return SYNONYMS.get(word, word)


def words_of(text: str, strip_sizes: bool = True) -> list[str]:
    """Ordered words of a text: ASCII, lower, apostrophes dropped, size mentions removed."""
    if not isinstance(text, str) or not text:
        return []
    text = _APOSTROPHES.sub("", _ascii_lower(text)).replace(",", "")
    if strip_sizes:
        text = _SIZE_MENTION.sub(" ", text)
    return [_stem(w) for w in _WORD.findall(text)]

