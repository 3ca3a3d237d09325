"""Table generators (spec §2.8.1 checklist, deterministic) and atomic writing."""

import json

from grocer.db.engine import session_scope
from grocer.db.tables import (
    generate_brand_table,
    generate_product_table,
    generate_tables,
    resolve_chains,
    write_table,
)


def product_table(engine):
    with session_scope(engine) as session:
        return generate_product_table(session)


def brand_table(engine):
    with session_scope(engine) as session:
        return generate_brand_table(session)


def test_empty_database_gives_empty_tables(engine, tables_dir):
    assert product_table(engine) == {} and brand_table(engine) == {}
    result = generate_tables(engine, tables_dir)
    assert (tables_dir / "brand_translation_table.json").read_bytes() == b"{}"
    assert (tables_dir / "product_translation_table.json").read_bytes() == b"{}"
    assert result.written == ["brand_translation_table.json", "product_translation_table.json"]


def test_product_table_from_key_variations(engine, rows):
    a, b = rows.product("milk 2l"), rows.product("bread")
    rows.product("no variations")
    rows.variation("2l milk", a)
    rows.variation("milk 2 l", a)
    rows.variation("MILK 2L", a)  # only case differs: excluded
    rows.variation("loaf", b)
    assert product_table(engine) == {"2l milk": "milk 2l", "milk 2 l": "milk 2l",
                                     "loaf": "bread"}


def test_product_table_follows_chains(engine, rows):
    a, b = rows.product("a"), rows.product("b")
    rows.product("c")
    rows.variation("b", a)   # b (a product of its own) means a ...
    rows.variation("c", b)   # ... and c means b: c → a
    assert product_table(engine) == {"b": "a", "c": "a"}


def test_brand_table_alias_self_and_first_mapping(engine, rows):
    rows.brand("cola coca", variations=["cola coca", "coke"])
    rows.brand("zzz", variations=["coke"])  # coke already mapped to "cola coca": kept
    assert brand_table(engine) == {"coke": "cola coca"}


def test_brand_conflict_more_products_wins(engine, rows):
    small = rows.brand("aardvark", name="Aardvark Brand", variations=["zebra"])
    big = rows.brand("zebra", name="Zebra Brand", variations=["aardvark"])
    rows.product("p1", brand_id=big)
    rows.product("p2", brand_id=big)
    rows.product("p3", brand_id=small)
    assert brand_table(engine) == {"aardvark": "zebra"}


def test_brand_conflict_name_variations_then_alphabetical(engine, rows):
    rows.brand("aardvark", name="Aardvark Brand", variations=["zebra"])
    rows.brand("zebra", name="Zebra Brand", variations=["aardvark"])
    assert brand_table(engine) == {"zebra": "aardvark"}  # alphabetical: Aardvark Brand wins
    rows.brand("x", name="A", variations=["y"])
    rows.brand("y", name="B", variations=["x"], name_variations=["B", "Bee"])
    assert brand_table(engine)["x"] == "y"  # more raw name variations beats the alphabet


def test_resolve_chains():
    assert resolve_chains({"a": "b", "b": "c", "d": "d"}) == {"a": "c", "b": "c"}
    assert resolve_chains({"a": "b", "b": "a", "c": "a"}) == {}
    assert resolve_chains({"a": "b", "b": "a", "c": "a"}, rank=lambda k: k) == {"b": "a",
                                                                                 "c": "a"}


def test_write_is_atomic_compact_sorted_and_skips_identical(tmp_path):
    path = tmp_path / "t" / "product_translation_table.json"
    assert write_table(path, {"b": "x", "a": "y"}) is True
    assert path.read_bytes() == b'{"a":"y","b":"x"}'
    mtime = path.stat().st_mtime_ns
    assert write_table(path, {"a": "y", "b": "x"}) is False
    assert path.stat().st_mtime_ns == mtime
    path.write_text("not json")
    assert write_table(path, {"a": "y"}) is True
    assert json.loads(path.read_text()) == {"a": "y"}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left
