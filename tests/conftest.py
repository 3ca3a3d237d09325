"""Shared fixtures.

Database: GROCER_TEST_DATABASE_URL picks the engine (default: a SQLite file in a temporary
directory). Every test that uses `engine`/`db_url` is marked `db`, so
`GROCER_TEST_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/grocer_test pytest -m db` runs the
whole database suite on MariaDB. Tests marked `sqlite_only`/`mysql_only` are deselected (not
skipped) on the other engine. With GROCER_NO_SKIPS=1 (CI) a skipped test fails the run.

Real data: the `shared_dir` fixture reads GROCER_SHARED_DIR (the ../shared folder); without it
the real-data tier skips, unless GROCER_NO_SKIPS=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grocer.db.engine import normalize_url

# The fixture server, test stores and crawl runner, for every folder (spiders, tables, ...).
pytest_plugins = ["tests.helpers.crawl_fixtures"]

NO_SKIPS = os.environ.get("GROCER_NO_SKIPS") == "1"


def _configured_url(tmp_root: Path) -> str:
    return os.environ.get("GROCER_TEST_DATABASE_URL") or f"sqlite:///{tmp_root / 'test.sqlite3'}"


def _backend() -> str:
    url = os.environ.get("GROCER_TEST_DATABASE_URL") or "sqlite://"
    return normalize_url(url).get_backend_name()


def pytest_configure(config):
    for marker, text in [
        ("db", "uses the test database (GROCER_TEST_DATABASE_URL)"),
        ("sqlite_only", "runs only when the test database is SQLite"),
        ("mysql_only", "runs only when the test database is MySQL/MariaDB"),
        ("shared", "reads real data from GROCER_SHARED_DIR"),
        ("slow", "takes more than a few seconds (still run in CI)"),
    ]:
        config.addinivalue_line("markers", f"{marker}: {text}")


def pytest_collection_modifyitems(config, items):
    backend = _backend()
    keep, drop = [], []
    for item in items:
        if {"engine", "db_url", "db_session"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if "shared_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared)
        wrong_engine = (item.get_closest_marker("sqlite_only") and backend != "sqlite") or (
            item.get_closest_marker("mysql_only") and backend not in ("mysql", "mariadb"))
        (drop if wrong_engine else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but GROCER_NO_SKIPS=1 forbids skips: {report.longrepr}"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    return _configured_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def _migrated_engine(db_url):
    from tests.helpers.database import fresh_database

    engine = fresh_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_migrated_engine):
    """The migrated test database, emptied before each test."""
    from tests.helpers.database import empty_tables

    empty_tables(_migrated_engine)
    return _migrated_engine


@pytest.fixture
def db_session(engine):
    from grocer.db.engine import session_factory

    with session_factory(engine)() as session:
        yield session


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    value = os.environ.get("GROCER_SHARED_DIR")
    if not value or not (Path(value) / "corpus").is_dir():
        if NO_SKIPS:
            pytest.fail("GROCER_SHARED_DIR must name the shared folder (with corpus/) in CI")
        pytest.skip("real-data tier: set GROCER_SHARED_DIR to the ../shared folder")
    return Path(value).resolve()
