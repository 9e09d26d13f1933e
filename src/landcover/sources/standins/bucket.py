"""Stand-in for the data bucket over HTTPS: a local folder served with HTTP ``Range`` support.

GDAL reads a GeoTIFF over HTTP by ranged GETs, as it does from the real bucket
(``https://minio.lab.sspcloud.fr/...``), so the server must answer ``Range``
with ``206 Partial Content``: ``python -m http.server`` would not do. Starlette's
``StaticFiles`` does, and lists no directories, like the bucket's HTTPS face.

    from landcover.sources.standins.bucket import serve_folder
    with serve_folder("data/synthetic") as server:
        os.environ["LANDCOVER_DATA_ROOT"] = server.url
        server.log.for_path(".tif")   # what GDAL asked for
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from landcover.sources.standins.server import StandinServer


def static_app(folder: str | os.PathLike[str]) -> Starlette:
    """An app answering GET and HEAD (with ``Range``) for the files under ``folder``; 404 for the rest.

    Raises
    ------
    RuntimeError
        When ``folder`` does not exist (Starlette's message names it).
    """
    files = StaticFiles(directory=os.fspath(folder), html=False, follow_symlink=True)
    # Inside an application, a missing file is a plain 404 answer rather than an exception.
    return Starlette(routes=[Mount("/", app=files)])


@contextlib.contextmanager
def serve_folder(folder: str | os.PathLike[str]) -> Iterator[StandinServer]:
    """Serve ``folder`` on 127.0.0.1 for a ``with`` block: ``server.url + "/images/..."`` is a file.

    Yields
    ------
    StandinServer
        The running server: ``.url`` is the data root to use, ``.log`` the requests it saw.
    """
    with StandinServer(static_app(folder)) as server:
        yield server
