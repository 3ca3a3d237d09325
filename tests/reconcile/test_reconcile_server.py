"""The translation tables served by grocer web (`scrapy tables serve`, DESIGN §4, §7 item 4):
the files as they are on disk, no database."""

import hashlib
import http.client
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy

import grocer.db.engine
from grocer.web.app import create_app
from grocer.web.tables import ServerConfigError
from tests.helpers.web_server import running_app

PROJECT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token"
BRAND = "/tables/brand_translation_table.json"
PRODUCT = "/tables/product_translation_table.json"


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
    with running_app(make_app(tmp_path, TOKEN)) as url:
        yield SimpleNamespace(directory=tmp_path, address=urlsplit(url).netloc)


def make_app(directory, token):
    return create_app(tables_dir=directory, tables_token=token, tables_only=True)


def request(server, path, method="GET", token=TOKEN, **headers):
    connection = http.client.HTTPConnection(server.address, timeout=5)
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
    assert request(server, "/tables/secret.txt", token=None)[0].status == 401


def test_only_the_two_tables_and_only_get_head(server):
    assert request(server, "/tables/secret.txt")[0].status == 404
    assert request(server, "/tables/../secret.txt")[0].status == 404
    assert request(server, "/tables/%2e%2e%2fsecret.txt")[0].status == 404
    assert request(server, "/tables/")[0].status == 404
    assert request(server, "/")[0].status == 404  # only the tables: no catalogue pages
    assert request(server, "/api/stores")[0].status == 404
    assert request(server, BRAND, method="POST")[0].status == 405
    (server.directory / "brand_translation_table.json").unlink()
    assert request(server, BRAND)[0].status == 404


def test_refuses_to_start_without_a_token(tmp_path):
    with pytest.raises(ServerConfigError, match="GROCER_TABLES_TOKEN"):
        make_app(tmp_path, "")
    with pytest.raises(ServerConfigError):
        make_app(tmp_path / "missing", TOKEN)


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


def test_a_table_that_is_a_symlink_out_of_the_directory_is_not_served(tmp_path, no_database):
    tables, outside = tmp_path / "tables", tmp_path / "outside.json"
    tables.mkdir()
    outside.write_bytes(b'{"private":"data"}')
    (tables / "brand_translation_table.json").symlink_to(outside)
    (tables / "product_translation_table.json").write_bytes(b"{}")
    with running_app(make_app(tables, TOKEN)) as url:
        server = SimpleNamespace(address=urlsplit(url).netloc)
        assert request(server, BRAND)[0].status == 404
        assert request(server, PRODUCT)[0].status == 200


def test_an_idle_connection_is_closed_by_the_server(server):
    """The old http.server kept a thread per idle connection forever (issue 14)."""
    import socket
    import time

    from grocer.web.server import KEEP_ALIVE_TIMEOUT

    host, port = server.address.split(":")
    with socket.create_connection((host, int(port)), timeout=KEEP_ALIVE_TIMEOUT + 10) as sock:
        sock.sendall(b"GET " + BRAND.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                     b"X-Grocer-Token: " + TOKEN.encode() + b"\r\n\r\n")
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(65536):  # the server closes the idle connection: b""
            received += chunk
        assert received.startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < KEEP_ALIVE_TIMEOUT + 5
