import pytest

from tests.reconcile.helpers import Rows


@pytest.fixture
def rows(engine):
    return Rows(engine)


@pytest.fixture
def tables_dir(tmp_path):
    directory = tmp_path / "configured_tables"
    directory.mkdir()
    return directory
