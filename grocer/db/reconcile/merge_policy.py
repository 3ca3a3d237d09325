"""What a canonical product inherits from the duplicates merged into it (spec §2.8.3)."""

from __future__ import annotations

import json

from grocer.db.reconcile.statements import unique_sorted


_ENRICH_COLUMNS = ("barcode", "url", "image_url", "aldi_image_url", "brand_id")


def enrich(canonical, duplicates: list) -> dict:
    """The canonical product's changed columns after merging `duplicates` (spec §2.8.3).

    Blank barcode/url/image urls/brand are filled from the first duplicate (lowest id) that has
    one; has_no_coles_barcode: True wins; sizes: sorted union; brand-company pairs: one per
    company, the canonical's first, sorted by company; category paths: union, canonical's first.
    Key variations are rows of their own (see grocer.db.reconcile.products). Returns {} when nothing grows.
    """
    values: dict = {}
    for column in _ENRICH_COLUMNS:
        if getattr(canonical, column) in (None, ""):
            for dupe in duplicates:
                if getattr(dupe, column) not in (None, ""):
                    values[column] = getattr(dupe, column)
                    break
    if not canonical.has_no_coles_barcode and any(d.has_no_coles_barcode for d in duplicates):
        values["has_no_coles_barcode"] = True

    sizes = list(canonical.sizes or [])
    merged_sizes = unique_sorted([*sizes, *(s for d in duplicates for s in (d.sizes or []))])
    if len(merged_sizes) > len(unique_sorted(sizes)):
        values["sizes"] = merged_sizes

    by_company: dict[str, object] = {}
    for pair in canonical.brand_name_company_pairs or []:
        if _valid_pair(pair):
            by_company.setdefault(pair[1], pair[0])
    known = len(by_company)
    for dupe in duplicates:
        for pair in dupe.brand_name_company_pairs or []:
            if _valid_pair(pair):
                by_company.setdefault(pair[1], pair[0])
    if len(by_company) > known:
        values["brand_name_company_pairs"] = [[brand, company] for company, brand
                                              in sorted(by_company.items())]

    paths = list(canonical.category_paths or [])
    seen = {_path_key(entry) for entry in paths}
    grown = False
    for dupe in duplicates:
        for entry in dupe.category_paths or []:
            key = _path_key(entry)
            if key not in seen:
                seen.add(key)
                paths.append(entry)
                grown = True
    if grown:
        values["category_paths"] = paths
    return values


def _valid_pair(pair) -> bool:
    return (isinstance(pair, (list, tuple)) and len(pair) == 2 and bool(pair[0])
            and isinstance(pair[1], str) and bool(pair[1]))


def _path_key(entry) -> str:
    if isinstance(entry, dict):
        if entry.get("path_key"):
            return f"key:{entry['path_key']}"
        return json.dumps([entry.get("company"), entry.get("path")], sort_keys=True)
    return json.dumps(entry, sort_keys=True)
