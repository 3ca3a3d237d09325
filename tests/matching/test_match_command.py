"""`scrapy match`: reading products from the database, the report, --apply (functions called
directly on the migrated test database)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import insert

from grocer.db.matching import load_match_products
from grocer.db.models import Brand, Company, Price, Product, Sku, Store
from grocer.matching import MatchPair, MatchProduct, review
from grocer.matching.review import (
    REPORT_COLUMNS,
    apply_pairs,
    canonical_of,
    plan_translations,
    write_report,
)
from grocer.normalization import ProductNormalizer
from grocer.tables.files import PRODUCT_TABLE_FILE

NOW = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.timezone.utc)
NORMALIZER = ProductNormalizer({}, {})


class Db:
    def __init__(self, engine):
        self.engine = engine
        self.companies: dict[str, int] = {}
        self.stores: dict[str, list[int]] = {}
        self.brands: dict[str, int] = {}

    def _insert(self, model, **values) -> int:
        with self.engine.begin() as connection:
            return connection.execute(insert(model).values(**values)).inserted_primary_key[0]

    def company(self, slug: str, stores: int = 3) -> None:
        self.companies[slug] = self._insert(Company, name=slug.title(), slug=slug)
        self.stores[slug] = [
            self._insert(Store, company_id=self.companies[slug], store_code=f"{slug}-{i}")
            for i in range(stores)]

    def product(self, company: str, sku: str, name: str, brand: str, size: str,
                prices: int = 1, unit_price: str | None = None) -> str:
        derived = NORMALIZER.normalize({"name": name, "brand": brand, "size": size})
        nb = derived["normalized_brand"]
        if nb not in self.brands:
            self.brands[nb] = self._insert(Brand, name=brand, normalized_name=nb,
                                           name_variations=[], normalized_name_variations=[])
        key = derived["normalized_name_brand_size"]
        pid = self._insert(Product, name=name, brand_id=self.brands[nb], size=size,
                           sizes=derived["sizes"], normalized_name_brand_size=key,
                           brand_name_company_pairs=[], category_paths=[],
                           has_no_coles_barcode=False, key_version=1, created_at=NOW)
        self._insert(Sku, company_id=self.companies[company], sku=sku, product_id=pid)
        for store_id in self.stores[company][:prices]:
            self._insert(Price, product_id=pid, store_id=store_id, price=Decimal("4.50"),
                         unit_price=Decimal(unit_price) if unit_price else None,
                         unit_of_measure="1kg" if unit_price else None,
                         price_hash=f"h{pid}-{store_id}", scraped_at=NOW,
                         scraped_date=NOW.date(), last_seen=NOW, is_on_special=False,
                         is_available=True)
        return key


def run_match(engine, companies=None, **options):
    """``scrapy match`` as the command runs it: the query, then the review flow."""
    return review.run_match(load_match_products(engine, companies), **options)


@pytest.fixture
def db(engine):
    db = Db(engine)
    db.company("iga")
    db.company("woolworths")
    db.company("coles")
    db.keys = {
        "iga_mustard": db.product("iga", "101", "Wombat Dijon Mustard", "Wombat Foods Pty Ltd",
                                  "215g Each", prices=1),
        "ww_mustard": db.product("woolworths", "201", "Wombat Mustard Dijon", "Wombat", "215g",
                                 prices=3, unit_price="20.93"),
        "iga_full": db.product("iga", "102", "Moo Farm Full Cream Milk", "Moo Farm", "2L Each"),
        "ww_lite": db.product("woolworths", "202", "Moo Farm Lite Milk", "Moo Farm", "2L"),
        "iga_big": db.product("iga", "103", "Wombat Crunch Oat Biscuits", "Wombat", "500g Each"),
        "ww_small": db.product("woolworths", "203", "Wombat Crunch Oat Biscuits", "Wombat",
                               "250g"),
        "coles_lettuce": db.product("coles", "301", "Iceberg Lettuce", "", "each", prices=2),
        "ww_lettuce": db.product("woolworths", "204", "Iceberg Lettuces", "", "Each", prices=2),
    }
    return db


def test_load_match_products_reads_companies_brands_and_price_counts(db):
    products = {(p.company, p.key): p for p in load_match_products(db.engine)}
    assert len(products) == 8
    mustard = products[("woolworths", db.keys["ww_mustard"])]
    assert (mustard.name, mustard.brand, mustard.size, mustard.weight) == (
        "Wombat Mustard Dijon", "Wombat", "215g", 3)
    assert mustard.normalized_brand == "wombat" and mustard.sizes == ("215g",)
    # the price evidence: average over the chain's stores
    assert (mustard.price, mustard.unit_price, mustard.unit_measure) == (4.5, 20.93, "1kg")
    assert products[("iga", db.keys["iga_mustard"])].unit_price is None
    only = load_match_products(db.engine, ["IGA", "coles"])
    assert {p.company for p in only} == {"iga", "coles"}


def test_report_lists_only_safe_pairs_with_keys_scores_rule_and_block(db, tmp_path):
    out = tmp_path / "report.csv"
    run = run_match(db.engine, output=out, tables_dir=tmp_path / "tables")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == list(REPORT_COLUMNS)
    pairs = {(r["key_a"], r["key_b"]) for r in rows}
    assert pairs == {
        (db.keys["iga_mustard"], db.keys["ww_mustard"]),
        (db.keys["coles_lettuce"], db.keys["ww_lettuce"]),
    }
    mustard = next(r for r in rows if r["company_a"] == "iga")
    assert mustard["block"].startswith("brand:") and "size:equal(215g)" in mustard["block"]
    assert "mutual best" in mustard["rule"] and float(mustard["score"]) >= 80
    assert mustard["canonical_key"] == db.keys["ww_mustard"]  # more prices
    # the report never touches the tables
    assert not (tmp_path / "tables").exists()
    assert run.applied is None and any("--apply" in line for line in run.lines)


def test_json_report_and_min_score(db, tmp_path):
    out = tmp_path / "report.json"
    run_match(db.engine, output=out, companies=["iga", "woolworths"])
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["company_a"], r["company_b"]) for r in rows] == [("iga", "woolworths")]
    assert rows[0]["name_a"] == "Wombat Dijon Mustard"
    strict = run_match(db.engine, companies=["iga", "woolworths"], min_score=100.0)
    assert len(strict.pairs) == 1  # identical words score 100
    with pytest.raises(ValueError):
        write_report(strict.pairs, fmt="xml")


def test_apply_adds_variation_to_canonical_without_overwriting(db, tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    existing = {"older variation": "older canonical", db.keys["coles_lettuce"]: "kept target"}
    (tables / PRODUCT_TABLE_FILE).write_text(json.dumps(existing), encoding="utf-8")
    run_match(db.engine, apply=True, tables_dir=tables)
    table = json.loads((tables / PRODUCT_TABLE_FILE).read_text(encoding="utf-8"))
    # mustard: IGA (1 price) -> Woolworths (3 prices)
    assert table[db.keys["iga_mustard"]] == db.keys["ww_mustard"]
    # lettuce: tie on prices -> the smaller key (Coles') is canonical; it is already a
    # variation in the table, so Woolworths' key follows it to its final target
    assert db.keys["coles_lettuce"] < db.keys["ww_lettuce"]
    assert table[db.keys["coles_lettuce"]] == "kept target"
    assert table[db.keys["ww_lettuce"]] == "kept target"
    assert table["older variation"] == "older canonical"
    assert db.keys["ww_lite"] not in table and db.keys["iga_full"] not in table
    assert db.keys["ww_small"] not in table and db.keys["iga_big"] not in table
    # applying again changes nothing
    again = run_match(db.engine, apply=True, tables_dir=tables)
    assert again.applied.added == {} and not again.applied.written
    assert json.loads((tables / PRODUCT_TABLE_FILE).read_text(encoding="utf-8")) == table


def test_apply_creates_the_table_when_missing(db, tmp_path):
    tables = tmp_path / "new-tables"
    run = run_match(db.engine, apply=True, tables_dir=tables, companies=["iga", "woolworths"])
    assert run.applied.written
    assert json.loads((tables / PRODUCT_TABLE_FILE).read_text(encoding="utf-8")) == {
        db.keys["iga_mustard"]: db.keys["ww_mustard"]}


def test_invalid_table_is_an_error_and_is_left_alone(db, tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / PRODUCT_TABLE_FILE).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError):
        run_match(db.engine, apply=True, tables_dir=tables)
    assert (tables / PRODUCT_TABLE_FILE).read_text(encoding="utf-8") == "[1, 2]"


def _pair(a: MatchProduct, b: MatchProduct) -> MatchPair:
    return MatchPair(a, b, 100.0, 100.0, 100.0, "brand:equal;size:equal(1g)", "test", 100.0)


def test_plan_translations_groups_canonical_and_cycles():
    a = MatchProduct(key="a", name="A", company="iga", weight=1)
    b = MatchProduct(key="b", name="B", company="woolworths", weight=5)
    c = MatchProduct(key="c", name="C", company="coles", weight=5)
    assert canonical_of([a, b, c]).key == "b"  # most prices, then smaller key
    added, kept, groups = plan_translations([_pair(a, b), _pair(c, b)], {})
    assert (added, kept, groups) == ({"a": "b", "c": "b"}, [], 1)
    # the canonical is itself a variation already: follow the table
    added, kept, _ = plan_translations([_pair(a, b)], {"b": "z"})
    assert added == {"a": "z"} and kept == []
    # a variation already in the table keeps its entry
    added, kept, _ = plan_translations([_pair(a, b)], {"a": "q"})
    assert added == {} and kept == ["a"]
    # already mapped the other way round: nothing to add, no cycle
    added, kept, _ = plan_translations([_pair(a, b)], {"b": "a"})
    assert added == {} and kept == []
    # a chain that would lead back to the variation is skipped
    added, kept, _ = plan_translations([_pair(a, b)], {"b": "y", "y": "a"})
    assert added == {} and kept == []


def test_apply_pairs_writes_atomically(tmp_path):
    a = MatchProduct(key="a", name="A", company="iga", weight=1)
    b = MatchProduct(key="b", name="B", company="woolworths", weight=2)
    result = apply_pairs([_pair(a, b)], tmp_path)
    assert result.written and result.added == {"a": "b"}
    assert json.loads((tmp_path / PRODUCT_TABLE_FILE).read_text()) == {"a": "b"}
    assert [p.name for p in tmp_path.iterdir()] == [PRODUCT_TABLE_FILE]


def test_report_carries_confidence_explanation_and_an_empty_decision(db, tmp_path):
    out = tmp_path / "report.csv"
    run_match(db.engine, output=out, tables_dir=tmp_path / "tables",
              companies=["iga", "woolworths"])
    [row] = list(csv.DictReader(out.open(encoding="utf-8")))
    assert 0 < float(row["confidence"]) <= 1 and row["decision"] == ""
    assert "brands" in row["explanation"] and "sizes equal (215g)" in row["explanation"]
    # IGA's word order differs, no one-sided word; no unit prices in this database
    assert "same name words" in row["explanation"]
    assert "unit prices not comparable" in row["explanation"]


def test_a_rejected_pair_is_never_suggested_again(db, tmp_path):
    tables = tmp_path / "tables"
    out = tmp_path / "report.csv"
    run_match(db.engine, output=out, tables_dir=tables)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    for row in rows:
        if row["company_a"] == "iga":
            row["decision"] = "reject"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    again = run_match(db.engine, tables_dir=tables, reject_from=out)
    assert any("1 rejected pairs added" in line for line in again.lines)
    assert {(p.a.key, p.b.key) for p in again.pairs} == {
        (db.keys["coles_lettuce"], db.keys["ww_lettuce"])}
    assert again.rejected["rejected-by-review"] == 1
    stored = json.loads((tables / review.REJECTIONS_FILE).read_text(encoding="utf-8"))
    assert list(stored) == [review.pair_key(db.keys["iga_mustard"], db.keys["ww_mustard"])]
    # later runs read the file; --apply never writes the rejected pair; rejecting twice
    # adds nothing
    later = run_match(db.engine, tables_dir=tables, apply=True, reject_from=out)
    assert any("0 rejected pairs added" in line for line in later.lines)
    table = json.loads((tables / PRODUCT_TABLE_FILE).read_text(encoding="utf-8"))
    assert db.keys["iga_mustard"] not in table and db.keys["ww_lettuce"] in table


def test_apply_with_min_confidence_applies_only_the_strongest(db, tmp_path):
    tables = tmp_path / "tables"
    everything = run_match(db.engine, tables_dir=tables)
    confidences = sorted(p.confidence for p in everything.pairs)
    assert len(confidences) == 2 and confidences[0] < confidences[1]
    run = run_match(db.engine, tables_dir=tables, apply=True, min_confidence=confidences[1])
    assert len(run.applied.added) == 1
    assert any("1 pairs below confidence" in line for line in run.lines)


def test_an_invalid_rejections_file_is_an_error(db, tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / review.REJECTIONS_FILE).write_text('{"only one key": "x"}', encoding="utf-8")
    with pytest.raises(ValueError, match="is not '<key> | <key>'"):
        run_match(db.engine, tables_dir=tables)


def test_a_reviewed_report_without_the_decision_column_is_refused(tmp_path):
    report = tmp_path / "old.json"
    report.write_text(json.dumps([{"key_a": "a", "key_b": "b"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="no column decision"):
        review.reject_reviewed(report, tmp_path / "tables")


@pytest.mark.parametrize("args, message", [
    (["--min-confidence", "0.5"], "--min-confidence only applies with --apply"),
    (["--apply", "--min-confidence", "2"], "--min-confidence must be between 0 and 1"),
    (["--reject", "reviewed.txt"], "--reject must name a reviewed report"),
    (["--reject", "missing.csv"], "--reject: no such file missing.csv"),
])
def test_command_refuses_bad_review_options(tmp_path, args, message):
    from tests.helpers.scrapy_cli import run_scrapy

    result = run_scrapy(["match", *args], db_url=f"sqlite:///{tmp_path}/none.db",
                        workdir=tmp_path, check=False)
    assert result.returncode == 2 and message in result.stderr
