"""Fixtures shared by the whole suite.

Isolation (automatic for every test): no data-root, online, Nominatim/GISCO or
``AWS_*`` variable leaks in from the shell or ``.env``; downloads are cached in a
temporary folder; 127.0.0.1 bypasses any proxy.

Data and servers (ask for them by name). The servers are the package's stand-ins
(:mod:`landcover.sources.standins`): one implementation for the tests and the book.

- ``tiny_data`` (session): :class:`tests.support.tiny_data.TinyDataset`, a small
  dataset in the contract layout (``.root`` is its folder).
- ``synthetic_dir`` (session): ``data/synthetic`` from ``make data``; skips when absent.
- ``http_server`` (session): ``http_server(folder)`` serves a folder with Range
  support and returns a :class:`~landcover.sources.standins.server.StandinServer`
  (``.url``, ``.log`` of requests).
- ``serve_asgi`` (function): ``serve_asgi(app)`` runs any ASGI app, stopped after the test.
- ``s3_server`` (session): :class:`landcover.sources.standins.s3.S3Server` (moto).
  ``s3_env`` (function) sets its ``AWS_*`` variables for one test.
- ``tiny_s3_root`` / ``synthetic_s3_root`` (session): the data uploaded to the
  S3 stand-in, as ``s3://...`` roots (use together with ``s3_env``).
- ``use_data_root`` (function): ``use_data_root(root)`` sets ``LANDCOVER_DATA_ROOT``.
- ``tiny_root`` / ``synthetic_root`` (function, parametrised local/http/s3): set
  the data root (and S3 variables) and return a :class:`DataRoot`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from landcover.sources.standins.bucket import static_app
from landcover.sources.standins.s3 import S3Server
from landcover.sources.standins.server import StandinServer

TESTS_DIR = Path(__file__).resolve().parent
PROJECT_DIR = TESTS_DIR.parent
if str(PROJECT_DIR) not in sys.path:  # so `from tests.support import ...` works from any cwd
    sys.path.insert(0, str(PROJECT_DIR))

from tests.support.tiny_data import TinyDataset, build_tiny_dataset  # noqa: E402

from landcover.synthetic.manifest import MANIFEST_NAME  # noqa: E402

#: Variables a test must not inherit from the shell or from .env.
ISOLATED_VARIABLES = (
    "LANDCOVER_DATA_ROOT",
    "LANDCOVER_ONLINE",
    "LANDCOVER_API_URL",
    "LANDCOVER_PREDICTION_STORE",
    "LANDCOVER_MODEL",
    "LANDCOVER_NOMINATIM_URL",
    "LANDCOVER_GISCO_NUTS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_S3_ENDPOINT",
    "AWS_HTTPS",
    "AWS_VIRTUAL_HOSTING",
    "AWS_NO_SIGN_REQUEST",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)

SYNTHETIC_DIR = PROJECT_DIR / "data" / "synthetic"
SYNTHETIC_MARKER = MANIFEST_NAME  # what the generator writes last
#: The tile the book's chapter 1 opens, present in every year of the synthetic data.
TOWN_STEM = "4042000_2951690_0_637"


@pytest.fixture(scope="session")
def _download_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("download-cache")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, _download_cache: Path) -> None:
    for name in ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANDCOVER_CACHE_DIR", str(_download_cache))
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))


# --- data ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> TinyDataset:
    """The tiny dataset, built once per session (read-only: copy it before modifying)."""
    return build_tiny_dataset(tmp_path_factory.mktemp("tiny-data") / "data")


@pytest.fixture(scope="session")
def synthetic_dir() -> Path:
    """The generated synthetic data (``make data``), or a skip saying how to make it.

    ``LANDCOVER_TEST_SYNTHETIC_DIR`` points the tests at synthetic data generated elsewhere.
    """
    folder = Path(os.environ.get("LANDCOVER_TEST_SYNTHETIC_DIR") or SYNTHETIC_DIR)
    if not (folder / SYNTHETIC_MARKER).exists():
        pytest.skip(f"the synthetic data is missing or incomplete at {folder}: run `make data`")
    return folder


@dataclass(frozen=True)
class BookRuns:
    """Every executable chapter run once on the synthetic data, and the MLflow store the runs wrote to."""

    runs: dict[str, Any]
    tracking_uri: str


@pytest.fixture(scope="session")
def book_runs(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BookRuns:
    """The book executed once per test session, templates included, offline.

    The kernels log to a throwaway MLflow store, so the tests never add runs
    or model versions to the project's own store.
    """
    from landcover.book.execute import executable_documents, run_chapter
    from landcover.book.project import load_book

    store = f"sqlite:///{tmp_path_factory.mktemp('book-mlflow') / 'mlflow.db'}"
    env = {"LANDCOVER_DATA_ROOT": str(synthetic_dir), "LANDCOVER_ONLINE": "0", "MLFLOW_TRACKING_URI": store}
    book = load_book(PROJECT_DIR)
    out = tmp_path_factory.mktemp("book-build")
    runs = {
        doc.name: run_chapter(doc, book, out, templates=True, offline=True, html=False, progress=False, env=env)
        for doc in executable_documents(book)
    }
    return BookRuns(runs, store)


# --- servers -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def http_server() -> Iterator[Callable[[str | os.PathLike[str]], StandinServer]]:
    """``http_server(folder)`` -> a running Range-capable HTTP server for ``folder`` (one per folder)."""
    servers: dict[str, StandinServer] = {}

    def start(folder: str | os.PathLike[str]) -> StandinServer:
        key = str(Path(folder).resolve())
        if key not in servers:
            servers[key] = StandinServer(static_app(key)).start()
        return servers[key]

    yield start
    for server in reversed(servers.values()):
        server.stop()


@pytest.fixture
def serve_asgi() -> Iterator[Callable[[Any], StandinServer]]:
    """``serve_asgi(app)`` -> a running server for an ASGI app, stopped at the end of the test."""
    servers: list[StandinServer] = []

    def start(app: Any) -> StandinServer:
        servers.append(StandinServer(app).start())
        return servers[-1]

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server for the whole session (state lives in memory)."""
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Point s3fs and GDAL at the S3 stand-in for this test; returns the server."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture(scope="session")
def tiny_s3_root(s3_server: S3Server, tiny_data: TinyDataset) -> str:
    """The tiny dataset uploaded to ``s3://tiny-data/v1`` (ask for ``s3_env`` too)."""
    return s3_server.upload_folder(tiny_data.root, "tiny-data", "v1")


def _synthetic_subset(relative: str) -> bool:
    """Everything small, and only the chapter-1 tile and its labels among the big files."""
    if relative.endswith((".tif", ".npy")):
        return Path(relative).stem == TOWN_STEM
    return True


@pytest.fixture(scope="session")
def synthetic_s3_root(s3_server: S3Server, synthetic_dir: Path) -> str:
    """Part of the synthetic data in ``s3://synthetic-data/data``: every index, YAML, NUTS and text file,
    plus tile ``4042000_2951690_0_637`` (images and labels of every year)."""
    return s3_server.upload_folder(synthetic_dir, "synthetic-data", "data", include=_synthetic_subset)


@pytest.fixture
def use_data_root(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | os.PathLike[str]], str]:
    """``use_data_root(root)`` makes ``root`` the active data root for this test."""

    def set_root(root: str | os.PathLike[str]) -> str:
        monkeypatch.setenv("LANDCOVER_DATA_ROOT", os.fspath(root))
        return os.fspath(root)

    return set_root


@dataclass(frozen=True)
class DataRoot:
    """An active data root in one of the three modes."""

    mode: str  # "local", "http" or "s3"
    root: str
    server: Any = None  # StandinServer (http) or S3Server (s3)


MODES = [
    pytest.param("local", id="local"),
    pytest.param("http", id="http", marks=pytest.mark.network),
    pytest.param("s3", id="s3", marks=pytest.mark.network),
]


def _activate(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, folder: Path, s3_fixture: str
) -> DataRoot:
    mode = request.param
    server: Any = None
    if mode == "local":
        root = str(folder)
    elif mode == "http":
        server = request.getfixturevalue("http_server")(folder)
        root = server.url
    else:
        server = request.getfixturevalue("s3_server")
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        root = request.getfixturevalue(s3_fixture)
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", root)
    return DataRoot(mode, root, server)


@pytest.fixture(params=MODES)
def tiny_root(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tiny_data: TinyDataset
) -> DataRoot:
    """The tiny dataset as the active data root, once per mode (local, http, s3)."""
    return _activate(request, monkeypatch, tiny_data.root, "tiny_s3_root")


@pytest.fixture(params=MODES)
def synthetic_root(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, synthetic_dir: Path
) -> DataRoot:
    """The synthetic data as the active data root, once per mode (S3 holds a subset, see
    ``synthetic_s3_root``)."""
    return _activate(request, monkeypatch, synthetic_dir, "synthetic_s3_root")
