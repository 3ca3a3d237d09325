"""Text helpers: the "bag of words" cleaner (spec §1.8.1) and a Django-compatible slugify."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_value", "search_words", "slugify", "to_ascii"]

_NOT_WORD_CHAR = re.compile(r"[^a-z0-9\s]")
_APOSTROPHES = re.compile(r"['\u2019`]")
_NOT_SEARCH_CHAR = re.compile(r"[^a-z0-9]+")
_SLUG_STRIP = re.compile(r"[^\w\s-]")
_SLUG_DASHES = re.compile(r"[-\s]+")


def to_ascii(text: str) -> str:
    """Unicode NFKD, then drop every non-ASCII character ("café" -> "cafe")."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def clean_value(text) -> str:
    """Bag of words (§1.8.1): the identity-key form of a text.

    Non-strings give ``''``. NFKD -> ASCII, lower-case, every character that is not ``a-z``,
    ``0-9`` or whitespace is *deleted* (not replaced by a space: "Coca-Cola" -> "cocacola",
    "4.8g" -> "48g"), split on whitespace, de-duplicated, sorted in plain string order
    (digits before letters), joined with single spaces.
    """
    if not isinstance(text, str):
        return ""
    text = _NOT_WORD_CHAR.sub("", to_ascii(text).lower())
    return " ".join(sorted(set(text.split())))


def slugify(value) -> str:
    """Django's ``slugify`` (allow_unicode=False), used for Coles product URLs."""
    value = to_ascii(str(value))
    value = _SLUG_STRIP.sub("", value.lower())
    return _SLUG_DASHES.sub("-", value).strip("-_")


def search_words(*texts) -> str:
    """The searchable form of texts (a product's name and brand, or a query): ASCII, lower-case,
    apostrophes dropped, every run of other characters one space, words in order
    ("Arnott's Tim-Tam" -> "arnotts tim tam"). Query words then match word prefixes of it."""
    words = (_NOT_SEARCH_CHAR.sub(" ", to_ascii(_APOSTROPHES.sub("", text)).lower())
             for text in texts if isinstance(text, str))
    return " ".join(" ".join(words).split())
