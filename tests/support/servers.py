"""Local stand-ins for the online services, on 127.0.0.1 and free ports.

- :func:`serve_folder`: a static file server with HTTP ``Range`` support
  (Starlette ``StaticFiles`` under uvicorn), the way the real bucket answers
  over HTTPS. GDAL needs ranges: ``python -m http.server`` would not do. Every
  request is logged (method, path, ``Range`` header, status, bytes sent).
- :func:`serve_app`: any ASGI app (an API under test, a fake Nominatim).
- :class:`S3Server`: moto's S3 server, with helpers to create buckets, upload
  folders and produce the ``AWS_*`` variables that make both s3fs and GDAL talk
  to it (``AWS_S3_ENDPOINT=127.0.0.1:port``, ``AWS_HTTPS=NO``,
  ``AWS_VIRTUAL_HOSTING=FALSE``).
- :func:`nominatim_app`: a Starlette app answering ``/search`` like Nominatim.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn


@dataclass
class RequestRecord:
    """One HTTP request seen by a stand-in server."""

    method: str
    path: str
    range: str | None
    status: int = 0
    bytes_sent: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)


class RequestLog:
    """Thread-safe list of :class:`RequestRecord`, with small query helpers."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def for_path(self, suffix: str) -> list[RequestRecord]:
        """Requests whose path ends with ``suffix``."""
        return [r for r in self.records if r.path.endswith(suffix)]

    def bytes_for(self, suffix: str) -> int:
        """Body bytes sent for paths ending with ``suffix``."""
        return sum(r.bytes_sent for r in self.for_path(suffix))


class _LoggingMiddleware:
    """ASGI middleware recording each HTTP request and the bytes of its response body."""

    def __init__(self, app: Any, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        record = RequestRecord(
            scope["method"], scope["path"], headers.get("range"), headers=headers, query=query
        )

        # Logged on arrival and updated before each message goes out, so a client that
        # has its answer always finds the request complete in the log.
        self.log.append(record)

        async def send_and_count(message: dict) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif message["type"] == "http.response.body":
                record.bytes_sent += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, send_and_count)


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread on ``127.0.0.1:<free port>``."""

    def __init__(self, app: Any) -> None:
        self.log = RequestLog()
        self.app = _LoggingMiddleware(app, self.log)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"uvicorn-{self.port}",
        )

    @property
    def url(self) -> str:
        """Base URL, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[BackgroundServer]:
    """Serve an ASGI app for the duration of a ``with`` block; yields the server (``.url``, ``.log``)."""
    server = BackgroundServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def static_app(folder: str | os.PathLike[str]) -> Any:
    """Starlette ``StaticFiles`` over ``folder``: GET/HEAD with ``Range``, no directory listings."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    files = StaticFiles(directory=os.fspath(folder), html=False, follow_symlink=True)
    # Inside an application, a missing file is a plain 404 answer rather than an exception.
    return Starlette(routes=[Mount("/", app=files)])


@contextlib.contextmanager
def serve_folder(folder: str | os.PathLike[str]) -> Iterator[BackgroundServer]:
    """Serve a folder over HTTP with range requests; ``server.url + "/images/..."`` is a file."""
    with serve_app(static_app(folder)) as server:
        yield server


# --- S3 ---------------------------------------------------------------------------------

TEST_KEY = "testing-key"
TEST_SECRET = "testing-secret"
TEST_TOKEN = "testing-token"
TEST_REGION = "us-east-1"


class S3Server:
    """moto's S3 server on ``127.0.0.1:<free port>``."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The variables that point s3fs (through landcover.storage) and GDAL at this server."""
        return {
            "AWS_ACCESS_KEY_ID": TEST_KEY,
            "AWS_SECRET_ACCESS_KEY": TEST_SECRET,
            "AWS_SESSION_TOKEN": TEST_TOKEN,
            "AWS_S3_ENDPOINT": f"{self.host}:{self.port}",
            "AWS_HTTPS": "NO",
            "AWS_VIRTUAL_HOSTING": "FALSE",
            "AWS_REGION": TEST_REGION,
            "AWS_DEFAULT_REGION": TEST_REGION,
        }

    def client(self) -> Any:
        """A boto3 S3 client on this server (test set-up only; the package uses s3fs)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=TEST_KEY,
            aws_secret_access_key=TEST_SECRET,
            aws_session_token=TEST_TOKEN,
            region_name=TEST_REGION,
        )

    def create_bucket(self, bucket: str) -> str:
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
        return bucket

    def upload_folder(
        self,
        folder: str | os.PathLike[str],
        bucket: str,
        prefix: str = "",
        include: Callable[[str], bool] | None = None,
    ) -> str:
        """Upload the files of ``folder`` (those whose relative POSIX path passes ``include``).

        Returns the ``s3://bucket/prefix`` root they now live under.
        """
        self.create_bucket(bucket)
        client = self.client()
        base = Path(folder)
        prefix = prefix.strip("/")
        for path in sorted(base.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(base).as_posix()
            if include is not None and not include(relative):
                continue
            key = f"{prefix}/{relative}" if prefix else relative
            client.upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    def stop(self) -> None:
        self._server.stop()


# --- Nominatim --------------------------------------------------------------------------


def nominatim_app(places: dict[str, tuple[float, float]]) -> Any:
    """A stand-in for Nominatim's ``/search``: ``places`` maps a lower-case query to ``(lon, lat)``.

    Answers like ``format=jsonv2`` (a list of objects with string ``lat``/``lon``),
    an empty list for unknown places, and HTTP 403 without a ``User-Agent``, as the
    real service's policy allows it to.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def search(request: Request) -> JSONResponse:
        if not request.headers.get("user-agent"):
            return JSONResponse({"error": "a User-Agent is required"}, status_code=403)
        query = request.query_params.get("q", "").strip().lower()
        if query == "server error":
            return JSONResponse({"error": "boom"}, status_code=500)
        if query not in places:
            return JSONResponse([])
        lon, lat = places[query]
        return JSONResponse(
            [
                {
                    "place_id": 1,
                    "lat": f"{lat:.7f}",
                    "lon": f"{lon:.7f}",
                    "display_name": query.title(),
                    "category": "boundary",
                    "type": "administrative",
                    "importance": 0.8,
                }
            ]
        )

    return Starlette(routes=[Route("/search", search)])
