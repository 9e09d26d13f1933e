"""Which NUTS3 regions and years the data root holds, and the NUTS3 outlines themselves.

Local folders and S3 buckets can be listed. An HTTPS server cannot, so there the
published region table is checked entry by entry (does its tile index exist?),
which also makes synthetic data served over HTTP list only its own regions.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from landcover.config import cache_dir, data_root, online_allowed
from landcover.data.paths import (
    GISCO_NUTS3_URL,
    NUTS3_FILENAME,
    images_prefix,
    index_path,
    nuts_file_path,
    validate_nuts,
)
from landcover.errors import DataFileError, OnlineAccessDisabled, RegionNotFoundError
from landcover.storage import exists, list_dirs, read_bytes, scheme_of, write_bytes_atomic

#: Years of the pre-processed tiles.
YEARS: tuple[int, ...] = (2018, 2021, 2024)

#: Environment variables: where GISCO's NUTS file is fetched from (tests point it
#: at a local stand-in) and where downloads are cached.
GISCO_URL_VARIABLE = "LANDCOVER_GISCO_NUTS_URL"

NUTS_CRS = "EPSG:3035"


@dataclass(frozen=True)
class PublishedRegion:
    """One row of the published table of pre-processed regions."""

    nuts_id: str
    country: str
    years: tuple[int, ...]


_ALL = YEARS
#: The regions published in the real bucket ("Available regions" of the original chapter 1).
PUBLISHED_REGIONS: tuple[PublishedRegion, ...] = (
    PublishedRegion("AT332", "Austria", _ALL),
    PublishedRegion("BE100", "Belgium", _ALL),
    PublishedRegion("BE251", "Belgium", _ALL),
    PublishedRegion("BG322", "Bulgaria", _ALL),
    PublishedRegion("CY000", "Cyprus", (2021, 2024)),
    PublishedRegion("CZ072", "Czechia", (2021, 2024)),
    PublishedRegion("DEA54", "Germany", _ALL),
    PublishedRegion("DK041", "Denmark", (2018, 2024)),
    PublishedRegion("EE00A", "Estonia", _ALL),
    PublishedRegion("EL521", "Greece", _ALL),
    PublishedRegion("ES612", "Spain", _ALL),
    PublishedRegion("FI1C1", "Finland", _ALL),
    PublishedRegion("FRJ27", "France", _ALL),
    PublishedRegion("FRK26", "France", _ALL),
    PublishedRegion("HR050", "Croatia", _ALL),
    PublishedRegion("IE061", "Ireland", (2018, 2021)),
    PublishedRegion("ITI32", "Italy", _ALL),
    PublishedRegion("LT028", "Lithuania", _ALL),
    PublishedRegion("LU000", "Luxembourg", _ALL),
    PublishedRegion("LV008", "Latvia", _ALL),
    PublishedRegion("MT001", "Malta", _ALL),
    PublishedRegion("NL33C", "Netherlands", _ALL),
    PublishedRegion("PL414", "Poland", _ALL),
    PublishedRegion("PT16I", "Portugal", _ALL),
    PublishedRegion("RO123", "Romania", _ALL),
    PublishedRegion("SE311", "Sweden", _ALL),
    PublishedRegion("SI035", "Slovenia", _ALL),
    PublishedRegion("SK022", "Slovakia", _ALL),
    PublishedRegion("UKJ22", "United Kingdom", _ALL),
    PublishedRegion("UKRAINE", "Ukraine", _ALL),
)
_PUBLISHED = {r.nuts_id: r for r in PUBLISHED_REGIONS}


def region_table() -> pd.DataFrame:
    """The published region table: ``nuts_id``, ``country``, ``years``."""
    return pd.DataFrame(
        {
            "nuts_id": [r.nuts_id for r in PUBLISHED_REGIONS],
            "country": [r.country for r in PUBLISHED_REGIONS],
            "years": [list(r.years) for r in PUBLISHED_REGIONS],
        }
    )


def _is_http(root: str) -> bool:
    return scheme_of(root) in ("http", "https")


def _years_with_index(nuts: str, years: Iterable[int], root: str) -> list[int]:
    found = [y for y in years if exists(index_path(nuts, y, root))]
    return sorted(found)


def available_years(nuts: str, root: str | None = None) -> list[int]:
    """Years with tiles for a region (empty when the region is absent).

    Local and S3 roots are listed (four-digit folders under ``images/{nuts}/``);
    over HTTPS each candidate year is checked for a ``filename2bbox.parquet``.
    """
    nuts = validate_nuts(nuts)
    location = data_root() if root is None else root
    if _is_http(location):
        candidates = _PUBLISHED[nuts].years if nuts in _PUBLISHED else YEARS
        return _years_with_index(nuts, candidates, location)
    try:
        names = list_dirs(images_prefix(nuts, root=location))
    except FileNotFoundError:
        return []
    return sorted(int(n) for n in names if len(n) == 4 and n.isdigit())


def list_regions(root: str | None = None) -> list[str]:
    """NUTS3 codes with tiles under the data root, sorted.

    Local and S3 roots are listed (folders of ``images/``). Over HTTPS, where no
    listing exists, each region of :data:`PUBLISHED_REGIONS` is kept when one of
    its ``filename2bbox.parquet`` files exists.
    """
    location = data_root() if root is None else root
    if _is_http(location):

        def present(region: PublishedRegion) -> bool:
            return any(exists(index_path(region.nuts_id, y, location)) for y in region.years)

        with ThreadPoolExecutor(max_workers=8) as pool:
            flags = list(pool.map(present, PUBLISHED_REGIONS))
        return sorted(r.nuts_id for r, keep in zip(PUBLISHED_REGIONS, flags) if keep)
    prefix = images_prefix(root=location)
    try:
        names = list_dirs(prefix)
    except FileNotFoundError:
        error = FileNotFoundError(f"no images folder at {prefix}: is the data root {location} right?")
        raise error from None
    regions = []
    for name in names:
        try:
            regions.append(validate_nuts(name))
        except ValueError:
            continue
    return regions


# --- NUTS3 outlines -------------------------------------------------------------------


def gisco_nuts3_url() -> str:
    """Where GISCO's NUTS 2021 level-3 GeoJSON (EPSG:3035) is downloaded from."""
    return os.environ.get(GISCO_URL_VARIABLE, "").strip() or GISCO_NUTS3_URL


def cached_download_path(url: str, folder: Path | None = None) -> Path:
    """Where the downloaded copy of ``url`` is kept: ``{folder}/{hash of the URL}-{file name}``.

    ``folder`` defaults to :func:`cache_dir`. The chapters (:func:`load_nuts3`)
    and the region download (:func:`read_nuts`) both look here, so the GISCO
    file is fetched once for both.
    """
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    name = url.rstrip("/").rsplit("/", 1)[-1] or NUTS3_FILENAME
    return (cache_dir() if folder is None else folder) / f"{digest}-{name}"


def _download(url: str, target: Path, timeout: float = 120.0) -> bytes:
    """Fetch ``url`` and keep a copy at ``target`` (written under a temporary name, then renamed).

    Any failure, no answer or an HTTP error status, raises ``ConnectionError``
    naming the URL and the reason, so callers need not know ``requests``.
    ``timeout`` is in seconds.
    """
    import requests

    try:
        response = requests.get(url, timeout=timeout, headers={"User-Agent": "landcover-book/0.1"})
        response.raise_for_status()
    except requests.RequestException as exc:
        raise ConnectionError(f"could not download the NUTS3 boundaries from {url}: {exc}") from exc
    payload = response.content
    write_bytes_atomic(target, payload)
    return payload


_nuts_cache: dict[tuple[str, int], gpd.GeoDataFrame] = {}
_nuts_lock = threading.Lock()


def _parse_nuts(payload: bytes, source: str) -> gpd.GeoDataFrame:
    """NUTS boundaries from the bytes of a vector file, checked and reprojected to EPSG:3035.

    The last file parsed is memoised (parsing GISCO's file takes seconds).
    Raises :class:`DataFileError` naming ``source`` when the bytes are not a
    vector file, have no ``NUTS_ID`` column or have no CRS: coordinates without
    a CRS could be metres or degrees, and guessing would misplace every region.
    """
    key = (source, hash(payload))
    with _nuts_lock:
        if key in _nuts_cache:
            return _nuts_cache[key]
    try:
        frame = gpd.read_file(io.BytesIO(payload))
    except Exception as exc:
        raise DataFileError(f"cannot read NUTS boundaries from {source}: {exc}") from exc
    if "NUTS_ID" not in frame.columns:
        raise DataFileError(f"NUTS boundaries {source} have no NUTS_ID column; found {list(frame.columns)}")
    if frame.crs is None:
        raise DataFileError(
            f"NUTS boundaries {source} have no CRS, so their coordinates cannot be placed; "
            f"write the file with its CRS (GISCO's is {NUTS_CRS})"
        )
    if frame.crs.to_epsg() != 3035:
        frame = frame.to_crs(NUTS_CRS)
    frame.attrs["source"] = source
    with _nuts_lock:
        _nuts_cache.clear()  # one file at a time: the GISCO one is large
        _nuts_cache[key] = frame
    return frame


def read_nuts(source: str, folder: Path | None = None, *, download: bool | None = None) -> gpd.GeoDataFrame:
    """NUTS boundaries in EPSG:3035 from a GISCO-style vector file: a URL, a local path or ``s3://``.

    A ``http(s)://`` source is downloaded once and kept at
    :func:`cached_download_path` (``folder`` defaults to :func:`cache_dir`), so
    the chapters and the region download share one copy. ``download`` says
    whether a missing copy may be fetched; it defaults to
    :func:`~landcover.config.online_allowed` (``LANDCOVER_ONLINE=1``), and the
    region download also allows it for local stand-ins on 127.0.0.1.
    ``frame.attrs["source"]`` says where the outlines came from.

    Raises
    ------
    FileNotFoundError
        ``source`` is a path and no file is there.
    OnlineAccessDisabled
        ``source`` is a URL, no copy is cached and downloading is not allowed.
    ConnectionError
        The download failed (no answer, or an HTTP error status).
    DataFileError
        The file is not a vector file, has no ``NUTS_ID`` column or no CRS.
    """
    if scheme_of(source) in ("http", "https"):
        cached = cached_download_path(source, folder)
        if cached.exists():
            return _parse_nuts(cached.read_bytes(), str(cached))
        if not (online_allowed() if download is None else download):
            raise OnlineAccessDisabled(
                f"the NUTS3 boundaries at {source} are not in the cache ({cached}) and downloading them "
                "needs the internet; set LANDCOVER_ONLINE=1 (environment or .env) to allow it"
            )
        return _parse_nuts(_download(source, cached), source)
    try:
        payload = read_bytes(source)
    except FileNotFoundError:
        raise FileNotFoundError(f"NUTS file {source} does not exist") from None
    return _parse_nuts(payload, source)


def load_nuts3(region_ids: str | Iterable[str] | None = None, root: str | None = None) -> gpd.GeoDataFrame:
    """NUTS 2021 level-3 outlines in EPSG:3035 (``NUTS_ID``, ``NUTS_NAME``, ``CNTR_CODE``, ...).

    Taken from ``{root}/nuts/NUTS_RG_01M_2021_3035_LEVL_3.geojson`` when the
    data root has it (the synthetic data does), else from a copy downloaded earlier, else
    from Eurostat GISCO, which needs ``LANDCOVER_ONLINE=1`` (:func:`read_nuts`
    does the reading and the download). ``region_ids`` keeps only the listed
    regions, in that order. ``frame.attrs["source"]`` says where the outlines
    came from.

    Raises
    ------
    OnlineAccessDisabled
        The outlines are neither in the data root nor cached, and online access is off.
    RegionNotFoundError
        One of ``region_ids`` is not in the outlines (the message lists them).
    DataFileError
        The outlines file is unreadable, has no ``NUTS_ID`` column or no CRS.
    """
    location = nuts_file_path(root)
    if exists(location):  # part of the data root, whatever its scheme: read, not downloaded and cached
        frame = _parse_nuts(read_bytes(location), location)
    else:
        url = gisco_nuts3_url()
        if not (cached_download_path(url).exists() or online_allowed()):
            raise OnlineAccessDisabled(
                f"NUTS3 boundaries are not in the data root ({location}) and fetching them from "
                f"Eurostat GISCO ({url}) needs the internet. Set LANDCOVER_ONLINE=1 (environment "
                "or .env) to allow the download, or put the GeoJSON file at that path."
            )
        frame = read_nuts(url)
    frame = frame.copy()
    frame.attrs["source"] = frame.attrs.get("source", location)
    if region_ids is None:
        return frame
    wanted = [region_ids] if isinstance(region_ids, str) else list(region_ids)
    unknown = [r for r in wanted if r not in set(frame["NUTS_ID"])]
    if unknown:
        raise RegionNotFoundError(
            f"region_ids {unknown} are not in the NUTS3 boundaries of {frame.attrs['source']}"
        )
    selected = frame.set_index("NUTS_ID", drop=False).loc[wanted].reset_index(drop=True)
    selected.attrs["source"] = frame.attrs["source"]
    return selected


@lru_cache(maxsize=8)
def _from_wgs84(crs: str) -> Any:
    """A cached pyproj transformer from WGS84 longitude/latitude to ``crs``."""
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def nuts3_at(lon: float, lat: float, nuts: gpd.GeoDataFrame | None = None, root: str | None = None) -> str:
    """The NUTS3 code of the region containing a WGS84 point (longitude first).

    The point is reprojected to the outlines' CRS (EPSG:3035) and looked up in
    their spatial index (``nuts``, or :func:`load_nuts3`).
    """
    from shapely.geometry import Point

    lon, lat = float(lon), float(lat)
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"lon={lon} is not a longitude in degrees (-180..180)")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"lat={lat} is not a latitude in degrees (-90..90)")
    boundaries = load_nuts3(root=root) if nuts is None else nuts
    x, y = _from_wgs84(str(boundaries.crs or NUTS_CRS)).transform(lon, lat)
    # The outlines' spatial index (built once per GeoDataFrame and kept by GeoPandas) finds the
    # region in microseconds; the API answers many points against the same outlines.
    hits = boundaries.sindex.query(Point(x, y), predicate="within")
    if len(hits) == 0:
        source = boundaries.attrs.get("source", "the NUTS3 boundaries")
        raise RegionNotFoundError(
            f"no NUTS3 region of {source} contains lon={lon}, lat={lat} "
            "(longitude comes first; the synthetic data covers only a few regions)"
        )
    return str(boundaries["NUTS_ID"].iloc[int(min(hits))])
