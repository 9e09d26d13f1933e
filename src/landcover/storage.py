"""One way to reach files on a local disk, over HTTPS or on S3.

fsspec does the byte reading (Parquet, YAML, NumPy, GeoJSON); GDAL, through
rasterio, reads GeoTIFFs itself with HTTP range requests, so a tile window never
needs the whole file. :func:`gdal_path` and :func:`gdal_env` give rasterio the
path and settings it needs for each kind of location.

S3 settings come from the usual variables: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` and ``AWS_S3_ENDPOINT`` (a host
such as ``minio.lab.sspcloud.fr``, or a full ``http(s)://host:port`` URL; without
a scheme, ``AWS_HTTPS=NO`` selects plain HTTP). Without a key, S3 is read
anonymously.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import fsspec

from landcover.config import DEFAULT_S3_ENDPOINT, data_root, is_remote

if TYPE_CHECKING:
    import rasterio
    from rasterio.io import DatasetReader
    from rasterio.session import Session

#: GDAL settings for reading over HTTP(S) without probing for side-car files.
_GDAL_HTTP_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.vrt,.npy,.parquet,.yaml,.geojson,.json",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_TIMEOUT": "60",
}

_FALSE_WORDS = {"no", "false", "0", "off"}


def scheme_of(location: str | os.PathLike[str]) -> str:
    """``"file"``, ``"http"``, ``"https"`` or ``"s3"``."""
    text = os.fspath(location)
    if text.startswith("s3://"):
        return "s3"
    if text.startswith("https://"):
        return "https"
    if text.startswith("http://"):
        return "http"
    return "file"


@dataclass(frozen=True)
class S3Settings:
    """Everything needed to talk to an S3 endpoint, read from the environment."""

    endpoint_url: str  # with scheme, e.g. https://minio.lab.sspcloud.fr
    key: str | None
    secret: str | None
    token: str | None
    region: str

    @property
    def anonymous(self) -> bool:
        """True when no access key is set: public buckets only."""
        return not self.key

    @property
    def host(self) -> str:
        """``host[:port]`` without scheme, as GDAL's ``AWS_S3_ENDPOINT`` wants it."""
        return urlsplit(self.endpoint_url).netloc

    @property
    def https(self) -> bool:
        """True when the endpoint is reached over TLS (GDAL's ``AWS_HTTPS``)."""
        return urlsplit(self.endpoint_url).scheme == "https"


def s3_settings() -> S3Settings:
    """S3 endpoint and credentials from ``AWS_*`` variables (SSP Cloud's defaults otherwise)."""
    endpoint = os.environ.get("AWS_S3_ENDPOINT", "").strip() or DEFAULT_S3_ENDPOINT
    if "://" not in endpoint:
        plain_http = os.environ.get("AWS_HTTPS", "YES").strip().lower() in _FALSE_WORDS
        endpoint = ("http://" if plain_http else "https://") + endpoint
    return S3Settings(
        endpoint_url=endpoint.rstrip("/"),
        key=os.environ.get("AWS_ACCESS_KEY_ID") or None,
        secret=os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
        token=os.environ.get("AWS_SESSION_TOKEN") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )


def get_file_system(root: str | os.PathLike[str] | None = None) -> fsspec.AbstractFileSystem:
    """An fsspec file system for the data root (the active one by default).

    Local folder -> ``LocalFileSystem``; ``http(s)://`` -> ``HTTPFileSystem``;
    ``s3://`` -> ``s3fs.S3FileSystem`` configured from the ``AWS_*`` variables.
    S3 listings are not cached, so files written by another process show up at once.
    """
    location = data_root() if root is None else os.fspath(root)
    scheme = scheme_of(location)
    if scheme == "s3":
        settings = s3_settings()
        if settings.anonymous:
            return fsspec.filesystem(
                "s3", anon=True, use_listings_cache=False,
                client_kwargs={"endpoint_url": settings.endpoint_url, "region_name": settings.region},
            )
        return fsspec.filesystem(
            "s3",
            key=settings.key,
            secret=settings.secret,
            token=settings.token,
            use_listings_cache=False,
            client_kwargs={"endpoint_url": settings.endpoint_url, "region_name": settings.region},
        )
    if scheme in ("http", "https"):
        return fsspec.filesystem("https" if scheme == "https" else "http")
    return fsspec.filesystem("file")


def _fs_and_path(path: str | os.PathLike[str]) -> tuple[fsspec.AbstractFileSystem, str]:
    text = os.fspath(path)
    return get_file_system(text), text


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether a file or folder exists at a local path, URL or ``s3://`` path."""
    fs, text = _fs_and_path(path)
    try:
        return bool(fs.exists(text))
    except (FileNotFoundError, PermissionError):
        return False


def _not_found(path: str, exc: BaseException | None = None) -> FileNotFoundError:
    error = FileNotFoundError(f"no such file: {path}")
    return error


def _permission(path: str, exc: BaseException) -> PermissionError:
    hint = ""
    if scheme_of(path) == "s3":
        hint = " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_S3_ENDPOINT)"
    return PermissionError(f"access denied to {path}{hint}: {exc}")


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole content of a (small) file; ``FileNotFoundError`` naming the path if absent."""
    fs, text = _fs_and_path(path)
    try:
        return fs.cat_file(text)
    except FileNotFoundError as exc:
        raise _not_found(text, exc) from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{text} is a folder, not a file") from None
    except PermissionError as exc:
        raise _permission(text, exc) from exc


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The content of a text file (YAML, JSON, CSV)."""
    return read_bytes(path).decode(encoding)


@contextlib.contextmanager
def open_binary(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a file for reading as bytes, wherever it is (random access where supported)."""
    fs, text = _fs_and_path(path)
    try:
        handle = fs.open(text, "rb")
    except FileNotFoundError as exc:
        raise _not_found(text, exc) from None
    except PermissionError as exc:
        raise _permission(text, exc) from exc
    with handle:
        yield handle


def _list_entries(folder: str | os.PathLike[str], *, detail: bool) -> list:
    """``fs.ls`` of a local or S3 folder, with the book's errors (HTTP has no listings)."""
    fs, text = _fs_and_path(folder)
    if scheme_of(text) in ("http", "https"):
        raise NotImplementedError(f"cannot list {text}: HTTP servers give no folder listings")
    try:
        return fs.ls(text, detail=detail)
    except FileNotFoundError:
        raise _not_found(text) from None
    except PermissionError as exc:
        raise _permission(text, exc) from exc


def list_names(folder: str | os.PathLike[str]) -> list[str]:
    """Sorted names (not paths) of the entries of a local or S3 folder.

    HTTP servers publish no listings, so an ``https://`` folder raises
    ``NotImplementedError``; use an index file instead.
    """
    entries = _list_entries(folder, detail=False)
    return sorted({str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries})


def list_dirs(folder: str | os.PathLike[str]) -> list[str]:
    """Sorted names of the sub-folders of a local or S3 folder (S3 "folders" are key prefixes)."""
    entries = _list_entries(folder, detail=True)
    return sorted(
        {str(e["name"]).rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory"}
    )


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> str:
    """Write a file so that readers never see it half-written; returns the path.

    Locally: write to a temporary name in the same folder, then rename. On S3 a
    single PUT is already atomic. HTTP locations are read-only.
    """
    text = os.fspath(path)
    scheme = scheme_of(text)
    if scheme in ("http", "https"):
        raise PermissionError(f"cannot write {text}: HTTP data roots are read-only")
    if scheme == "s3":
        fs = get_file_system(text)
        try:
            fs.pipe_file(text, data)
        except PermissionError as exc:
            raise _permission(text, exc) from exc
        return text
    with atomic_path(text) as temporary:
        temporary.write_bytes(data)
    return str(Path(text))


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary local path next to ``final``, renamed to ``final`` when the block succeeds.

    For writers that want a path (rasterio, ``np.save``, ``torch.save``): readers
    never see a half-written ``final``, and a failed block leaves nothing behind.
    The temporary name is hidden (leading dot) and ends with ``suffix``, so
    leftovers of a killed process can be found.
    """
    target = Path(final)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}{suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def gdal_path(path: str | os.PathLike[str]) -> str:
    """The path GDAL reads directly: ``/vsicurl/`` for HTTP(S), ``/vsis3/`` for S3.

    GDAL then fetches only the byte ranges it needs (HTTP ``Range`` requests),
    never downloading the whole file to a temporary copy.
    """
    text = os.fspath(path)
    scheme = scheme_of(text)
    if scheme in ("http", "https"):
        return "/vsicurl/" + text
    if scheme == "s3":
        return "/vsis3/" + text[len("s3://"):]
    return text


def gdal_options(path: str | os.PathLike[str]) -> dict[str, str]:
    """GDAL configuration options for reading ``path`` (credentials excluded for S3).

    For S3: ``AWS_S3_ENDPOINT`` is the bare host, ``AWS_HTTPS`` follows the
    endpoint's scheme and ``AWS_VIRTUAL_HOSTING=FALSE`` asks for path-style
    addressing (MinIO, and the S3 stand-in of the tests, need it).
    """
    scheme = scheme_of(path)
    if scheme == "file":
        return {}
    options = dict(_GDAL_HTTP_OPTIONS)
    if scheme == "s3":
        settings = s3_settings()
        options.update(
            {
                "AWS_S3_ENDPOINT": settings.host,
                "AWS_HTTPS": "YES" if settings.https else "NO",
                "AWS_VIRTUAL_HOSTING": "FALSE",
                "AWS_REGION": settings.region,
            }
        )
    return options


def _rasterio_s3_session(settings: S3Settings) -> Session:
    """A rasterio session handing fixed S3 credentials to GDAL (no boto3 needed)."""
    from rasterio.session import Session

    class _FixedAWSSession(Session):
        """Credentials taken once from the environment, passed to GDAL as config options."""

        def __init__(self, options: dict[str, str]) -> None:
            self._options = options

        @classmethod
        def hascreds(cls, config: dict[str, Any]) -> bool:
            return ("AWS_ACCESS_KEY_ID" in config and "AWS_SECRET_ACCESS_KEY" in config) or (
                "AWS_NO_SIGN_REQUEST" in config
            )

        def get_credential_options(self) -> dict[str, str]:
            return dict(self._options)

    if settings.anonymous:
        options = {"AWS_NO_SIGN_REQUEST": "YES"}
    else:
        options = {"AWS_ACCESS_KEY_ID": settings.key or "", "AWS_SECRET_ACCESS_KEY": settings.secret or ""}
        if settings.token:
            options["AWS_SESSION_TOKEN"] = settings.token
    return _FixedAWSSession(options)


def gdal_env(path: str | os.PathLike[str]) -> rasterio.Env:
    """A ``rasterio.Env`` with everything GDAL needs to read ``path``.

    Use around ``rasterio.open(gdal_path(path))``; :func:`open_raster` does both.
    """
    import rasterio

    options = gdal_options(path)
    if scheme_of(path) == "s3":
        return rasterio.Env(session=_rasterio_s3_session(s3_settings()), **options)
    return rasterio.Env(**options)


@contextlib.contextmanager
def open_raster(path: str | os.PathLike[str]) -> Iterator[DatasetReader]:
    """Open a raster (GeoTIFF, VRT) wherever it is, as a rasterio dataset.

    Use as a context manager: ``with open_raster(path) as src: ...``; the
    dataset is closed when the block ends.

    Parameters
    ----------
    path : str or os.PathLike
        Local path, ``https://`` URL or ``s3://`` path; GDAL reads remote files
        with range requests.

    Yields
    ------
    rasterio.io.DatasetReader
        The open dataset.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    landcover.errors.DataFileError
        If the file exists but GDAL cannot read it as a raster.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    from landcover.errors import DataFileError

    text = os.fspath(path)
    with gdal_env(text):
        try:
            dataset = rasterio.open(gdal_path(text))
        except RasterioIOError as exc:
            if not exists(text):
                raise _not_found(text, exc) from None
            raise DataFileError(f"cannot read {text} as a raster: {exc}") from exc
        with dataset:
            yield dataset


def is_local(path: str | os.PathLike[str]) -> bool:
    """True for paths on this machine."""
    return not is_remote(os.fspath(path))
