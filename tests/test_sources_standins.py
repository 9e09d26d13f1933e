"""The stand-in servers themselves: the request log, the bucket over HTTP, Nominatim, S3 (moto)."""

from __future__ import annotations

import http.client
import socket

import pytest
import requests

from landcover.sources.standins import (
    S3Server,
    StandinServer,
    nominatim_app,
    serve,
    serve_folder,
    static_app,
)

pytestmark = pytest.mark.network


def _get_without_user_agent(server: StandinServer, target: str) -> int:
    """The status of a GET sent with no ``User-Agent`` header at all."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", target)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_log_records_range_status_and_bytes(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.bin").write_bytes(bytes(range(256)) * 4)
    with serve_folder(tmp_path) as server:
        part = requests.get(f"{server.url}/images/a.bin", headers={"Range": "bytes=10-19"}, timeout=10)
        missing = requests.get(f"{server.url}/images/none.bin", timeout=10)
        listing = requests.get(f"{server.url}/images/", timeout=10)
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    assert missing.status_code == 404 and listing.status_code == 404  # no directory listings
    (record,) = server.log.for_path("a.bin")
    assert (record.method, record.range, record.status, record.bytes_sent) == ("GET", "bytes=10-19", 206, 10)
    assert server.log.bytes_for("a.bin") == 10
    assert [r.status for r in server.log.records] == [206, 404, 404]
    server.log.clear()
    assert server.log.records == []


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(RuntimeError, match="nowhere"):
        static_app(tmp_path / "nowhere")


def test_serve_yields_the_url_and_frees_the_port():
    with serve(nominatim_app({})) as url:
        port = int(url.rsplit(":", 1)[1])
        assert requests.get(f"{url}/search", params={"q": "x"}, timeout=10).json() == []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free again once the block is left


def test_nominatim_answers_like_jsonv2_and_refuses_anonymous_requests():
    with StandinServer(nominatim_app({"tomar": (-8.41, 39.60)})) as server:
        found = requests.get(f"{server.url}/search", params={"q": " Tomar "}, timeout=10)
        anonymous = _get_without_user_agent(server, "/search?q=tomar")  # requests always sends one
        failing = requests.get(f"{server.url}/search", params={"q": "server error"}, timeout=10)
    assert found.json()[0]["lat"] == "39.6000000" and found.json()[0]["lon"] == "-8.4100000"
    assert anonymous == 403 and failing.status_code == 500
    assert [r.query["q"] for r in server.log.records] == [[" Tomar "], ["tomar"], ["server error"]]
    assert "user-agent" not in server.log.records[1].headers


def test_s3_upload_keeps_relative_paths_under_the_prefix(tmp_path, s3_server: S3Server):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "keep.txt").write_text("kept")
    (tmp_path / "skip.tif").write_bytes(b"skipped")
    root = s3_server.upload_folder(tmp_path, "standin-test", "/v1/", include=lambda rel: rel.endswith(".txt"))
    assert root == "s3://standin-test/v1"
    assert s3_server.create_bucket("standin-test") == "standin-test"  # exists already: left as it is
    fs = s3_server.filesystem()
    assert fs.find("standin-test") == ["standin-test/v1/a/b/keep.txt"]
    assert fs.cat_file("standin-test/v1/a/b/keep.txt") == b"kept"
    assert s3_server.env["AWS_S3_ENDPOINT"] == s3_server.endpoint_url.removeprefix("http://")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        s3_server.upload_folder(tmp_path / "nowhere", "standin-test")
