"""Start-up imports only what a command needs (issue 19): `scrapy list` imports every spider
and every command module, so what they import at module level every command pays for."""

from __future__ import annotations

import json
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


# Not loaded by `scrapy ingest` into a database at grocer's revision: Scrapy's telnet console
# and remote control (off), the migrations, matching, the price zones (a zone crawl's), the web
# stack, the browser.
NOT_IN_AN_INGEST = (
    "aiohttp", "twisted.conch", "alembic", "rapidfuzz", "starlette", "uvicorn", "jinja2",
    "playwright", "grocer.web", "grocer.matching", "grocer.zones", "grocer.db.zones",
)


def scrapy_with_modules(tmp_path, args: list[str], prefixes: tuple[str, ...], env=None):
    """`scrapy ARGS` in a grocer project at tmp_path; its stdout lines, the last one the
    sorted modules under `prefixes` it had imported when it exited."""
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: print(sorted(m for m in sys.modules if any("
            f"m == p or m.startswith(p + '.') for p in {prefixes!r}))))\n"
            "from scrapy.cmdline import execute\n"
            f"execute(['scrapy', *{args!r}])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_scrapy_list_imports_no_database_web_or_normalization_stack(tmp_path):
    lines = scrapy_with_modules(tmp_path, ["list"], NOT_AT_START_UP)
    assert "aldi" in lines
    assert lines[-1] == "[]"


def test_an_ingest_imports_no_disabled_extension_migration_or_web_stack(tmp_path):
    database = tmp_path / "grocer.sqlite3"
    env = {"GROCER_DATABASE_URL": f"sqlite:///{database}",
           "TRANSLATION_TABLES_DIR": str(tmp_path)}
    archive = tmp_path / "archive.jsonl"
    archive.write_text(json.dumps({
        "product": {"sku": "000000000000000001", "name": "Milk 1L", "brand": "Farmdale",
                    "size": "1L", "price_current": 1.99},
        "metadata": {"company": "aldi", "store_id": "G102", "scraped_date": "2026-06-29"}})
        + "\n")
    scrapy_with_modules(tmp_path, ["migrate"], (), env)

    lines = scrapy_with_modules(tmp_path, ["ingest", str(archive)], NOT_IN_AN_INGEST, env)
    assert "1 items stored" in lines[0]
    assert lines[-1] == "[]"
    # The ingest closed its connections itself: the write-ahead log is in the file.
    assert not (tmp_path / "grocer.sqlite3-wal").exists()


def test_the_lazy_normalization_package_exports_every_name():
    import grocer.normalization as normalization

    missing = [name for name in normalization.__all__ if not hasattr(normalization, name)]
    assert missing == []
    assert normalization.get_cleaner("aldi") is normalization.CLEANERS["aldi"]
