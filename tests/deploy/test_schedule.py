"""deploy/schedule.py against a stub scrapyd: what it sends, when it skips, how it fails."""

from __future__ import annotations

import importlib.util
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "schedule.py"
spec = importlib.util.spec_from_file_location("grocer_deploy_schedule", SCRIPT)
schedule = importlib.util.module_from_spec(spec)
spec.loader.exec_module(schedule)


class StubScrapyd:
    def __init__(self):
        self.jobs = {"status": "ok", "pending": [], "running": [], "finished": []}
        self.scheduled = []  # the parsed POST bodies of schedule.json
        self.refuse = None  # a message: schedule.json answers status "error"
        self.auth = []
        self.finish_with = None  # a close reason: the scheduled job is finished at once


@contextmanager
def stub_scrapyd():
    stub = StubScrapyd()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, body: bytes, content_type="application/json"):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            stub.auth.append(self.headers.get("Authorization"))
            path = urlsplit(self.path).path
            if path == "/listjobs.json":
                self.reply(json.dumps(stub.jobs).encode())
            elif path.startswith("/logs/"):
                self.reply(f"INFO: Spider closed ({stub.finish_with})\n".encode(), "text/plain")
            else:
                self.send_error(404)

        def do_POST(self):
            stub.auth.append(self.headers.get("Authorization"))
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            params = parse_qs(body)
            stub.scheduled.append(params)
            if stub.refuse:
                self.reply(json.dumps({"status": "error", "message": stub.refuse}).encode())
                return
            if stub.finish_with:
                stub.jobs["finished"].append({"id": "job1", "spider": params["spider"][0],
                                              "log_url": "/logs/grocer/aldi/job1.log"})
            self.reply(json.dumps({"status": "ok", "jobid": "job1"}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def test_it_schedules_the_stalest_stores_of_a_chain_with_settings(capsys):
    with stub_scrapyd() as stub:
        code = schedule.main(["woolworths", "--stalest", "25", "--url", stub.url,
                              "-s", "LOG_LEVEL=INFO", "-s", "DOWNLOAD_DELAY=2",
                              "-a", "categories=fruit-veg"])
    assert code == 0
    (sent,) = stub.scheduled
    assert sent == {"project": ["grocer"], "spider": ["woolworths"],
                    "stores": ["stalest:25"], "categories": ["fruit-veg"],
                    "setting": ["LOG_LEVEL=INFO", "DOWNLOAD_DELAY=2"]}
    assert "woolworths: scheduled job job1 (categories=fruit-veg stores=stalest:25)" in \
        capsys.readouterr().out


def test_coles_barcodes_gets_no_stores_argument():
    with stub_scrapyd() as stub:
        assert schedule.main(["coles_barcodes", "--url", stub.url, "-a", "limit=500"]) == 0
    (sent,) = stub.scheduled
    assert sent == {"project": ["grocer"], "spider": ["coles_barcodes"], "limit": ["500"]}


def test_a_chain_with_a_job_pending_or_running_is_not_scheduled_again(capsys):
    with stub_scrapyd() as stub:
        stub.jobs["running"] = [{"id": "old", "spider": "coles", "pid": 7}]
        stub.jobs["pending"] = [{"id": "other", "spider": "aldi"}]
        assert schedule.main(["coles", "--url", stub.url]) == 0
        assert stub.scheduled == []
        assert "coles: not scheduled, job old is still running" in capsys.readouterr().out
        assert schedule.main(["aldi", "--url", stub.url]) == 0
        assert "job other is still pending" in capsys.readouterr().out
        assert schedule.main(["iga", "--url", stub.url]) == 0  # another chain: scheduled
        assert schedule.main(["coles", "--url", stub.url, "--allow-overlap"]) == 0
    assert [sent["spider"] for sent in stub.scheduled] == [["iga"], ["coles"]]
    assert stub.scheduled[0]["stores"] == ["stalest:10"]


def test_a_refusal_or_no_server_exits_1(capsys):
    with stub_scrapyd() as stub:
        stub.refuse = "spider 'aldi' not found"
        assert schedule.main(["aldi", "--url", stub.url]) == 1
    assert "spider 'aldi' not found" in capsys.readouterr().err
    assert schedule.main(["aldi", "--url", stub.url]) == 1  # the server is gone
    assert "scrapyd:" in capsys.readouterr().err


@pytest.mark.parametrize("reason, code", [("finished", 0), ("blocked", 3), ("error_budget", 3)])
def test_wait_reports_the_close_reason(capsys, reason, code):
    with stub_scrapyd() as stub:
        stub.finish_with = reason
        assert schedule.main(["aldi", "--url", stub.url, "--wait", "--poll", "0.05"]) == code
    assert f"aldi: job job1 closed ({reason})" in capsys.readouterr().out


def test_basic_auth_from_the_environment(monkeypatch):
    monkeypatch.setenv("SCRAPYD_USERNAME", "grocer")
    monkeypatch.setenv("SCRAPYD_PASSWORD", "s3cret")
    with stub_scrapyd() as stub:
        assert schedule.main(["aldi", "--url", stub.url]) == 0
    assert set(stub.auth) == {"Basic Z3JvY2VyOnMzY3JldA=="}


def test_arguments_are_checked():
    with pytest.raises(SystemExit):
        schedule.parse_args(["aldi", "--stalest", "0"])
    with pytest.raises(SystemExit):
        schedule.parse_args(["aldi", "-s", "NOEQUALS"])
    with pytest.raises(SystemExit):
        schedule.parse_args(["foodland"])
    assert schedule.parse_args(["iga", "--stores", "all"]).stores == "all"


def test_the_crontab_example_schedules_each_chain_with_the_script():
    crontab = (SCRIPT.parent / "crontab.example").read_text()
    lines = [line for line in crontab.splitlines() if line and not line.startswith("#")
             and "schedule.py" in line]
    chains = {line.split("schedule.py", 1)[1].split()[0]: line for line in lines}
    assert set(chains) == {"aldi", "coles", "iga", "woolworths", "coles_barcodes"}
    for chain, line in chains.items():
        assert all(field == "*" or field.isdigit() for field in line.split()[:5]), line
        if chain != "coles_barcodes":
            assert "--stalest" in line


def test_the_scrapyd_requirements_are_grocers_dependencies_without_grocer():
    """deploy/requirements-scrapyd.txt = scrapyd + setup.py's install_requires, so that scrapyd's
    environment has everything the egg needs and no grocer to shadow it."""
    import ast

    setup = ast.parse((SCRIPT.parents[1] / "setup.py").read_text())
    call = next(node for node in ast.walk(setup) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "setup")
    install_requires = next(ast.literal_eval(k.value) for k in call.keywords
                            if k.arg == "install_requires")
    lines = [line.strip() for line in
             (SCRIPT.parent / "requirements-scrapyd.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert sorted(lines) == sorted(["scrapyd>=1.5", *install_requires])
    assert not any(line.lower().startswith("grocer") for line in lines)


def test_nodes_each_get_the_leased_job(capsys):
    with stub_scrapyd() as first, stub_scrapyd() as second:
        first.jobs["running"] = [{"id": "old", "spider": "aldi", "pid": 7}]  # leases share
        code = schedule.main(["aldi", "--lease", "5", "--nodes", f"{first.url},{second.url}",
                              "--jobs", "2"])
    assert code == 0
    assert [sent["stores"] for sent in first.scheduled + second.scheduled] == [["lease:5"]] * 4
    out = capsys.readouterr().out
    assert out.count("scheduled job job1 (stores=lease:5)") == 4 and second.url in out


def test_nodes_without_a_lease_are_refused():
    with pytest.raises(SystemExit):  # stalest:N on every node: the same stores twice
        schedule.parse_args(["aldi", "--nodes", "http://a:6800,http://b:6800"])
    with pytest.raises(SystemExit):
        schedule.parse_args(["aldi", "--jobs", "2", "--stores", "G102"])
    with pytest.raises(SystemExit):
        schedule.parse_args(["aldi", "--lease", "0"])


def test_a_node_that_is_down_fails_the_run_but_not_the_other_nodes(capsys):
    with stub_scrapyd() as up:
        code = schedule.main(["aldi", "--lease", "5", "--nodes",
                              f"http://127.0.0.1:1,{up.url}"])
    assert code == 1 and len(up.scheduled) == 1
    assert "scrapyd:" in capsys.readouterr().err


def test_wait_waits_for_every_node(capsys):
    with stub_scrapyd() as first, stub_scrapyd() as second:
        first.finish_with, second.finish_with = "finished", "db_errors"
        code = schedule.main(["aldi", "--lease", "5", "--nodes", f"{first.url},{second.url}",
                              "--wait", "--poll", "0.05"])
    assert code == 3
    out = capsys.readouterr().out
    assert "closed (finished)" in out and "closed (db_errors)" in out
