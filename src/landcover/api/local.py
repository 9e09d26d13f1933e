"""The API as a local process, for a notebook or a test: start it, wait until it answers, stop it.

The book's chapters call a running API. When no address is configured
(``LANDCOVER_API_URL``), they start one here, as its own process
(``python -m landcover.api`` on 127.0.0.1 and a free port): predictions then
run outside the notebook's kernel, and stopping it frees its memory. The
process is stopped by :meth:`LocalApi.stop`, at the end of a ``with`` block,
or when Python exits.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests

#: Where a deployed API is, when one is (the chapters then call it instead of starting one).
API_URL_VARIABLE = "LANDCOVER_API_URL"
#: How long a fresh process may take to load its model and answer ``/health`` (seconds).
START_TIMEOUT_S = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalApi:
    """A ``python -m landcover.api`` process on 127.0.0.1 and its base URL."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    _registered: bool = field(default=False, repr=False)

    @property
    def running(self) -> bool:
        """Whether the process is still alive (always True for an API started elsewhere)."""
        return self.process is None or self.process.poll() is None

    def stop(self) -> None:
        """Stop the process (politely, then by force after 15 s); nothing for an API started elsewhere."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> LocalApi:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def start_local_api(
    *,
    data_root: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    store: str | os.PathLike[str] | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log: str | os.PathLike[str] | None = None,
    log_level: str | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> LocalApi:
    """The API to call: the deployed one named by ``LANDCOVER_API_URL``, else a new local process.

    Parameters
    ----------
    data_root, model, store
        Passed to ``python -m landcover.api`` (``--data-root``, ``--model``, ``--store``);
        by default the process inherits the environment's settings, as the notebook has them.
    port
        The port on 127.0.0.1 (default: a free one).
    env
        Variables added to the process's environment (e.g. S3 credentials).
    log, log_level
        Where the process writes its output (default: a temporary file), and uvicorn's level.
    timeout_s
        How long to wait for ``/health`` (the model is loaded at start-up).

    Returns
    -------
    LocalApi
        Its ``url``; ``stop()`` it when done (it is stopped at exit anyway).

    Raises
    ------
    RuntimeError
        When the process exits early or does not answer in time (the message quotes its log).
    """
    configured = os.environ.get(API_URL_VARIABLE, "").strip()
    if configured:
        return LocalApi(configured.rstrip("/"))
    port = _free_port() if port is None else int(port)
    command = [sys.executable, "-m", "landcover.api", "--host", "127.0.0.1", "--port", str(port)]
    options = (("--data-root", data_root), ("--model", model), ("--store", store), ("--log-level", log_level))
    for option, value in options:
        if value is not None:
            command += [option, os.fspath(value)]
    log = Path(tempfile.mkstemp(prefix="landcover-api-", suffix=".log")[1]) if log is None else Path(log)
    environment = {**os.environ, **(env or {})}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    api = LocalApi(f"http://127.0.0.1:{port}", process, log)
    atexit.register(api.stop)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{api.url}/health", timeout=5).status_code == 200:
                return api
        except requests.RequestException:
            pass
        time.sleep(0.25)
    api.stop()
    raise RuntimeError(f"the API did not answer {api.url}/health within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")
