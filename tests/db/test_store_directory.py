"""StoreDirectory: concurrent crawls into an empty database create the same company (and,
crawling one store, the same store) at the same moment (issue 14).

The interleaving is forced: another connection holds the row inserted but not committed, the
directory's lookup runs in a thread until its own insert waits for that row's lock, then the
other connection commits. Before the fix the insert then failed on the duplicate key and the
crawl lost the whole batch that asked for the id.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import insert, select, text

from grocer.db.models import Company, Store
from grocer.db.stores import StoreDirectory


def wait_until_blocked(engine, table: str, thread: threading.Thread) -> None:
    """Until `thread` waits in an INSERT into `table` (or ended)."""
    waiting = text("SELECT COUNT(*) FROM information_schema.processlist "
                   "WHERE db = DATABASE() AND info LIKE :insert")
    with engine.connect() as connection:
        while thread.is_alive() and not connection.scalar(waiting, {"insert": f"INSERT INTO {table}%"}):
            time.sleep(0.01)


@pytest.mark.mysql_only
@pytest.mark.parametrize("table", ["company", "store"])
def test_a_row_another_crawl_is_creating_is_found_not_a_duplicate_key_error(engine, table):
    if table == "store":
        with engine.begin() as connection:
            connection.execute(insert(Company).values(name="Aldi", slug="aldi"))
    directory = StoreDirectory(engine, logging.getLogger(__name__))
    answer: dict = {}

    def look_up():
        try:
            answer["id"] = (directory.company_id("aldi") if table == "company"
                            else directory.store_id("aldi", "G102"))
        except Exception as error:  # noqa: BLE001 - the test reports it
            answer["error"] = error

    with engine.connect() as other:
        with other.begin():
            if table == "company":
                other.execute(insert(Company).values(name="Aldi", slug="aldi"))
            else:
                other.execute(insert(Store).values(
                    company_id=select(Company.id).scalar_subquery(), store_code="G102"))
            lookup = threading.Thread(target=look_up)
            lookup.start()
            wait_until_blocked(engine, table, lookup)
        lookup.join()

    model = Company if table == "company" else Store
    with engine.connect() as connection:
        ids = list(connection.scalars(select(model.id)))
    assert "error" not in answer, answer.get("error")
    assert [answer["id"]] == ids


def test_a_row_skipped_for_another_unique_value_is_an_error_that_names_it(engine):
    """The insert skips a company whose name another slug already holds; the lookup must say
    so, not hand back None (an AttributeError far from the cause)."""
    with engine.begin() as connection:
        connection.execute(insert(Company).values(name="Aldi", slug="aldi-old"))
    directory = StoreDirectory(engine, logging.getLogger(__name__))
    with pytest.raises(LookupError, match="company .*'slug': 'aldi'"):
        directory.company_id("aldi")
