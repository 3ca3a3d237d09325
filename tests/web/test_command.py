"""`scrapy web` as a user runs it, and the web stack staying out of the other commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from grocer.db import migrate
from tests.helpers.scrapy_cli import REPO, run_scrapy

pytestmark = pytest.mark.slow


def test_scrapy_web_serves_pages_and_api_on_the_configured_database(engine, db_url, tmp_path):
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
    env = {**os.environ, "GROCER_DATABASE_URL": db_url, "PYTHONPATH": str(REPO),
           "GROCER_TABLES_TOKEN": ""}
    process = subprocess.Popen([sys.executable, "-m", "scrapy", "web", "--port", "0"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("serving grocer web on http://127.0.0.1:"), process.stderr.read()
        base = line.split(" on ")[1].split("/ ")[0]
        with urllib.request.urlopen(base + "/api/stores", timeout=10) as response:
            assert [c["chain"] for c in json.load(response)["chains"]] == [
                "aldi", "coles", "iga", "woolworths"]
        with urllib.request.urlopen(base + "/?q=milk", timeout=10) as response:
            assert b"0 products" in response.read()
        with urllib.request.urlopen(base + "/static/grocer.css", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/css")
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


def test_scrapy_web_on_an_old_schema_says_so_in_one_line(engine, db_url, tmp_path):
    migrate.downgrade(engine, "0003")
    try:
        result = run_scrapy(["web", "--port", "0"], db_url=db_url, workdir=tmp_path,
                            check=False, timeout=60)
    finally:
        migrate.upgrade(engine)
    assert result.returncode != 0
    assert "run `scrapy migrate`" in result.stderr and "Traceback" not in result.stderr


def test_a_taken_port_is_one_line_and_a_non_zero_exit(engine, db_url, tmp_path):
    from grocer.web.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        result = run_scrapy(["web", "--port", str(sock.getsockname()[1])], db_url=db_url,
                            workdir=tmp_path, check=False, timeout=60)
    finally:
        sock.close()
    assert result.returncode != 0
    assert "cannot listen on 127.0.0.1:" in result.stderr and "Traceback" not in result.stderr


def test_other_commands_do_not_import_the_web_stack():
    """Scrapy imports every command module to list them: web's stay cheap until `scrapy web`."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2')"
            " if m in sys.modules)))\n"
            "from scrapy.cmdline import execute\n"
            "execute(['scrapy', '-h'])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "  web " in result.stdout and "  tables " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
