"""GROCER_DB_TIMEOUT bounds every wait for the database (issue 14). SQLite here; MariaDB in
tests/db/test_frozen_database.py (a database that stops answering mid-crawl)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from grocer.db.engine import make_engine
from grocer.db.errors import is_unavailable
from grocer.db.transactions import run_transaction


@pytest.mark.sqlite_only
def test_a_locked_sqlite_database_fails_a_write_instead_of_waiting(db_url, engine):
    impatient = make_engine(db_url, timeout=0.1)
    with impatient.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 100
    assert impatient.pool.timeout() == 0.1
    holder = engine.raw_connection()  # another writer holds the database's write lock
    try:
        holder.cursor().execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            run_transaction(impatient, lambda session: session.execute(
                text("UPDATE company SET name = name")), attempts=1)
    finally:
        holder.rollback()
        holder.close()
        impatient.dispose()



@pytest.mark.parametrize("args, unavailable", [
    ((2013, "Lost connection to MySQL server during query (timed out)"), True),
    ((2003, "Can't connect to MySQL server on '127.0.0.1'"), True),
    ((1205, "Lock wait timeout exceeded"), True),
    ((1644, "price out of range"), False),  # a trigger's SIGNAL refuses the rows, not the server
    ((1292, "Incorrect datetime value"), False),
    (("database is locked",), True),
    (("no such column: x",), False),
])
def test_only_errors_of_the_connection_mean_the_database_is_unavailable(args, unavailable):
    """A refused row must be split out of its batch, not close the crawl (found on MariaDB,
    where a trigger's SIGNAL arrives as an OperationalError)."""
    error = OperationalError("INSERT …", {}, Exception(*args))
    assert is_unavailable(error) is unavailable
