"""grocer on a real scrapyd: build the egg with scrapyd-client from a clean copy of the tree,
deploy it, schedule `aldi` with deploy/schedule.py against the fixture server, and find the job
finished, its prices in the database and the crawl run reconciled.

scrapyd runs in a temporary directory with its own scrapyd.conf (eggs, logs and dbs there,
127.0.0.1 on a free port). Its environment carries what a deployment's would —
GROCER_DATABASE_URL and TRANSLATION_TABLES_DIR as absolute values — and no PYTHONPATH, and its
working directory holds no grocer: the crawl must import grocer from the zipped egg (the health
extension logs where grocer came from, and the test checks it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grocer.db.models import CrawlRun, Price, Store
from grocer.db.stores import load_stores
from grocer.storelist import read_store_list
from tests.helpers.fixture_server import SITES_DIR, running_site
from tests.helpers.scrapy_cli import run_scrapy

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEDULE = REPO / "deploy" / "schedule.py"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def clean_copy(destination: Path) -> Path:
    """The files of the working tree git knows or would add (tracked and untracked, not
    ignored): what a fresh checkout of this tree holds — no build/, no *.egg-info."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the package files
        listed = [str(path.relative_to(REPO)) for path in REPO.rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts
                  and not any(part.endswith(".egg-info") for part in path.parts)]
    for name in filter(None, listed):
        if not (name in ("setup.py", "scrapy.cfg", "setup.cfg", "pyproject.toml", "MANIFEST.in")
                or name.startswith(("grocer/", "README"))):
            continue
        source = REPO / name
        if source.is_file():  # a deleted tracked file is listed too
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


class ScrapydServer:
    def __init__(self, root: Path, env: dict):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for name in ("eggs", "logs", "dbs"):
            (root / name).mkdir(parents=True, exist_ok=True)
        (root / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            f"eggs_dir = {root / 'eggs'}\n"
            f"logs_dir = {root / 'logs'}\n"
            f"dbs_dir = {root / 'dbs'}\n"
            "bind_address = 127.0.0.1\n"
            f"http_port = {self.port}\n"
            "max_proc = 2\n"
            "poll_interval = 0.5\n")
        self.output = open(root / "scrapyd.out", "wb")
        self.process = subprocess.Popen(
            [str(BIN / "scrapyd"), "--pidfile="], cwd=root, env=env,
            stdout=self.output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if get_json(f"{self.url}/daemonstatus.json")["status"] == "ok":
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"scrapyd did not start:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        self.output.flush()
        return (self.root / "scrapyd.out").read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


@pytest.fixture
def site():
    with running_site() as fixture_site:
        yield fixture_site


@pytest.fixture
def scrapyd(tmp_path, db_url):
    tables = tmp_path / "tables"
    tables.mkdir()
    # What a deployment puts into scrapyd's environment; nothing that would find grocer's
    # source tree.
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONPATH" and not key.endswith("_BASE_URL")
           and not key.startswith(("TRANSLATION_TABLES", "GROCER_", "SCRAPY_"))}
    env.update(GROCER_DATABASE_URL=db_url, TRANSLATION_TABLES_DIR=str(tables))
    server = ScrapydServer(tmp_path / "scrapyd", env)
    yield server
    server.stop()


def test_deploy_to_scrapyd_and_schedule_a_crawl(engine, db_url, site, scrapyd, tmp_path):
    load_stores(engine, read_store_list(SITES_DIR / "stores.json"))

    # Deploy: scrapyd-deploy builds the egg from setup.py in a clean copy and uploads it.
    project = clean_copy(tmp_path / "project")
    (project / "scrapy.cfg").write_text(
        "[settings]\ndefault = grocer.settings\n\n"
        f"[deploy:test]\nurl = {scrapyd.url}/\nproject = grocer\n")
    deploy_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    deployed = subprocess.run([str(BIN / "scrapyd-deploy"), "test", "-v", "r1"], cwd=project,
                              env=deploy_env, capture_output=True, text=True, timeout=180)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    answer = json.loads(deployed.stdout)
    assert answer["status"] == "ok" and answer["project"] == "grocer"
    assert answer["spiders"] >= 4, answer

    egg = scrapyd.root / "eggs" / "grocer" / "r1.egg"
    with zipfile.ZipFile(egg) as archive:  # the zip scrapyd imports grocer from
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert {"grocer/settings.py", "grocer/extensions/health.py", "grocer/spiders/aldi.py"} <= names
    assert "settings = grocer.settings" in entry_points
    spiders = get_json(f"{scrapyd.url}/listspiders.json?project=grocer")["spiders"]
    assert {"aldi", "coles", "iga", "woolworths"} <= set(spiders)

    # Schedule as cron would, with the fixture server's address as a per-job setting.
    scheduled = subprocess.run(
        [sys.executable, str(SCHEDULE), "aldi", "--stalest", "2", "--url", scrapyd.url,
         "--setting", f"ALDI_BASE_URL={site.urls['aldi']}",
         "--setting", "DOWNLOAD_DELAY=0", "--setting", "AUTOTHROTTLE_ENABLED=False",
         "--wait", "--timeout", "180", "--poll", "0.5"],
        capture_output=True, text=True, timeout=240)
    logs = sorted((scrapyd.root / "logs").rglob("*.log"))
    crawl_log = logs[-1].read_text(errors="replace") if logs else ""
    assert scheduled.returncode == 0, (scheduled.stdout + scheduled.stderr + crawl_log[-4000:]
                                       + scrapyd.log())
    assert "closed (finished)" in scheduled.stdout
    job_id = scheduled.stdout.split("scheduled job ")[1].split()[0]

    jobs = get_json(f"{scrapyd.url}/listjobs.json?project=grocer")
    assert [job["spider"] for job in jobs["finished"] if job["id"] == job_id] == ["aldi"]
    assert not jobs["pending"] and not jobs["running"]

    # The crawl imported grocer from the zipped egg, not from the source tree.
    (log_file,) = (scrapyd.root / "logs" / "grocer" / "aldi").glob(f"{job_id}.log")
    log = log_file.read_text(errors="replace")
    origin = next(line for line in log.splitlines() if "grocer from " in line)
    assert "r1.egg" in origin and str(REPO) not in origin, origin
    assert "Spider closed (finished)" in log
    assert "crawl closed (finished)" in log

    with engine.connect() as connection:
        prices = dict(connection.execute(
            select(Store.store_code, func.count(Price.id))
            .join(Price, Price.store_id == Store.id).group_by(Store.store_code)).all())
        run = connection.execute(select(
            CrawlRun.spider, CrawlRun.close_reason, CrawlRun.reconciled,
            CrawlRun.stores_completed, CrawlRun.stats, CrawlRun.store_stats)).one()
    assert set(prices) == {"G102", "G105"} and all(count > 0 for count in prices.values())
    assert run[:4] == ("aldi", "finished", True, ["G102", "G105"])
    assert run.stats["grocer/health/budget"] == "ok"
    assert run.store_stats["G102"]["stored"] == prices["G102"]

    # The two stores show as fresh in the report, the chain's other four as never crawled.
    report = run_scrapy(["report", "--company", "aldi"], db_url=db_url,
                        workdir=tmp_path / "report").stdout
    assert "coverage 2 of 6 supermarket stores" in report
    assert "+ 4 supermarket stores never crawled (STALE)" in report
