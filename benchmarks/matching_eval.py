"""Quality of cross-chain matching against barcode ground truth (issue 9).

Reads, at run time and in place, from ``$GROCER_SHARED_DIR/corpus/matching`` (default
``../shared`` next to the repository, or ``--shared-dir``):

* Woolworths 2026-07 products (JSONL: Stockcode, Name, Brand, PackageSize, Barcode) and
  Woolworths 2020-07 specials (one JSON list: id ``w-<stockcode>-<barcode>``, name, brand,
  packageSize) -- both mapped to :class:`MatchProduct` of company ``woolworths``; within a file a
  stockcode counts once;
* the IGA table (SplitCart-processed JSONL, ``{"product": {...}}``);
* the 353 Woolworths<->IGA pairs joined by barcode (the truth).

Barcodes are hidden from the matcher (they only judge it). Scores:

* precision: over the proposed pairs whose two products both carry a barcode (equal = correct);
* recall: truth pairs found (a proposed pair with that barcode on both sides) / all truth pairs;
* baseline_recall: the same recall for exact equality of the v1 keys (ProductNormalizer with
  empty tables).

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
from dataclasses import replace
from pathlib import Path

from grocer.normalization import ProductNormalizer, clean_barcode
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


def _record(normalizer, key, name, brand, size, company, barcode) -> MatchProduct:
    name, brand, size = name or "", brand or "", size or ""
    derived = normalizer.normalize({"name": name, "brand": brand, "size": size})
    return MatchProduct(
        key=key, name=name, company=company, brand=brand, size=size,
        sizes=tuple(derived["sizes"]), normalized_brand=derived["normalized_brand"],
        barcode=clean_barcode(barcode),
    ), derived["normalized_name_brand_size"]


def load_corpus(directory: Path):
    """(products, v1 keys by product key, truth barcodes)."""
    normalizer = ProductNormalizer({}, {})
    products: list[MatchProduct] = []
    v1: dict[str, str] = {}

    def add(*args):
        record, key = _record(normalizer, *args)
        products.append(record)
        v1[record.key] = key

    seen = set()
    with open(directory / WW_2026, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            key = f"woolworths:{row['Stockcode']}"
            if key in seen:
                continue
            seen.add(key)
            add(key, row.get("Name"), row.get("Brand"), row.get("PackageSize"), "woolworths",
                row.get("Barcode"))
    with open(directory / WW_2020, encoding="utf-8") as fh:
        for row in json.load(fh):
            _, stockcode, barcode = row["id"].split("-", 2)
            key = f"woolworths:{stockcode}"
            if key in seen:
                # the same Woolworths SKU is one product (as in the database): the newer
                # record's name and size stand; it keeps the older barcode only if it has none
                index = next(i for i, p in enumerate(products) if p.key == key)
                if not products[index].barcode and clean_barcode(barcode):
                    products[index] = replace(products[index], barcode=clean_barcode(barcode))
                continue
            seen.add(key)
            add(key, row.get("name"), row.get("brand"), row.get("packageSize"), "woolworths",
                barcode)
    with open(directory / IGA, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)["product"]
            key = f"iga:{row['sku']}"
            if key in seen:
                continue
            seen.add(key)
            add(key, row.get("name"), row.get("brand"), row.get("size"), "iga", row.get("barcode"))
    with open(directory / TRUTH, encoding="utf-8", newline="") as fh:
        truth = {row["barcode"]: row for row in csv.DictReader(fh)}
    return products, v1, truth


def evaluate(products, v1, truth, config: MatchConfig, show_wrong=False, show_missed=False):
    by_key = {p.key: p for p in products}
    started = time.perf_counter()
    result = match_products(products, config, companies=["iga", "woolworths"])
    seconds = time.perf_counter() - started

    judged = correct = 0
    found: set[str] = set()
    wrong = []
    for pair in result.pairs:
        if pair.a.barcode and pair.b.barcode:
            judged += 1
            if pair.a.barcode == pair.b.barcode:
                correct += 1
                found.add(pair.a.barcode)
            else:
                wrong.append(pair)
    found &= set(truth)

    # baseline: exact v1 key equality across the two chains
    keys: dict[str, dict[str, set[str]]] = {}
    for p in products:
        if p.barcode:
            keys.setdefault(v1[p.key], {}).setdefault(p.company, set()).add(p.barcode)
    baseline_found = set()
    for companies in keys.values():
        if "iga" in companies and "woolworths" in companies:
            baseline_found |= companies["iga"] & companies["woolworths"]
    baseline_found &= set(truth)

    if show_wrong:
        for pair in wrong:
            print(f"WRONG {pair.score:5.1f} {pair.block} | {pair.a.name} [{pair.a.brand}|"
                  f"{pair.a.size}] <> {pair.b.name} [{pair.b.brand}|{pair.b.size}]")
    if show_missed:
        for barcode, row in sorted(truth.items()):
            if barcode not in found:
                print(f"MISSED {row['ww_name']} [{row['ww_brand']}|{row['ww_size']}] <> "
                      f"{row['iga_name']} [{row['iga_brand']}|{row['iga_size']}]")
    _ = by_key
    return {
        "pairs_truth": len(truth),
        "judged_pairs": judged,
        "proposed_pairs": len(result.pairs),
        "candidates": result.candidates,
        "baseline_recall": round(len(baseline_found) / len(truth), 4),
        "precision": round(correct / judged, 4) if judged else None,
        "recall": round(len(found) / len(truth), 4),
        "seconds": round(seconds, 2),
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
    products, v1, truth = load_corpus(directory)
    report = evaluate(products, v1, truth, config, args.show_wrong, args.show_missed)
    report["seconds"] = round(time.perf_counter() - total_started, 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
