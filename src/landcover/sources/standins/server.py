"""Run a Starlette app on 127.0.0.1 in a background thread, for as long as a ``with`` block lasts."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn


@contextlib.contextmanager
def serve(app, timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields its base URL ``http://127.0.0.1:PORT``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: no logging.config.dictConfig from the server thread, which flushes every
    # handler under the logging lock and can stall a Jupyter kernel for its 10 s flush timeout.
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"standin-{port}"
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"stand-in server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
