"""An S3 server on 127.0.0.1 (moto), for buckets: the data root, a destination, the EO archive.

:class:`S3Server` runs moto's server on a free port and gives the ``AWS_*``
variables that point both s3fs (through :mod:`landcover.storage`) and GDAL at
it; :func:`moto_s3` is the short form, a ``with`` block yielding the endpoint
URL. moto is a test requirement (``requirements-dev.txt``), imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:  # s3fs (and botocore) load only when a file system is made
    from s3fs import S3FileSystem

#: Credentials and region of the stand-in: moto accepts any, these say they are not real.
KEY, SECRET, TOKEN, REGION = "testing-key", "testing-secret", "testing-token", "us-east-1"


class S3Server:
    """moto's S3 server on ``127.0.0.1:<free port>``, started when made; state lives in memory.

    Use it as a context manager, or call :meth:`stop` when done.
    """

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Port 0: the operating system picks a free port, read back once the server listens.
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, for s3fs and boto3 (``endpoint_url=``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The variables that point s3fs (through :mod:`landcover.storage`) and GDAL at this server.

        GDAL wants the endpoint without a scheme (``AWS_S3_ENDPOINT=127.0.0.1:PORT``),
        plain HTTP (``AWS_HTTPS=NO``) and path-style URLs (``AWS_VIRTUAL_HOSTING=FALSE``).
        """
        return {
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN,
            "AWS_S3_ENDPOINT": f"{self.host}:{self.port}",
            "AWS_HTTPS": "NO",
            "AWS_VIRTUAL_HOSTING": "FALSE",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def filesystem(self) -> S3FileSystem:
        """A fresh s3fs file system on this server (see :func:`s3_filesystem`)."""
        return s3_filesystem(self.endpoint_url, KEY, SECRET)

    def create_bucket(self, bucket: str) -> str:
        """Create ``bucket`` unless it exists already; return its name."""
        fs = self.filesystem()
        existing = {b["Name"] for b in fs.call_s3("list_buckets").get("Buckets", [])}
        if bucket not in existing:
            make_bucket(fs, bucket)
        return bucket

    def upload_folder(
        self,
        folder: str | os.PathLike[str],
        bucket: str,
        prefix: str = "",
        include: Callable[[str], bool] | None = None,
    ) -> str:
        """Upload the files under ``folder`` to ``bucket`` (created if needed), keys under ``prefix``.

        Parameters
        ----------
        folder
            The local folder; keys are the files' POSIX paths relative to it.
        bucket, prefix
            Where the files go: ``s3://bucket/prefix/<relative path>``.
        include
            Uploads only the files whose relative path it accepts (default: every file).

        Returns
        -------
        str
            The root the files now live under, ``s3://bucket/prefix`` (``s3://bucket`` without a prefix).

        Raises
        ------
        FileNotFoundError
            When ``folder`` is not a directory.
        """
        base = Path(folder)
        if not base.is_dir():
            raise FileNotFoundError(f"cannot upload {base}: not a directory")
        self.create_bucket(bucket)
        fs = self.filesystem()
        prefix = prefix.strip("/")
        for path in sorted(base.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(base).as_posix()
            if include is not None and not include(relative):
                continue
            key = f"{prefix}/{relative}" if prefix else relative
            # A plain PutObject, as boto3's upload_file sends it: no guessed Content-Type.
            fs.call_s3("put_object", Bucket=bucket, Key=key, Body=path.read_bytes())
        return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    def stop(self) -> None:
        """Stop the server; its buckets are gone."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """Run moto's S3 server for a ``with`` block; yields its endpoint URL ``http://127.0.0.1:PORT``."""
    with S3Server() as server:
        yield server.endpoint_url


def s3_filesystem(endpoint_url: str, key: str = "testing", secret: str = "testing") -> S3FileSystem:
    """An s3fs file system on ``endpoint_url`` with its own credentials (no instance sharing).

    Listings are not cached, so a test sees at once what another client wrote.
    """
    import fsspec

    return fsspec.filesystem(
        "s3",
        key=key,
        secret=secret,
        use_listings_cache=False,
        skip_instance_cache=True,
        client_kwargs={"endpoint_url": endpoint_url, "region_name": REGION},
    )


def make_bucket(fs: S3FileSystem, name: str) -> None:
    """Create a bucket (plain CreateBucket, without the location constraint s3fs would add)."""
    fs.call_s3("create_bucket", Bucket=name)
    fs.invalidate_cache()
