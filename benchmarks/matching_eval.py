"""Quality of cross-chain matching against barcode ground truth (issue 9).

Reads, at run time and in place, from ``$GROCER_SHARED_DIR/corpus/matching`` (default
``../shared`` next to the repository, or ``--shared-dir``):

* Woolworths 2026-07 products (JSONL: Stockcode, Name, Brand, PackageSize, Barcode) and
  Woolworths 2020-07 specials (one JSON list: id ``w-<stockcode>-<barcode>``, name, brand,
  packageSize) -- both mapped to :class:`MatchProduct` of company ``woolworths``; within a file a
  stockcode counts once;
* the IGA table (SplitCart-processed JSONL, ``{"product": {...}}``);
* the 353 Woolworths<->IGA pairs joined by barcode (the truth).

Barcodes are hidden from the matcher (they only judge it). The judge reads them as GTIN-13, the
form of the truth file: the Woolworths files drop leading zeros ("9542005955" is
0009542005955, "89686170924" is 0089686170924), so an all-digit code of 8 to 12 digits is
left-padded with zeros (:func:`judge_barcode`) -- read with :func:`clean_barcode` alone, 12 truth
pairs could never be found and their products' pairs were never judged. Scores:

* precision: over the proposed pairs whose two products both carry a barcode (equal = correct);
* recall: truth pairs found (a proposed pair with that barcode on both sides) / all truth pairs;
* baseline_recall: the same recall for exact equality of the v1 keys (ProductNormalizer with
  empty tables);
* diagnostics: ``truth_pairs_unreachable`` (truth pairs whose barcode no loaded record of one
  chain carries -- the truth was derived from records these files lack), and precision by the
  age of the Woolworths record (a stockcode seen only in the 2020 specials vs one seen in 2026).

The last line printed is one JSON object. ``--show-wrong`` / ``--show-missed`` print details for
tuning.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

from grocer.normalization import ProductNormalizer, clean_barcode, clean_value
from grocer.normalization.matching import MatchConfig, MatchProduct, match_products

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


def load_corpus(directory: Path):
    """``(products, barcodes, v1_keys, truth)``.

    One :class:`MatchProduct` per (company, SKU), as in the database: a Woolworths stockcode
    found in both files is one product that keeps its first (2020) name and size, as a product
    created by an older crawl does. ``barcodes`` and
    ``v1_keys`` map a product key to every barcode / v1 key its records had (a SKU seen with two
    barcodes over the years is both). Barcodes never reach the matcher.
    """
    normalizer = ProductNormalizer({}, {})
    products: dict[str, MatchProduct] = {}
    barcodes: dict[str, set[str]] = {}
    v1_keys: dict[str, set[str]] = {}

    def add(key, name, brand, size, company, barcode):
        name, brand, size = name or "", brand or "", size or ""
        derived = normalizer.normalize({"name": name, "brand": brand, "size": size})
        if key not in products:
            products[key] = MatchProduct(
                key=key, name=name, company=company, brand=brand, size=size,
                sizes=tuple(derived["sizes"]), normalized_brand=derived["normalized_brand"])
        v1_keys.setdefault(key, set()).add(derived["normalized_name_brand_size"])
        barcode = judge_barcode(barcode)
        barcodes.setdefault(key, set())
        if barcode:
            barcodes[key].add(barcode)

    with open(directory / WW_2020, encoding="utf-8") as fh:
        for row in json.load(fh):
            _, stockcode, barcode = row["id"].split("-", 2)
            add(f"woolworths:{stockcode}", row.get("name"), row.get("brand"),
                row.get("packageSize"), "woolworths", barcode)
    with open(directory / WW_2026, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                add(f"woolworths:{row['Stockcode']}", row.get("Name"), row.get("Brand"),
                    row.get("PackageSize"), "woolworths", row.get("Barcode"))
    with open(directory / IGA, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)["product"]
                add(f"iga:{row['sku']}", row.get("name"), row.get("brand"), row.get("size"),
                    "iga", row.get("barcode"))
    with open(directory / TRUTH, encoding="utf-8", newline="") as fh:
        truth = {row["barcode"]: row for row in csv.DictReader(fh)}
    return list(products.values()), barcodes, v1_keys, truth


def woolworths_2026_keys(directory: Path) -> set[str]:
    """Keys of the Woolworths products seen in the 2026 file (the others only in 2020)."""
    keys = set()
    with open(directory / WW_2026, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                keys.add(f"woolworths:{json.loads(line)['Stockcode']}")
    return keys


def evaluate(products, barcodes, v1_keys, truth, config: MatchConfig, show_wrong=False,
             show_missed=False, recent_keys: set[str] | None = None):
    """The scores (see the module doc). ``recent_keys``: Woolworths keys seen in 2026 (see
    :func:`woolworths_2026_keys`), for the precision by record age; None: not reported."""
    started = time.perf_counter()
    result = match_products(products, config, companies=["iga", "woolworths"])
    seconds = time.perf_counter() - started

    judged = correct = 0
    found: set[str] = set()
    wrong = []
    for pair in result.pairs:
        codes_a, codes_b = barcodes[pair.a.key], barcodes[pair.b.key]
        if codes_a and codes_b:
            judged += 1
            if codes_a & codes_b:
                correct += 1
                found |= codes_a & codes_b
            else:
                wrong.append(pair)
    found &= set(truth)
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

    # "wrong" pairs whose two names have the same words: the same article under another
    # barcode (re-coded between the 2020 and 2025 tables), which no name matcher can tell
    identical = sum(1 for pair in wrong if clean_value(pair.a.name) == clean_value(pair.b.name))
    if show_wrong:
        for pair in wrong:
            print(f"WRONG {pair.score:5.1f} {pair.block} | {pair.a.name} [{pair.a.brand}|"
                  f"{pair.a.size}] <> {pair.b.name} [{pair.b.brand}|{pair.b.size}]")
    if show_missed:
        for barcode, row in sorted(truth.items()):
            if barcode not in found:
                print(f"MISSED {row['ww_name']} [{row['ww_brand']}|{row['ww_size']}] <> "
                      f"{row['iga_name']} [{row['iga_brand']}|{row['iga_size']}]")
    by_age = {}
    if recent_keys is not None:
        for age in ("2026", "2020-only"):
            rows = [pair for pair in result.pairs if barcodes[pair.a.key] and barcodes[pair.b.key]
                    and (_ww_key(pair) in recent_keys) == (age == "2026")]
            good = sum(1 for pair in rows if barcodes[pair.a.key] & barcodes[pair.b.key])
            by_age[age] = {"judged": len(rows), "correct": good}
    report = {
        "pairs_truth": len(truth),
        "judged_pairs": judged,
        "baseline_recall": round(len(baseline_found) / len(truth), 4),
        "precision": round(correct / judged, 4) if judged else None,
        "recall": round(len(found) / len(truth), 4),
        "seconds": round(seconds, 2),
        "wrong_pairs": len(wrong),
        "wrong_pairs_with_identical_names": identical,
        "truth_pairs_unreachable": unreachable,
        "proposed_pairs": len(result.pairs),
        "candidates": result.candidates,
        "rejected": result.rejected,
    }
    if by_age:
        report["judged_by_woolworths_record_age"] = by_age
    return report


def _ww_key(pair) -> str:
    return pair.a.key if pair.a.company == "woolworths" else pair.b.key


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
    products, barcodes, v1_keys, truth = load_corpus(directory)
    report = evaluate(products, barcodes, v1_keys, truth, config, args.show_wrong,
                      args.show_missed, recent_keys=woolworths_2026_keys(directory))
    report["seconds"] = round(time.perf_counter() - total_started, 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
