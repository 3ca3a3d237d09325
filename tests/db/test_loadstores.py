"""`scrapy loadstores`: the dumpdata store list and grocer's JSON/CSV forms, good and bad rows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from grocer.db.models import Company, Division, Store
from grocer.db.stores import load_stores
from grocer.storelist import read_store_list
from tests.helpers.scrapy_cli import run_scrapy

SIMPLE = [
    {"company": "coles", "store_code": "COL:401", "name": "Coles Firle",
     "division": "Coles Supermarkets", "state": "SA", "postcode": "5070",
     "latitude": "-34.905107", "longitude": "138.655247"},
    {"company": "Woolworths", "store_code": "1147", "name": "Bass Hill",
     "division": "SUPERMARKETS", "state": "NSW"},
    {"company": "IGA", "store_code": "19587", "name": "", "site_store_id": "21183",
     "state": "ACT "},
    {"company": "", "store_code": "1"},
    {"company": "aldi", "store_code": "  "},
]


def dumpdata(tmp_path):
    """A tiny store list in SplitCart's Django dumpdata form, with its siblings."""
    (tmp_path / "companies-2025-01-01.json").write_text(json.dumps([
        {"model": "companies.company", "pk": 1, "fields": {"name": "Aldi",
                                                           "image_url_template": None}},
        {"model": "companies.company", "pk": 2, "fields": {
            "name": "Coles", "image_url_template": "https://img/{sku}.jpg"}}]))
    (tmp_path / "divisions-2025-01-01.json").write_text(json.dumps([
        {"model": "companies.division", "pk": 1, "fields": {
            "external_id": None, "name": "Coles Supermarkets", "company": 2}}]))
    stores = tmp_path / "stores-2025-01-01.json"
    stores.write_text(json.dumps([
        {"model": "companies.store", "pk": 1, "fields": {
            "store_name": "Carindale", "company": 1, "division": None, "store_id": "G102",
            "state": "QLD", "postcode": "4152", "latitude": "-27.503411",
            "longitude": "153.101049", "retailer_store_id": None,
            "address_line_1": "1154 Creek Road\r\n", "suburb": "Carindale"}},
        {"model": "companies.store", "pk": 2, "fields": {
            "store_name": "Coles Firle", "company": 2, "division": 1, "store_id": "COL:401",
            "state": "SA", "postcode": "5070", "latitude": "0.000000", "longitude": "0.000000",
            "retailer_store_id": None}},
        {"model": "companies.store", "pk": 3, "fields": {
            "store_name": "Orphan", "company": 9, "division": None, "store_id": "X1"}},
    ]))
    return stores


def test_dumpdata_with_companies_and_divisions_found_by_name(engine, db_session, tmp_path):
    store_list = read_store_list(dumpdata(tmp_path))
    assert store_list.errors == ["record 3: no company (company=9)"]
    result = load_stores(engine, store_list)
    assert (result.created, result.updated) == (2, 0)
    coles = db_session.scalar(select(Store).where(Store.store_code == "COL:401"))
    assert coles.site_store_id == "401"  # the number Coles' site wants
    assert coles.division.name == "Coles Supermarkets"
    assert coles.company.image_url_template == "https://img/{sku}.jpg"
    aldi = db_session.scalar(select(Store).where(Store.store_code == "G102"))
    assert (aldi.name, aldi.postcode, str(aldi.latitude)) == ("Carindale", "4152", "-27.503411")


def test_loading_twice_changes_nothing_and_a_changed_store_is_updated(engine, tmp_path):
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(SIMPLE))
    assert load_stores(engine, read_store_list(path)).created == 3
    again = load_stores(engine, read_store_list(path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)

    SIMPLE[0]["name"] = "Coles Firle (renovated)"
    path.write_text(json.dumps(SIMPLE))
    changed = load_stores(engine, read_store_list(path))
    assert (changed.created, changed.updated) == (0, 1)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Store)) == 3


def test_simple_json_bad_rows_are_reported_and_good_rows_kept_as_given(engine, db_session,
                                                                       tmp_path):
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(SIMPLE))
    store_list = read_store_list(path)
    assert store_list.errors == ["row 4: no company", "row 5: no store code"]
    load_stores(engine, store_list)
    iga = db_session.scalar(select(Store).where(Store.store_code == "19587"))
    assert (iga.name, iga.state, iga.site_store_id) == ("", "ACT ", "21183")
    assert iga.company.name == "Iga"  # one company however it is spelled
    names = set(db_session.scalars(select(Company.name)))
    assert names == {"Coles", "Woolworths", "Iga"}


def test_csv_form(engine, db_session, tmp_path):
    path = tmp_path / "stores.csv"
    path.write_text(
        "company,store_code,name,division,site_store_id,state,postcode,latitude,longitude\n"
        "aldi,G102,Carindale,,,QLD,4152,-27.5,153.1\n"
        ",G103,No Company,,,QLD,,,\n"
        "woolworths,1147,Bass Hill,SUPERMARKETS,,NSW,2197,,\n")
    store_list = read_store_list(path)
    assert store_list.errors == ["row 3: no company"]
    load_stores(engine, store_list)
    assert db_session.scalar(select(func.count()).select_from(Store)) == 2
    assert db_session.scalar(select(Division.name)) == "SUPERMARKETS"


def test_scrapy_loadstores_command(db_url, engine, tmp_path):
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(SIMPLE))
    result = run_scrapy(["loadstores", str(path)], db_url=db_url, workdir=tmp_path / "run")
    assert "skipped row 4: no company" in result.stdout
    assert "3 created" in result.stdout
    missing = run_scrapy(["loadstores", str(tmp_path / "nope.json")], db_url=db_url,
                         workdir=tmp_path / "run", check=False)
    assert missing.returncode != 0 and "no such file" in missing.stderr + missing.stdout


@pytest.mark.slow
def test_the_real_store_list(shared_dir, engine):
    path = shared_dir / "corpus" / "stores-2025-09-28.json"
    result = load_stores(engine, read_store_list(path))
    assert result.created == 5701
    with engine.connect() as connection:
        counts = dict(connection.execute(
            select(Company.name, func.count(Store.id)).join(Store).group_by(Company.name)).all())
        assert counts == {"Woolworths": 2215, "Coles": 1700, "Iga": 1291, "Aldi": 495}
        with_site_id = connection.scalar(select(func.count()).select_from(Store).join(Company)
                                         .where(Company.name == "Iga",
                                                Store.site_store_id.is_not(None)))
        assert with_site_id == 931
        assert connection.scalar(select(func.count()).select_from(Division)) == 7
    again = load_stores(engine, read_store_list(path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5701)
