"""Translation-table loading, validation and atomic writing."""

import json
import os

import pytest

from grocer.tables.files import (
    BRAND_TABLE_FILE,
    PRODUCT_TABLE_FILE,
    TranslationTableError,
    load_translation_tables,
    validate_table_bytes,
    write_table_atomically,
)


def test_file_names():
    assert BRAND_TABLE_FILE == "brand_translation_table.json"
    assert PRODUCT_TABLE_FILE == "product_translation_table.json"


def test_missing_files_give_empty_tables(tmp_path):
    assert load_translation_tables(tmp_path) == ({}, {})
    assert load_translation_tables(tmp_path / "does-not-exist") == ({}, {})


def test_load_valid_tables(tmp_path):
    (tmp_path / BRAND_TABLE_FILE).write_text(json.dumps({"cc": "coca cola"}), encoding="utf-8")
    (tmp_path / PRODUCT_TABLE_FILE).write_text(json.dumps({"milk whole": "2000ml milk whole"}))
    assert load_translation_tables(str(tmp_path)) == ({"cc": "coca cola"}, {"milk whole": "2000ml milk whole"})


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"{not json", "not valid JSON"),
    (b"cc = {'a': 'b'}", "not valid JSON"),  # the old .py table format
    (b"[]", "not an object"),
    (b'"text"', "not an object"),
    (b"null", "not an object"),
    (b'{"a": 1}', "not a string"),
    (b'{"a": null}', "not a string"),
    (b'{"a": {"b": "c"}}', "not a string"),
    (b'{"a": ["b"]}', "not a string"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100_000, "not valid JSON"),
])
def test_invalid_tables_name_file_and_problem(tmp_path, content, problem):
    (tmp_path / PRODUCT_TABLE_FILE).write_bytes(content)
    with pytest.raises(TranslationTableError) as exc:
        load_translation_tables(tmp_path)
    assert PRODUCT_TABLE_FILE in str(exc.value)
    assert problem in str(exc.value)
    assert exc.value.filename.endswith(PRODUCT_TABLE_FILE)
    with pytest.raises(TranslationTableError):
        validate_table_bytes(content, "download")


def test_table_path_that_is_a_directory(tmp_path):
    (tmp_path / BRAND_TABLE_FILE).mkdir()
    with pytest.raises(TranslationTableError) as exc:
        load_translation_tables(tmp_path)
    assert BRAND_TABLE_FILE in str(exc.value)


def test_validate_table_bytes():
    assert validate_table_bytes(b'{"a": "b"}', "x.json") == {"a": "b"}
    assert validate_table_bytes(b"{}", "x.json") == {}
    assert validate_table_bytes('\ufeff{"caf\u00e9": "cafe"}'.encode("utf-8"), "x.json") == {"caf\u00e9": "cafe"}
    assert issubclass(TranslationTableError, ValueError)


def test_write_table_atomically(tmp_path):
    path = tmp_path / BRAND_TABLE_FILE
    path.write_text('{"old": "table"}')
    write_table_atomically(path, {"zz": "z", "aa": "a", "caf\u00e9": "cafe"})
    assert path.read_bytes() == b'{"aa":"a","caf\\u00e9":"cafe","zz":"z"}'
    assert load_translation_tables(tmp_path)[0] == {"aa": "a", "caf\u00e9": "cafe", "zz": "z"}
    assert sorted(os.listdir(tmp_path)) == [BRAND_TABLE_FILE]  # no temp file left behind


@pytest.mark.parametrize("table", [{"a": 1}, {1: "a"}, {"a": None}, ["a"]])
def test_write_refuses_invalid_tables_and_keeps_the_old_file(tmp_path, table):
    path = tmp_path / PRODUCT_TABLE_FILE
    path.write_text('{"good": "table"}')
    with pytest.raises(TranslationTableError):
        write_table_atomically(path, table)
    assert path.read_text() == '{"good": "table"}'
    assert os.listdir(tmp_path) == [PRODUCT_TABLE_FILE]


def test_write_failure_removes_temp_file(tmp_path, monkeypatch):
    path = tmp_path / PRODUCT_TABLE_FILE
    path.write_text('{"good": "table"}')

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_table_atomically(path, {"a": "b"})
    assert path.read_text() == '{"good": "table"}'
    assert os.listdir(tmp_path) == [PRODUCT_TABLE_FILE]
