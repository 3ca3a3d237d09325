"""`scrapy tables serve` (DESIGN §4, §7 item 4): the files as they are on disk, no database."""

import hashlib
import http.client
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy

import grocer.db.engine
from grocer.tables_server import ServerConfigError, make_server

PROJECT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token"
BRAND = "/brand_translation_table.json"
PRODUCT = "/product_translation_table.json"


@pytest.fixture
def no_database(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the tables server must not touch the database")

    monkeypatch.setattr(sqlalchemy, "create_engine", refuse)
    monkeypatch.setattr(grocer.db.engine, "create_engine", refuse)
    monkeypatch.setattr(grocer.db.engine, "make_engine", refuse)


@pytest.fixture
def server(tmp_path, no_database):
    (tmp_path / "brand_translation_table.json").write_bytes(b'{"coke":"cola coca"}')
    (tmp_path / "product_translation_table.json").write_bytes(b'{"2l milk":"milk 2l"}')
    (tmp_path / "secret.txt").write_text("not served")
    server = make_server(tmp_path, TOKEN, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def request(server, path, method="GET", token=TOKEN, **headers):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    if token is not None:
        headers["X-Grocer-Token"] = token
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_serves_the_bytes_on_disk_with_md5_etag_and_304(server):
    directory = server.directory
    response, body = request(server, PRODUCT)
    data = (directory / "product_translation_table.json").read_bytes()
    etag = '"' + hashlib.md5(data).hexdigest() + '"'
    assert (response.status, body) == (200, data)
    assert response.getheader("ETag") == etag
    assert response.getheader("Content-Type") == "application/json"
    response, body = request(server, PRODUCT, **{"If-None-Match": etag})
    assert (response.status, body) == (304, b"")
    # The generator replaces the file atomically: the next request serves the new bytes.
    replacement = directory / ".tmp"
    replacement.write_bytes(b'{"a":"b"}')
    os.replace(replacement, directory / "product_translation_table.json")
    response, body = request(server, PRODUCT, **{"If-None-Match": etag})
    assert (response.status, body) == (200, b'{"a":"b"}')
    response, body = request(server, BRAND + "?x=1", method="HEAD")
    assert response.status == 200 and body == b""
    assert response.getheader("Content-Length") == str(len(b'{"coke":"cola coca"}'))


def test_token_is_required(server):
    assert request(server, BRAND, token=None)[0].status == 401
    assert request(server, BRAND, token="wrong")[0].status == 401
    assert request(server, "/secret.txt", token=None)[0].status == 401


def test_only_the_two_tables_and_only_get_head(server):
    assert request(server, "/secret.txt")[0].status == 404
    assert request(server, "/../secret.txt")[0].status == 404
    assert request(server, "/")[0].status == 404
    assert request(server, BRAND, method="POST")[0].status == 405
    (server.directory / "brand_translation_table.json").unlink()
    assert request(server, BRAND)[0].status == 404


def test_refuses_to_start_without_a_token(tmp_path):
    with pytest.raises(ServerConfigError, match="GROCER_TABLES_TOKEN"):
        make_server(tmp_path, "", "127.0.0.1", 0)
    with pytest.raises(ServerConfigError):
        make_server(tmp_path / "missing", TOKEN, "127.0.0.1", 0)


def run_serve(tmp_path, token):
    env = {**os.environ, "GROCER_TABLES_TOKEN": token, "TRANSLATION_TABLES_DIR": str(tmp_path),
           # a database that does not exist and could not be reached
           "GROCER_DATABASE_URL": "mysql+pymysql://nobody:x@127.0.0.1:1/nowhere"}
    return subprocess.Popen([sys.executable, "-m", "scrapy", "tables", "serve", "--port", "0"],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_the_command_serves_without_a_database(tmp_path):
    (tmp_path / "brand_translation_table.json").write_bytes(b'{"x":"y"}')
    process = run_serve(tmp_path, TOKEN)
    try:
        line = process.stdout.readline()
        assert "serving translation tables" in line, process.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", BRAND, headers={"X-Grocer-Token": TOKEN})
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b'{"x":"y"}')
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


@pytest.mark.slow
def test_the_command_refuses_to_start_without_a_token(tmp_path):
    process = run_serve(tmp_path, "")
    out, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "GROCER_TABLES_TOKEN is not set" in err
