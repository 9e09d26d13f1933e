"""Run a stand-in (any ASGI app) on 127.0.0.1 in a background thread, and log what it is asked.

:func:`serve` is the short form (a ``with`` block yielding the base URL);
:class:`StandinServer` keeps the server at hand, with a :class:`RequestLog` of
every request, so a test or a reader can see what a client really sent (GDAL's
ranged GETs, the parameters of a search).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

import uvicorn

#: The ASGI types the server deals in (see the ASGI specification).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class RequestRecord:
    """One HTTP request seen by a stand-in, and what it answered.

    ``headers`` keys are lower case; ``range`` is the ``Range`` header (None
    without one); ``bytes_sent`` counts the response body only.
    """

    method: str
    path: str
    range: str | None
    status: int = 0
    bytes_sent: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)


class RequestLog:
    """The requests a stand-in has seen, in arrival order; safe to read while the server runs."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Add a request (the server does this on arrival)."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget every request seen so far."""
        with self._lock:
            self._records.clear()

    @property
    def records(self) -> list[RequestRecord]:
        """A copy of the requests seen so far."""
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

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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

        async def send_and_count(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif message["type"] == "http.response.body":
                record.bytes_sent += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, send_and_count)


class StandinServer:
    """An ASGI app served by uvicorn in a daemon thread on ``127.0.0.1:<free port>``.

    The port is bound when the object is made, so :attr:`url` is known before
    :meth:`start`. Every HTTP request lands in :attr:`log`. Use it as a context
    manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.log = RequestLog()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        # log_config=None: no logging.config.dictConfig from the server thread, which flushes every
        # handler under the logging lock and can stall a Jupyter kernel for its 10 s flush timeout.
        config = uvicorn.Config(
            _LoggingMiddleware(app, self.log),
            log_level="warning",
            lifespan="off",
            access_log=False,
            log_config=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"standin-{self.port}",
        )

    @property
    def url(self) -> str:
        """Base URL ``http://127.0.0.1:PORT``, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> Self:
        """Start serving; return once the server accepts connections.

        Raises
        ------
        RuntimeError
            When the server has not started within ``timeout`` seconds.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                self._socket.close()
                raise RuntimeError(f"stand-in server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and free the port (waits up to ``timeout`` seconds for the thread)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def serve(app: ASGIApp, timeout: float = 15.0) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 for a ``with`` block; yields its base URL.

    Parameters
    ----------
    app
        An ASGI application, e.g. the ``app()`` of a stand-in.
    timeout
        Seconds to wait for the server to start.

    Yields
    ------
    str
        ``http://127.0.0.1:PORT``, no trailing slash.
    """
    server = StandinServer(app).start(timeout)
    try:
        yield server.url
    finally:
        server.stop()
