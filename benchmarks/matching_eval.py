"""Quality of cross-chain matching against barcode ground truth (issues 9 and 20).

Reads, at run time and in place, from ``$GROCER_SHARED_DIR/corpus/matching`` (default
``../shared`` next to the repository, or ``--shared-dir``):

* Woolworths 2020-07 specials (one JSON list: id ``w-<stockcode>-<barcode>``, name, brand,
  packageSize, price, cupPrice) and Woolworths 2026-07 products (JSONL: Stockcode, Name, Brand,
  PackageSize, Barcode, Price, CupPrice, CupMeasure) -- both mapped to :class:`MatchProduct` of
  company ``woolworths``, one per stockcode (its first record's name and size, as in the
  database); unit prices as the pipelines store them (:func:`standardize_unit_price`);
* the IGA table of 2025-09 (SplitCart-processed JSONL, ``{"product": {...}}``);
* the 353 Woolworths<->IGA pairs joined by barcode (the truth).

Barcodes are hidden from the matcher (they only judge it). The judge reads them as GTIN-13, the
form of the truth file: the Woolworths files drop leading zeros, so an all-digit code of 8 to
12 digits is left-padded with zeros (:func:`judge_barcode`).

Judged separately by period -- a pair's period is its Woolworths product's: *same* when the
2026 file lists it (the period of the IGA table), *cross* when only the 2020 specials do (an
article re-coded since carries another barcode under the same name; no name matcher can see
that); a truth pair's period is that of the Woolworths records carrying its barcode -- and in
total, each with: proposed pairs, judged (both products carry a barcode), correct (a barcode in
common), wrong, unjudged, precision with its Wilson 95 % lower bound, and recall (truth pairs
found / truth pairs of that period). Also: ``baseline_recall`` (exact equality of v1 keys),
``truth_pairs_unreachable`` (truth barcodes no loaded record of one chain carries), the
rejections by reason, and ``without_unit_price``: the same run blind to unit prices (what the
unit-price guard is worth).

One line per period, then the last line printed is one JSON object with all of it.
``--show-wrong`` / ``--show-missed`` print details for tuning.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grocer

from grocer.matching import MatchConfig, MatchProduct, match_products  # noqa: E402
from grocer.normalization import (  # noqa: E402
    ProductNormalizer,
    clean_barcode,
    clean_value,
    standardize_unit_price,
)

WW_2026 = "woolworths_products_2026-07__DERIVED_from_edward20-grocery-scraper_raw_pages.jsonl"
WW_2020 = "woolworths_special_products_2020-07__ntta_processed.json"
IGA = "iga_products_local-grocer-north-sydney_2025-09-19__splitcart_processed.jsonl"
TRUTH = "ground_truth_pairs_woolworths_iga_by_barcode__DERIVED.csv"


def default_shared_dir() -> Path:
    value = os.environ.get("GROCER_SHARED_DIR")
    if value:
        return Path(value)
    return Path(__file__).resolve().parent.parent.parent / "shared"


def judge_barcode(value) -> str | None:
    """A barcode as the judge compares it: :func:`clean_barcode`, or an all-digit GTIN-8 to
    GTIN-12 whose leading zeros a source dropped, left-padded to 13 digits (GS1 GTIN-13 form,
    as in the truth file)."""
    code = clean_barcode(value)
    if code:
        return code
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and 8 <= len(text) <= 12:
        return text.zfill(13)
    return None


def _unit_price(fields: dict, fallback: tuple | None = None) -> tuple[float | None, str | None]:
    """``(unit_price, unit_measure)`` as the pipelines store them (:func:`standardize_unit_price`);
    ``fallback`` (a processed ``(value, "1kg"|"1l")``) when the label has no quantity
    ("$4.50/kg")."""
    value, measure = standardize_unit_price(fields)
    if value is None and fallback and fallback[0] and fallback[1] in ("1kg", "1l"):
        return float(fallback[0]), fallback[1]
    return value, measure


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def load_corpus(directory: Path):
    """``(products, barcodes, v1_keys, truth, periods)``.

    One :class:`MatchProduct` per (company, SKU), as in the database: a Woolworths stockcode
    found in both files is one product that keeps its first (2020) name and size, as a product
    created by an older crawl does. ``periods`` maps a Woolworths key to "same" (listed in the
    2026-07 file: the period of the 2025-09 IGA table) or "cross" (only in the 2020-07
    specials), and each barcode to the period of the Woolworths records carrying it.
    ``barcodes`` and ``v1_keys`` map a product key to every barcode / v1 key its records had (a
    stockcode seen with two barcodes over the years is both). Barcodes never reach the matcher.
    """
    normalizer = ProductNormalizer({}, {})
    products: dict[str, MatchProduct] = {}
    barcodes: dict[str, set[str]] = {}
    v1_keys: dict[str, set[str]] = {}
    periods: dict[str, str] = {}

    def add(key, name, brand, size, company, barcode, price=None, unit=(None, None),
            period=None):
        name, brand, size = name or "", brand or "", size or ""
        derived = normalizer.normalize({"name": name, "brand": brand, "size": size})
        if key not in products:
            products[key] = MatchProduct(
                key=key, name=name, company=company, brand=brand, size=size,
                sizes=tuple(derived["sizes"]), normalized_brand=derived["normalized_brand"],
                price=_number(price), unit_price=unit[0], unit_measure=unit[1])
        v1_keys.setdefault(key, set()).add(derived["normalized_name_brand_size"])
        barcode = judge_barcode(barcode)
        barcodes.setdefault(key, set())
        if barcode:
            barcodes[key].add(barcode)
        if period:
            # a record of the 2026 file makes the product (and its barcode) current
            if period == "same" or key not in periods:
                periods[key] = period
            if barcode and (period == "same" or barcode not in periods):
                periods[barcode] = period

    with open(directory / WW_2020, encoding="utf-8") as fh:
        for row in json.load(fh):
            _, stockcode, barcode = row["id"].split("-", 2)
            price = ((row.get("locations") or {}).get("ALL") or {}).get("price")
            add(f"woolworths:{stockcode}", row.get("name"), row.get("brand"),
                row.get("packageSize"), "woolworths", barcode, price,
                _unit_price({"per_unit_price_string": row.get("cupPrice")}), "cross")
    with open(directory / WW_2026, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                add(f"woolworths:{row['Stockcode']}", row.get("Name"), row.get("Brand"),
                    row.get("PackageSize"), "woolworths", row.get("Barcode"), row.get("Price"),
                    _unit_price({"per_unit_price_value": row.get("CupPrice"),
                                 "per_unit_price_measure": row.get("CupMeasure")}), "same")
    with open(directory / IGA, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)["product"]
                add(f"iga:{row['sku']}", row.get("name"), row.get("brand"), row.get("size"),
                    "iga", row.get("barcode"), row.get("price_current"),
                    _unit_price({"per_unit_price_string": row.get("per_unit_price_string")},
                                (row.get("unit_price"), row.get("unit_of_measure"))))
    with open(directory / TRUTH, encoding="utf-8", newline="") as fh:
        truth = {row["barcode"]: row for row in csv.DictReader(fh)}
    return list(products.values()), barcodes, v1_keys, truth, periods


def wilson_lower_bound(successes: int, trials: int, z: float = 1.96) -> float | None:
    """Lower end of the Wilson score interval (95 % for z = 1.96) of a proportion."""
    if not trials:
        return None
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def _judge(pairs, barcodes, truth_codes: set[str]) -> dict:
    """Counts, precision (with its Wilson 95 % lower bound) and recall of ``pairs`` against
    the truth barcodes ``truth_codes``."""
    judged = correct = 0
    found: set[str] = set()
    for pair in pairs:
        codes_a, codes_b = barcodes[pair.a.key], barcodes[pair.b.key]
        if codes_a and codes_b:
            judged += 1
            if codes_a & codes_b:
                correct += 1
                found |= codes_a & codes_b
    found &= truth_codes
    return {
        "proposed": len(pairs), "judged": judged, "correct": correct,
        "wrong": judged - correct, "unjudged": len(pairs) - judged,
        "precision": round(correct / judged, 4) if judged else None,
        "precision_lower95": _round(wilson_lower_bound(correct, judged)),
        "truth_pairs": len(truth_codes), "found": len(found),
        "recall": round(len(found) / len(truth_codes), 4) if truth_codes else None,
    }


def _round(value):
    return None if value is None else round(value, 4)


def _ww_key(pair) -> str:
    return pair.a.key if pair.a.company == "woolworths" else pair.b.key


def judge_by_period(pairs, barcodes, truth, periods) -> dict:
    """``{"same": ..., "cross": ..., "all": ...}`` (see :func:`_judge`): a pair's period is its
    Woolworths record's, a truth pair's the period of the Woolworths records of its barcode."""
    report = {}
    for period in ("same", "cross"):
        chosen = [p for p in pairs if periods.get(_ww_key(p)) == period]
        codes = {code for code in truth if periods.get(code) == period}
        report[period] = _judge(chosen, barcodes, codes)
    report["all"] = _judge(pairs, barcodes, set(truth))
    return report


def evaluate(products, barcodes, v1_keys, truth, periods, config: MatchConfig,
             show_wrong=False, show_missed=False):
    """The scores (see the module doc), by period and in total."""
    started = time.perf_counter()
    result = match_products(products, config, companies=["iga", "woolworths"])
    seconds = time.perf_counter() - started
    by_period = judge_by_period(result.pairs, barcodes, truth, periods)

    carried: dict[str, set[str]] = {}
    for p in products:
        for code in barcodes[p.key]:
            carried.setdefault(code, set()).add(p.company)
    unreachable = sum(1 for code in truth if carried.get(code, set()) != {"iga", "woolworths"})

    # baseline: exact equality of v1 keys across the two chains
    by_key: dict[str, dict[str, set[str]]] = {}
    for p in products:
        for key in v1_keys[p.key]:
            by_key.setdefault(key, {}).setdefault(p.company, set()).update(barcodes[p.key])
    baseline_found = set()
    for companies in by_key.values():
        if "iga" in companies and "woolworths" in companies:
            baseline_found |= companies["iga"] & companies["woolworths"]
    baseline_found &= set(truth)

    wrong = [pair for pair in result.pairs if barcodes[pair.a.key] and barcodes[pair.b.key]
             and not barcodes[pair.a.key] & barcodes[pair.b.key]]
    # "wrong" pairs whose two names have the same words: the same article under another
    # barcode (re-coded between the two periods), which no name matcher can tell
    identical = sum(1 for pair in wrong if clean_value(pair.a.name) == clean_value(pair.b.name))
    if show_wrong:
        for pair in wrong:
            print(f"WRONG {periods.get(_ww_key(pair))} {pair.score:5.1f} {pair.block} | "
                  f"{pair.a.name} [{pair.a.brand}|{pair.a.size}|{pair.a.price}] <> "
                  f"{pair.b.name} [{pair.b.brand}|{pair.b.size}|{pair.b.price}] {pair.rule}")
    if show_missed:
        found = {code for pair in result.pairs
                 for code in barcodes[pair.a.key] & barcodes[pair.b.key]}
        for barcode, row in sorted(truth.items()):
            if barcode not in found:
                print(f"MISSED {periods.get(barcode)} {row['ww_name']} [{row['ww_brand']}|"
                      f"{row['ww_size']}|{row['ww_price']}] <> {row['iga_name']} "
                      f"[{row['iga_brand']}|{row['iga_size']}|{row['iga_price']}]")
    total = by_period["all"]
    return {
        "pairs_truth": len(truth),
        "same_period": by_period["same"],
        "cross_period": by_period["cross"],
        "all": total,
        "precision": total["precision"], "recall": total["recall"],
        "judged_pairs": total["judged"], "wrong_pairs": total["wrong"],
        "baseline_recall": round(len(baseline_found) / len(truth), 4),
        "wrong_pairs_with_identical_names": identical,
        "truth_pairs_unreachable": unreachable,
        "candidates": result.candidates,
        "rejected": result.rejected,
        "match_seconds": round(seconds, 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-dir", type=Path, default=None,
                        help="the shared folder (default $GROCER_SHARED_DIR or ../shared)")
    parser.add_argument("--min-score", type=float, default=None)
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--show-missed", action="store_true")
    args = parser.parse_args(argv)
    shared = args.shared_dir or default_shared_dir()
    directory = shared / "corpus" / "matching"
    if not directory.is_dir():
        print(f"no corpus at {directory}: set GROCER_SHARED_DIR or --shared-dir", file=sys.stderr)
        return 2
    config = MatchConfig()
    if args.min_score is not None:
        config = config.with_min_score(args.min_score)
    total_started = time.perf_counter()
    corpus = load_corpus(directory)
    report = evaluate(*corpus, config, args.show_wrong, args.show_missed)
    # the same run without the unit-price guard: what that evidence is worth
    blind = evaluate(*corpus, config.without_unit_prices())
    report["without_unit_price"] = {
        period: {k: blind[period][k] for k in ("judged", "wrong", "precision", "recall")}
        for period in ("same_period", "cross_period", "all")}
    report["seconds"] = round(time.perf_counter() - total_started, 2)
    for period in ("same_period", "cross_period", "all"):
        row = report[period]
        print(f"{period:12} proposed {row['proposed']:4} judged {row['judged']:4} correct "
              f"{row['correct']:4} wrong {row['wrong']:3} unjudged {row['unjudged']:3} "
              f"precision {row['precision']} (>= {row['precision_lower95']} at 95 %) recall "
              f"{row['recall']} ({row['found']} of {row['truth_pairs']} truth pairs)")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
