"""load_stores with a Sweep (the store locators' upsert): unlisted stores in the sweep's scope
close, listed ones reopen, a sweep closing too many closes none; closed stores leave
`stores=all` and `stalest:N`; JSON-lines store lists."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from grocer.chains import get_chain
from grocer.db.engine import session_scope
from grocer.db.models import Store
from grocer.db.stores import Sweep, load_stores
from grocer.db.storeselection import select_stores
from grocer.storelist import StoreList, StoreRow, read_store_list


def rows(*specs) -> StoreList:
    """rows(("Woolworths", "1147", "SUPERMARKETS"), ...)"""
    return StoreList(rows=[StoreRow(company=c, store_code=code, name=f"Store {code}", division=d)
                           for c, code, d in specs],
                     companies={c: None for c, _, _ in specs})


def closed(engine) -> dict[str, bool]:
    with session_scope(engine) as session:
        return {s.store_code: s.closed_at is not None for s in session.scalars(select(Store))}


WOOLWORTHS = [("Woolworths", "1147", "SUPERMARKETS"), ("Woolworths", "1148", "SUPERMARKETS"),
              ("Woolworths", "7001", "AMPOL"), ("Woolworths", "9001", "BIG W")]


def test_a_sweep_closes_unlisted_stores_of_its_divisions_only_and_a_listed_one_reopens(engine):
    load_stores(engine, rows(*WOOLWORTHS, ("Coles", "COL:401", "Coles Supermarkets")))
    sweep = Sweep("Woolworths", ("SUPERMARKETS", "AMPOL"))
    result = load_stores(engine, rows(WOOLWORTHS[0], WOOLWORTHS[2]), sweep)
    assert (result.closed, result.unchanged, result.created) == (1, 2, 0)
    # BIG W is not swept and Coles is another company: both stay open
    assert closed(engine) == {"1147": False, "1148": True, "7001": False, "9001": False,
                              "COL:401": False}
    again = load_stores(engine, rows(WOOLWORTHS[0], WOOLWORTHS[2]), sweep)
    assert (again.closed, again.updated, again.unchanged) == (0, 0, 2)  # closed stays closed
    back = load_stores(engine, rows(*WOOLWORTHS[:3]), sweep)
    assert (back.reopened, back.closed) == (1, 0)
    assert not any(closed(engine).values())


def test_a_sweep_that_would_close_too_many_stores_closes_none(engine):
    load_stores(engine, rows(*WOOLWORTHS))
    result = load_stores(engine, rows(WOOLWORTHS[0]), Sweep("Woolworths", None, 0.5))
    assert (result.closed, result.close_refused) == (0, 3)
    assert not any(closed(engine).values())
    result = load_stores(engine, rows(*WOOLWORTHS[:3]), Sweep("Woolworths", None, 0.5))
    assert result.closed == 1


def test_loading_a_file_never_closes(engine):
    load_stores(engine, rows(*WOOLWORTHS))
    load_stores(engine, rows(WOOLWORTHS[0]))
    assert not any(closed(engine).values())


def test_closed_stores_leave_all_and_stalest_but_can_be_named(engine, caplog):
    load_stores(engine, rows(*WOOLWORTHS))
    load_stores(engine, rows(*WOOLWORTHS[1:]), Sweep("Woolworths"))
    chain = get_chain("woolworths")
    assert [t.code for t in select_stores(engine, chain, "all")] == ["1148"]
    assert [t.code for t in select_stores(engine, chain, "stalest:5")] == ["1148"]
    with caplog.at_level(logging.WARNING):
        assert [t.code for t in select_stores(engine, chain, "1147")] == ["1147"]
    assert "store 1147 of Woolworths is closed" in caplog.text


def test_json_lines_store_lists_report_bad_lines(tmp_path):
    path = tmp_path / "stores.jsonl"
    path.write_text("\n".join([
        json.dumps({"company": "coles", "store_code": "COL:401", "name": "Coles Firle",
                    "division": "Coles Supermarkets", "latitude": -34.903, "longitude": 138.653,
                    "address": "171 Glynburn Road", "suburb": "Firle", "opening_hours": None}),
        "{not json", "",
        json.dumps({"company": "aldi", "store_code": ""}),
    ]) + "\n")
    store_list = read_store_list(path)
    assert [(r.company, r.store_code, r.site_store_id, r.suburb, r.latitude)
            for r in store_list.rows] == [("Coles", "COL:401", "401", "Firle", "-34.903")]
    assert store_list.errors == ["row 2: not an object", "row 3: no store code"]
