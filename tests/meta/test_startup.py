"""Start-up imports only what a command needs (issue 19): `scrapy list` imports every spider
and every command module, so what they import at module level every command pays for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Loaded by the commands or crawls that use them, never by `scrapy list`.
NOT_AT_START_UP = (
    "sqlalchemy", "alembic", "pymysql", "rapidfuzz", "starlette", "uvicorn", "jinja2",
    "playwright", "grocer.db", "grocer.pipelines", "grocer.ingest", "grocer.matching",
    "grocer.web", "grocer.normalization.cleaners", "grocer.normalization.derive",
    "grocer.normalization.key", "grocer.normalization.sizes", "grocer.zones.discovery",
)


def test_scrapy_list_imports_no_database_web_or_normalization_stack(tmp_path):
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: print(sorted(m for m in sys.modules if any("
            f"m == p or m.startswith(p + '.') for p in {NOT_AT_START_UP!r}))))\n"
            "from scrapy.cmdline import execute\n"
            "execute(['scrapy', 'list'])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "aldi" in lines
    assert lines[-1] == "[]"


def test_the_lazy_normalization_package_exports_every_name():
    import grocer.normalization as normalization

    missing = [name for name in normalization.__all__ if not hasattr(normalization, name)]
    assert missing == []
    assert normalization.get_cleaner("aldi") is normalization.CLEANERS["aldi"]
