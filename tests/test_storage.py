"""File systems, byte reading and GDAL settings for local, HTTP and S3 locations."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from landcover import storage


def test_file_system_per_kind_of_root(s3_env):
    assert "file" in storage.get_file_system("/tmp").protocol
    assert "https" in storage.get_file_system("https://example.org/data").protocol
    s3 = storage.get_file_system("s3://bucket/prefix")
    assert "s3" in s3.protocol
    assert s3.client_kwargs["endpoint_url"] == s3_env.endpoint_url
    assert s3.key == s3_env.env["AWS_ACCESS_KEY_ID"] and not s3.anon


def test_s3_is_anonymous_without_a_key(monkeypatch):
    monkeypatch.setenv("AWS_S3_ENDPOINT", "minio.example.org")
    fs = storage.get_file_system("s3://bucket")
    assert fs.anon
    assert fs.client_kwargs["endpoint_url"] == "https://minio.example.org"


@pytest.mark.parametrize(
    "endpoint, https, expected_url, expected_host",
    [
        (None, None, "https://minio.lab.sspcloud.fr", "minio.lab.sspcloud.fr"),
        ("minio.example.org", None, "https://minio.example.org", "minio.example.org"),
        ("127.0.0.1:9000", "NO", "http://127.0.0.1:9000", "127.0.0.1:9000"),
        ("http://127.0.0.1:9000/", None, "http://127.0.0.1:9000", "127.0.0.1:9000"),
        ("https://minio.example.org", "NO", "https://minio.example.org", "minio.example.org"),
    ],
)
def test_s3_endpoint_with_or_without_scheme(monkeypatch, endpoint, https, expected_url, expected_host):
    if endpoint is not None:
        monkeypatch.setenv("AWS_S3_ENDPOINT", endpoint)
    if https is not None:
        monkeypatch.setenv("AWS_HTTPS", https)
    settings = storage.s3_settings()
    assert settings.endpoint_url == expected_url
    assert settings.host == expected_host
    options = storage.gdal_options("s3://bucket/key.tif")
    assert options["AWS_S3_ENDPOINT"] == expected_host
    assert options["AWS_HTTPS"] == ("YES" if expected_url.startswith("https") else "NO")
    assert options["AWS_VIRTUAL_HOSTING"] == "FALSE"


def test_gdal_paths_use_the_network_drivers():
    assert storage.gdal_path("https://h/x.tif") == "/vsicurl/https://h/x.tif"
    assert storage.gdal_path("http://127.0.0.1:8000/x.tif") == "/vsicurl/http://127.0.0.1:8000/x.tif"
    assert storage.gdal_path("s3://bucket/a/b.tif") == "/vsis3/bucket/a/b.tif"
    assert storage.gdal_path("/data/x.tif") == "/data/x.tif"
    assert storage.gdal_options("/data/x.tif") == {}
    assert storage.gdal_options("https://h/x.tif")["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"


def _check_bytes_roundtrip(root: str, relative: str, expected: bytes) -> None:
    location = f"{root}/{relative}"
    assert storage.exists(location)
    assert storage.read_bytes(location) == expected
    with storage.open_binary(location) as handle:
        assert handle.read(4) == expected[:4]
    missing = f"{root}/images/LU000/1999/nothing.yaml"
    assert not storage.exists(missing)
    with pytest.raises(FileNotFoundError, match="nothing.yaml"):
        storage.read_bytes(missing)
    with pytest.raises(FileNotFoundError, match="nothing.yaml"):
        with storage.open_binary(missing):
            pass


def test_bytes_locally(tiny_data):
    relative = "images/LU000/2021/metrics-normalization.yaml"
    _check_bytes_roundtrip(str(tiny_data.root), relative, (tiny_data.root / relative).read_bytes())


@pytest.mark.network
def test_bytes_over_http(tiny_data, http_server):
    relative = "images/LU000/2021/metrics-normalization.yaml"
    url = http_server(tiny_data.root).url
    _check_bytes_roundtrip(url, relative, (tiny_data.root / relative).read_bytes())


@pytest.mark.network
def test_bytes_over_s3(tiny_data, s3_env, tiny_s3_root):
    relative = "images/LU000/2021/metrics-normalization.yaml"
    _check_bytes_roundtrip(tiny_s3_root, relative, (tiny_data.root / relative).read_bytes())


@pytest.mark.network
def test_listing_s3_and_local_but_not_http(tiny_data, s3_env, tiny_s3_root, http_server):
    assert storage.list_dirs(f"{tiny_s3_root}/images") == ["BE100", "LU000"]
    assert storage.list_dirs(str(tiny_data.root / "images" / "LU000")) == ["2018", "2021", "2024"]
    names = storage.list_names(f"{tiny_s3_root}/images/LU000/2018")
    assert names == ["4042000_2951690_0_637.tif", "filename2bbox.parquet", "metrics-normalization.yaml"]
    with pytest.raises(NotImplementedError, match="no folder listings"):
        storage.list_names(http_server(tiny_data.root).url + "/images")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        storage.list_dirs(str(tiny_data.root / "nowhere"))


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "cache" / "result.json"
    storage.write_bytes_atomic(target, b'{"a": 1}')
    assert target.read_bytes() == b'{"a": 1}'
    storage.write_bytes_atomic(target, b'{"a": 2}')
    assert target.read_bytes() == b'{"a": 2}'
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
    with pytest.raises(PermissionError, match="read-only"):
        storage.write_bytes_atomic("https://example.org/x.json", b"{}")


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "model" / "last.pt"
    storage.write_bytes_atomic(target, b"old")

    with pytest.raises(RuntimeError, match="writer failed"):
        with storage.atomic_path(target, suffix=".partial") as temporary:
            assert temporary.parent == target.parent and temporary.name.startswith(".last.pt.")
            assert temporary.name.endswith(".partial")
            temporary.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["last.pt"]


@pytest.mark.network
def test_atomic_write_to_s3(s3_env):
    s3_env.create_bucket("writes")
    location = storage.write_bytes_atomic("s3://writes/cache/x.bin", b"12345")
    assert storage.read_bytes(location) == b"12345"
    # A fresh listing sees the new key at once (no stale listing cache).
    assert storage.list_names("s3://writes/cache") == ["x.bin"]


@pytest.mark.network
def test_open_raster_reads_over_s3_with_gdal(tiny_data, s3_env, tiny_s3_root):
    relative = "images/LU000/2021/4042000_2951690_0_637.tif"
    with storage.open_raster(f"{tiny_s3_root}/{relative}") as src:
        assert src.name.startswith("/vsis3/tiny-data/v1/")
        window = src.read(1, window=((0, 10), (0, 10)))
    with rasterio.open(tiny_data.root / relative) as local:
        np.testing.assert_array_equal(window, local.read(1, window=((0, 10), (0, 10))))


@pytest.mark.network
def test_s3_unknown_bucket_is_a_missing_file(s3_env):
    with pytest.raises(FileNotFoundError, match="s3://no-such-bucket/x.yaml"):
        storage.read_bytes("s3://no-such-bucket/x.yaml")
