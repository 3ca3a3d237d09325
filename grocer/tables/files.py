"""Translation tables: two JSON objects ``{variation: canonical}`` (DESIGN §4).

``brand_translation_table.json`` maps normalized brand variations to the canonical normalized
brand; ``product_translation_table.json`` maps key variations to the canonical product key.
Only this module touches the files; :class:`~grocer.normalization.ProductNormalizer` receives
the dicts through its constructor.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from collections.abc import Mapping

__all__ = [
    "BRAND_TABLE_FILE",
    "PRODUCT_TABLE_FILE",
    "TABLE_FILES",
    "TranslationTableError",
    "load_translation_tables",
    "load_table",
    "validate_table_bytes",
    "write_table_atomically",
]

BRAND_TABLE_FILE = "brand_translation_table.json"
PRODUCT_TABLE_FILE = "product_translation_table.json"
TABLE_FILES = (BRAND_TABLE_FILE, PRODUCT_TABLE_FILE)


class TranslationTableError(ValueError):
    """A translation table that must not be used; names the file and the problem."""

    def __init__(self, filename, problem: str):
        self.filename = str(filename)
        self.problem = problem
        super().__init__(f"invalid translation table {self.filename}: {problem}")


def _check_table(table, filename) -> dict:
    if not isinstance(table, dict):
        raise TranslationTableError(filename, f"top level is a JSON {type(table).__name__}, not an object")
    for key, value in table.items():
        if not isinstance(value, str):
            raise TranslationTableError(
                filename, f"value of {key[:80]!r} is a {type(value).__name__}, not a string")
    return table


def _check_mapping(table, filename) -> dict:
    if not isinstance(table, Mapping):
        raise TranslationTableError(filename, f"a {type(table).__name__}, not a mapping")
    for key, value in table.items():
        if not isinstance(key, str):
            raise TranslationTableError(filename, f"key {key!r} is a {type(key).__name__}, not a string")
        if not isinstance(value, str):
            raise TranslationTableError(
                filename, f"value of {key[:80]!r} is a {type(value).__name__}, not a string")
    return dict(table)


def validate_table_bytes(data: bytes, filename) -> dict:
    """Parse and check a table's bytes (e.g. a download, before it replaces a good file).

    Must be UTF-8 JSON holding one object whose keys and values are all strings; otherwise
    :class:`TranslationTableError`. An empty object ``{}`` is valid (the caller decides whether
    an empty download may replace a non-empty table).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TranslationTableError(filename, f"expected bytes, got {type(data).__name__}")
    if not bytes(data).strip():
        raise TranslationTableError(filename, "empty file")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranslationTableError(filename, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        table = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise TranslationTableError(filename, f"not valid JSON ({detail})") from None
    return _check_table(table, filename)


def load_table(path) -> dict:
    """One table file: {} when it does not exist, else :func:`validate_table_bytes`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise TranslationTableError(path, "is a directory") from None
    except OSError as exc:
        raise TranslationTableError(path, f"cannot be read ({exc.strerror or exc})") from None
    return validate_table_bytes(data, path)


def load_translation_tables(directory) -> tuple[dict, dict]:
    """``(brand_table, product_table)`` from ``directory``; a missing file gives ``{}``.

    An invalid file raises :class:`TranslationTableError` naming the file and the problem.
    """
    directory = Path(directory)
    return load_table(directory / BRAND_TABLE_FILE), load_table(directory / PRODUCT_TABLE_FILE)


def write_table_atomically(path, table: Mapping[str, str]) -> None:
    """Write ``table`` as compact, key-sorted JSON to ``path`` atomically.

    The JSON goes to a temporary file in the same directory, is flushed and fsynced, then
    ``os.replace``d over ``path``: readers see the old or the new table, never half a file.
    Raises :class:`TranslationTableError` (nothing written) if keys/values are not strings.
    """
    path = Path(path)
    table = _check_mapping(table, path)
    data = json.dumps(table, separators=(",", ":"), sort_keys=True).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
