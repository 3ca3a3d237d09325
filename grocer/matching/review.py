"""The review flow of cross-chain matching.

1. ``scrapy match`` writes the suggestions (CSV/JSON, or a table), each with its confidence and
   explanation and an empty ``decision`` column for the reviewer.
2. ``scrapy match --reject reviewed.csv`` records the rows marked ``reject`` in
   ``match_rejections.json`` in ``TRANSLATION_TABLES_DIR`` (``"<key> | <key>": "<names>"``,
   keys sorted); a rejected pair is never suggested again.
3. ``scrapy match --apply [--min-confidence X]`` adds the (strongest) pairs as ``variation key
   -> canonical key`` entries of ``product_translation_table.json`` -- never the database: the
   next reconciliation merges the products (prices, SKUs, key variations re-pointed to the
   canonical one).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Sequence

from grocer.matching.decision import MatchPair, group_pairs, match_products
from grocer.matching.products import MatchConfig, MatchProduct
from grocer.tables.files import (
    PRODUCT_TABLE_FILE,
    TranslationTableError,
    load_table,
    load_translation_tables,
    write_table_atomically,
)

__all__ = [
    "REPORT_COLUMNS",
    "ApplyResult",
    "canonical_of",
    "report_rows",
    "write_report",
    "plan_translations",
    "apply_pairs",
    "REJECTIONS_FILE",
    "load_rejections",
    "reject_reviewed",
    "MatchRun",
    "run_match",
]

REPORT_COLUMNS = (
    "company_a", "id_a", "key_a", "name_a", "brand_a", "size_a", "prices_a",
    "company_b", "id_b", "key_b", "name_b", "brand_b", "size_b", "prices_b",
    "score", "sort_score", "set_score", "margin", "block", "rule", "canonical_key",
    "confidence", "explanation", "decision",
)
#: Pairs a reviewer rejected, in ``TRANSLATION_TABLES_DIR`` beside the translation tables.
REJECTIONS_FILE = "match_rejections.json"
#: Joins the two (sorted) keys of a rejected pair; v1 keys are words of letters and digits.
_PAIR_SEPARATOR = " | "
#: What a reviewer writes in the ``decision`` column to reject a pair.
REJECT_DECISIONS = frozenset({"reject", "rejected", "no", "n", "wrong"})


def canonical_of(products: Iterable[MatchProduct]) -> MatchProduct:
    """The product the others merge into: most prices (stores), then the smaller key."""
    return min(products, key=lambda p: (-p.weight, p.key))


def report_rows(pairs: Iterable[MatchPair]) -> list[dict]:
    """Rows of the review report, in the matcher's (deterministic) order."""
    rows = []
    for pair in pairs:
        row = pair.as_row()
        row.update(id_a=pair.a.id, id_b=pair.b.id, prices_a=pair.a.weight,
                   prices_b=pair.b.weight, canonical_key=canonical_of((pair.a, pair.b)).key,
                   decision="")
        rows.append({column: row.get(column) for column in REPORT_COLUMNS})
    return rows


def write_report(pairs: Sequence[MatchPair], path: str | os.PathLike | None = None,
                 fmt: str | None = None) -> str:
    """The report as CSV or JSON text; also written to ``path`` when given.

    ``fmt``: "csv" or "json"; default from the path's suffix, else CSV.
    """
    if fmt is None:
        fmt = "json" if path is not None and str(path).lower().endswith(".json") else "csv"
    rows = report_rows(pairs)
    if fmt == "json":
        text = json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        raise ValueError(f"unknown report format {fmt!r} (csv or json)")
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


@dataclass
class ApplyResult:
    added: dict[str, str] = field(default_factory=dict)
    already_mapped: list[str] = field(default_factory=list)
    groups: int = 0
    written: bool = False

    def summary(self) -> str:
        return (f"{self.groups:,} groups: {len(self.added):,} product translations added, "
                f"{len(self.already_mapped):,} keys already in the table left alone")


def _resolve(table: dict[str, str], key: str) -> str:
    """Follow ``table`` from ``key`` to its final canonical (stops on a cycle)."""
    seen = {key}
    while key in table and table[key] not in seen:
        key = table[key]
        seen.add(key)
    return key


def plan_translations(pairs: Iterable[MatchPair], product_table: dict[str, str],
                      ) -> tuple[dict[str, str], list[str], int]:
    """``(new entries, keys left alone, groups)`` for ``pairs`` given the current table.

    Matched products form groups (a pair per two chains can chain across three); each group's
    canonical is :func:`canonical_of`, resolved through the existing table; every other member's
    key maps to it. A key already in the table keeps its entry (never overwritten); an entry
    that would point a key at itself or close a cycle is skipped.
    """
    added: dict[str, str] = {}
    kept: list[str] = []
    merged = dict(product_table)
    groups = group_pairs(pairs)
    for group in groups:
        canonical = canonical_of(group)
        target = _resolve(merged, canonical.key)
        for product in group:
            key = product.key
            if key == canonical.key or key == target:
                continue
            if key in merged or _resolve(merged, target) == key:
                kept.append(key)
                continue
            added[key] = merged[key] = target
    return added, sorted(set(kept)), len(groups)


def apply_pairs(pairs: Sequence[MatchPair], tables_dir: str | os.PathLike) -> ApplyResult:
    """Add the pairs' ``variation -> canonical`` entries to the product translation table in
    ``tables_dir`` (atomically; existing entries are never changed)."""
    directory = Path(tables_dir)
    _, product_table = load_translation_tables(directory)
    added, kept, groups = plan_translations(pairs, product_table)
    result = ApplyResult(added=added, already_mapped=kept, groups=groups)
    if added:
        directory.mkdir(parents=True, exist_ok=True)
        write_table_atomically(directory / PRODUCT_TABLE_FILE, {**product_table, **added})
        result.written = True
    return result


def pair_key(key_a: str, key_b: str) -> str:
    """The rejections-file key of a pair (order-free)."""
    return _PAIR_SEPARATOR.join(sorted((key_a, key_b)))


def _rejections_table(directory: Path) -> dict[str, str]:
    """The rejections file of ``directory`` as a validated mapping ({} when missing)."""
    path = directory / REJECTIONS_FILE
    table = load_table(path)
    for entry in table:
        keys = entry.split(_PAIR_SEPARATOR)
        if len(keys) != 2 or not all(keys):
            raise TranslationTableError(path, f"entry {entry!r} is not '<key> | <key>'")
    return table


def load_rejections(tables_dir: str | os.PathLike) -> set[frozenset[str]]:
    """The rejected pairs of ``tables_dir`` (none when the file does not exist). An invalid
    file raises :class:`TranslationTableError` naming it."""
    return {frozenset(entry.split(_PAIR_SEPARATOR))
            for entry in _rejections_table(Path(tables_dir))}


def read_reviewed(path: str | os.PathLike) -> list[dict]:
    """The rows of a reviewed report (CSV or JSON, as :func:`write_report` wrote it)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        rows = json.loads(text)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"{path}: not a list of report rows")
        return rows
    return list(csv.DictReader(io.StringIO(text)))


def reject_reviewed(path: str | os.PathLike, tables_dir: str | os.PathLike) -> int:
    """Record the rows of the reviewed report ``path`` whose ``decision`` is "reject" (or
    "no", "wrong") in the rejections file of ``tables_dir`` (atomically; entries already there
    stay). Returns how many pairs were new."""
    rows = read_reviewed(path)
    missing = {"key_a", "key_b", "decision"} - set(rows[0]) if rows else set()
    if missing:
        raise ValueError(f"{path}: no column {', '.join(sorted(missing))} (a report of "
                         "scrapy match with the decision column filled in)")
    directory = Path(tables_dir)
    table = _rejections_table(directory)
    added = {}
    for row in rows:
        if str(row.get("decision") or "").strip().lower() not in REJECT_DECISIONS:
            continue
        key = pair_key(str(row["key_a"]), str(row["key_b"]))
        if key not in table and key not in added:
            added[key] = f"{row.get('name_a') or ''} / {row.get('name_b') or ''}".strip()
    if added:
        directory.mkdir(parents=True, exist_ok=True)
        write_table_atomically(directory / REJECTIONS_FILE, {**table, **added})
    return len(added)


@dataclass
class MatchRun:
    """What ``scrapy match`` did: the pairs, the apply result (or None) and lines to print."""

    pairs: list[MatchPair]
    products: int
    candidates: int
    rejected: dict[str, int]
    applied: ApplyResult | None = None
    lines: list[str] = field(default_factory=list)


def _table_lines(pairs: Sequence[MatchPair]) -> list[str]:
    lines = []
    for pair in pairs:
        lines.append(f"{pair.confidence:4.2f}  {pair.a.company}: {pair.a.name} [{pair.a.size}]"
                     f"  <->  {pair.b.company}: {pair.b.name} [{pair.b.size}]\n"
                     f"      {pair.explanation}")
    return lines


def run_match(products: Sequence[MatchProduct],
              min_score: float | None = None, output: str | os.PathLike | None = None,
              apply: bool = False, tables_dir: str | os.PathLike = "translation_tables",
              config: MatchConfig | None = None, min_confidence: float = 0.0,
              reject_from: str | os.PathLike | None = None) -> MatchRun:
    """Match ``products`` across chains, leaving out rejected pairs; report; with
    ``reject_from`` first record a reviewed report's rejections; with ``apply`` write the
    pairs of at least ``min_confidence`` into the product table."""
    config = config or MatchConfig()
    if min_score is not None:
        config = config.with_min_score(min_score)
    lines = []
    if reject_from is not None:
        added = reject_reviewed(reject_from, tables_dir)
        lines.append(f"{added:,} rejected pairs added to {Path(tables_dir) / REJECTIONS_FILE}")
    rejections = load_rejections(tables_dir)
    result = match_products(products, config, rejected_pairs=rejections)
    run = MatchRun(result.pairs, len(products), result.candidates, result.rejected, lines=lines)
    chains = sorted({p.company for p in products})
    distinct = len({p.key for p in products})
    run.lines.append(f"{distinct:,} products ({len(products):,} chain listings) of "
                     f"{len(chains)} chains ({', '.join(chains) or 'none'}); "
                     f"{result.candidates:,} candidate pairs; {len(result.pairs):,} suggested"
                     + (f" ({result.rejected['rejected-by-review']:,} rejected by review left out)"
                        if result.rejected.get("rejected-by-review") else ""))
    if output is not None:
        write_report(result.pairs, output)
        run.lines.append(f"report written to {output}")
    elif result.pairs:
        run.lines.extend(_table_lines(result.pairs))
    if apply:
        chosen = [pair for pair in result.pairs if pair.confidence >= min_confidence]
        run.applied = apply_pairs(chosen, tables_dir)
        where = Path(tables_dir) / PRODUCT_TABLE_FILE
        below = len(result.pairs) - len(chosen)
        run.lines.append(run.applied.summary()
                         + (f"; {below:,} pairs below confidence {min_confidence:g} left out"
                            if below else "")
                         + (f" ({where} written; the next reconciliation merges them)"
                            if run.applied.written else ""))
    elif result.pairs:
        run.lines.append("nothing applied: review the pairs (write 'reject' in the decision "
                         "column and run with --reject FILE), then run with --apply")
    return run
