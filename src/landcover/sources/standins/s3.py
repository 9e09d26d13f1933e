"""An S3 server on 127.0.0.1 (moto), for the destination bucket and the EO archive of the tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """Run moto's S3 server; yields its endpoint URL ``http://127.0.0.1:PORT``."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_filesystem(endpoint_url: str, key: str = "testing", secret: str = "testing"):
    """An s3fs file system on ``endpoint_url`` with its own credentials (no instance sharing)."""
    import fsspec

    return fsspec.filesystem(
        "s3",
        key=key,
        secret=secret,
        use_listings_cache=False,
        skip_instance_cache=True,
        client_kwargs={"endpoint_url": endpoint_url, "region_name": "us-east-1"},
    )


def make_bucket(fs, name: str) -> None:
    """Create a bucket (plain CreateBucket, without the location constraint s3fs would add)."""
    fs.call_s3("create_bucket", Bucket=name)
    fs.invalidate_cache()
