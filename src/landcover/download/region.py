"""The region pipeline: every tile of a NUTS3 region for a year, in the bucket layout.

Steps, in the order :func:`build_region` runs them:

1. Check the arguments (region code, year, output location) before any download.
2. Load the region's outline (GISCO NUTS 2021 level 3, or a local file) and lay
   the 2.5 km grid over it (:mod:`~landcover.download.grid`).
3. Open what a previous run left: tiles that pass validation are kept (and
   counted in the statistics), anything else is rebuilt.
4. Ask the OData catalogue for the L2A products over the region (all pages),
   least cloudy first. Each product is read once; every pending tile it touches
   is warped onto its EPSG:3035 grid and mosaicked. A tile is written as soon as
   no pixel is missing; tiles no product completes are reported and not written.
5. Fetch each tile's CLC+ labels for the same grid (years with a CLC+ product).
6. Write ``filename2bbox.parquet`` and ``metrics-normalization.yaml``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import fsspec
import geopandas as gpd
import requests
import shapely
from shapely.geometry.base import BaseGeometry
from tqdm.auto import tqdm

from landcover.data import paths
from landcover.data.errors import DataFileError, RegionNotFoundError
from landcover.config import cache_dir as nuts_cache_dir
from landcover.data.regions import cached_download_path, gisco_nuts3_url
from landcover.storage import write_bytes_atomic
from landcover.download.grid import TILE_CRS, Tile, TileGrid, region_grid, tiles_over
from landcover.download.patches import TileMosaic
from landcover.download.products import ProductReader, eodata_filesystem
from landcover.download.writer import BandStatistics, RegionOutput
from landcover.sources.clcplus import CLCPLUS_BASE_URL, CLCPLUS_YEARS, fetch_labels
from landcover.sources.http import DEFAULT_TIMEOUT, check_response, new_session, require_online
from landcover.sources.odata import ODATA_CATALOGUE_URL, Product, search_products

log = logging.getLogger(__name__)

#: First year with Sentinel-2 L2A products over Europe in the CDSE archive.
FIRST_L2A_YEAR = 2017
#: Default acquisition window within the year: the summer, as for the published tiles.
DEFAULT_SEASON = ("06-01", "08-31")


@dataclass
class RegionRequest:
    """What to build: a region, a year, where to write it and which services to ask."""

    nuts_id: str
    year: int
    output: str
    start: str | None = None  # YYYY-MM-DD; default June 1st of the year
    end: str | None = None  # YYYY-MM-DD; default August 31st
    max_cloud: float | None = 20.0
    origin: tuple[float, float] | None = None  # (x0, top) in EPSG:3035; default: snapped bounding box
    ncols: int | None = None
    nuts_source: str | None = None  # URL or file; default GISCO (or LANDCOVER_GISCO_NUTS_URL)
    label_year: int | None | Literal["auto"] = "auto"
    catalogue_url: str = ODATA_CATALOGUE_URL
    clcplus_url: str = CLCPLUS_BASE_URL
    max_products: int | None = None
    page_size: int = 100
    progress: bool = True
    cache_dir: str | None = None  # where a downloaded NUTS file is kept (default: LANDCOVER_CACHE_DIR)

    def window(self) -> tuple[str, str]:
        """Start and end dates of the acquisition window."""
        return (
            self.start or f"{self.year}-{DEFAULT_SEASON[0]}",
            self.end or f"{self.year}-{DEFAULT_SEASON[1]}",
        )

    def labels_for(self) -> int | None:
        """The CLC+ year to label with, or ``None`` when the year has no CLC+ product."""
        if self.label_year == "auto":
            return self.year if self.year in CLCPLUS_YEARS else None
        return self.label_year


@dataclass
class RegionReport:
    """What a run did, for the summary and for tests."""

    nuts_id: str
    year: int
    output: str
    tiles: int = 0
    images_kept: int = 0
    images_written: int = 0
    images_redone: int = 0
    labels_kept: int = 0
    labels_written: int = 0
    skipped: list[str] = field(default_factory=list)
    products_found: int = 0
    products_read: list[str] = field(default_factory=list)  # band files copied
    products_used: list[str] = field(default_factory=list)  # gave pixels to a written tile
    index_path: str | None = None
    normalization_path: str | None = None

    def summary(self) -> str:
        lines = [
            f"{self.nuts_id} {self.year} -> {self.output}",
            f"  tiles over the region: {self.tiles}",
            (
                f"  images: {self.images_written} written ({self.images_redone} of them replaced invalid "
                f"files), {self.images_kept} already valid"
            ),
            f"  labels: {self.labels_written} written, {self.labels_kept} already valid",
            (
                f"  products: {self.products_found} found, {len(self.products_read)} read, "
                f"{len(self.products_used)} used in written tiles"
            ),
        ]
        if self.skipped:
            shown = ", ".join(self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
            lines.append(
                f"  skipped (not fully covered by any mix of products): {len(self.skipped)}: {shown}"
            )
        if self.index_path:
            lines.append(f"  index: {self.index_path}")
        return "\n".join(lines)


# -- arguments -----------------------------------------------------------------
def check_year(year: int | str) -> int:
    """A year with Sentinel-2 L2A data (2017 to this year)."""
    try:
        value = paths.validate_year(year)
    except ValueError:
        raise ValueError(f"year={year!r} is not a four-digit year (e.g. 2021)") from None
    this_year = dt.date.today().year
    if not FIRST_L2A_YEAR <= value <= this_year:
        raise ValueError(f"year={value}: Sentinel-2 L2A products exist from {FIRST_L2A_YEAR} to {this_year}")
    return value


def check_window(start: str, end: str) -> None:
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as exc:
        raise ValueError(f"dates must be YYYY-MM-DD (got start={start!r}, end={end!r}): {exc}") from None
    if first > last:
        raise ValueError(f"start={start} is after end={end}")


# -- region outline --------------------------------------------------------------
def _cached_download(url: str, folder: Path, timeout=DEFAULT_TIMEOUT) -> bytes:
    """Bytes of ``url``, kept in ``folder`` so that a resumed run does not fetch them again."""
    cached = cached_download_path(url, folder)
    if cached.exists():
        return cached.read_bytes()
    require_online(url, "the GISCO NUTS download")
    response = check_response(new_session().get(url, timeout=timeout), f"download of {url}")
    write_bytes_atomic(cached, response.content)
    return response.content


def load_region(nuts_id: str, source: str | None = None, cache_dir: Path | None = None) -> BaseGeometry:
    """Outline of a NUTS3 region in EPSG:3035, from a GISCO-style GeoJSON (URL or file).

    ``source`` defaults to GISCO's NUTS 2021 level-3 file
    (:func:`landcover.data.regions.gisco_nuts3_url`); a downloaded copy is kept
    in ``cache_dir`` (default :func:`landcover.config.cache_dir`). Raises
    :class:`~landcover.data.errors.RegionNotFoundError` naming close matches when
    the code is not in the file.
    """
    nuts_id = paths.validate_nuts(nuts_id)
    source = source or gisco_nuts3_url()
    if source.startswith(("http://", "https://")):
        payload = _cached_download(source, cache_dir or nuts_cache_dir())
    else:
        try:
            with fsspec.open(source, "rb") as handle:
                payload = handle.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"NUTS file {source} does not exist") from None
    try:
        frame = gpd.read_file(io.BytesIO(payload))
    except Exception as exc:
        raise DataFileError(f"cannot read NUTS boundaries from {source}: {exc}") from exc
    if "NUTS_ID" not in frame.columns:
        raise DataFileError(f"{source} has no NUTS_ID column: is it a GISCO NUTS file?")
    if frame.crs is None:
        raise DataFileError(f"{source} has no CRS")
    chosen = frame[frame["NUTS_ID"].astype(str).str.upper() == nuts_id.upper()]
    if chosen.empty:
        codes = sorted(frame["NUTS_ID"].astype(str))
        close = difflib.get_close_matches(nuts_id.upper(), codes, n=5)
        hint = f"; close codes: {', '.join(close)}" if close else ""
        raise RegionNotFoundError(f"nuts_id={nuts_id!r} is not in {source} ({len(codes)} regions){hint}")
    geometry = shapely.make_valid(chosen.to_crs(TILE_CRS).union_all())
    if geometry.is_empty:
        raise DataFileError(f"region {nuts_id} in {source} has an empty geometry")
    return geometry


def lonlat(geometry: BaseGeometry, from_crs: str = TILE_CRS) -> BaseGeometry:
    return gpd.GeoSeries([geometry], crs=from_crs).to_crs(4326).iloc[0]


def search_geometry(region: BaseGeometry) -> BaseGeometry:
    """A simple lon/lat outline of the region for the catalogue (convex hull, 100 m buffer)."""
    return lonlat(region.convex_hull.buffer(100).simplify(50))


def footprint_3035(product: Product) -> BaseGeometry | None:
    if product.footprint is None:
        return None
    return gpd.GeoSeries([product.footprint], crs=4326).to_crs(TILE_CRS).iloc[0]


# -- pipeline ----------------------------------------------------------------------
def build_region(
    request: RegionRequest,
    eodata_fs: fsspec.AbstractFileSystem | Callable[[], fsspec.AbstractFileSystem] | None = None,
    output_fs: fsspec.AbstractFileSystem | None = None,
    session: requests.Session | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> RegionReport:
    """Build (or complete) the tiles of ``request``; see the module docstring for the steps.

    ``eodata_fs`` is the EO S3 archive, or a function returning it, called only
    when some tile needs building (default: :func:`eodata_filesystem` from the
    ``EODATA_S3_*`` variables); ``output_fs`` the destination file system
    (default: from the output location and the ``AWS_*`` variables).
    """
    year = check_year(request.year)
    start, end = request.window()
    check_window(start, end)
    output = RegionOutput(request.output, request.nuts_id, year, fs=output_fs)
    output.check_writable()
    label_year = request.labels_for()
    if label_year is not None and label_year not in CLCPLUS_YEARS:
        raise ValueError(
            f"label_year={label_year}: CLC+ Backbone exists for "
            f"{', '.join(map(str, CLCPLUS_YEARS))} only (use None for no labels)"
        )
    session = session or new_session()
    report = RegionReport(nuts_id=output.nuts, year=year, output=output.root)

    region = load_region(
        output.nuts, request.nuts_source, cache_dir=Path(request.cache_dir) if request.cache_dir else None
    )
    grid: TileGrid = region_grid(region, origin=request.origin, ncols=request.ncols)
    tiles = tiles_over(grid, region)
    report.tiles = len(tiles)
    log.info("%s: %d tiles of %d x %d grid", output.nuts, len(tiles), grid.nrows, grid.ncols)

    removed = output.remove_leftovers()
    if removed:
        log.info("removed %d temporary files of an interrupted run", removed)

    # 3. what is already there
    statistics = BandStatistics()
    present_images = output.existing_names(output.images_dir)
    done: dict[str, Tile] = {}
    invalid: set[str] = set()
    for tile in tqdm(tiles, desc="checking existing tiles", disable=not request.progress, leave=False):
        if tile.stem + ".tif" not in present_images:
            continue
        channels = output.read_valid_image(tile)
        if channels is None:
            invalid.add(tile.stem)
            log.warning("tile %s exists but is not valid: it will be rebuilt", tile.stem)
            continue
        statistics.add(channels)
        done[tile.stem] = tile
    report.images_kept = len(done)
    kept = list(done.values())

    def write_label(tile: Tile) -> None:
        if label_year is None:
            return
        if output.has_valid_label(tile):
            report.labels_kept += 1
            return
        labels = fetch_labels(tile.bounds, label_year, base_url=request.clcplus_url, session=session)
        output.write_label(tile, labels)
        report.labels_written += 1

    # 4. products, least cloudy first
    pending = {t.stem: t for t in tiles if t.stem not in done}
    if pending:
        if eodata_fs is None:
            fs = eodata_filesystem()
        elif callable(eodata_fs) and not isinstance(eodata_fs, fsspec.AbstractFileSystem):
            fs = eodata_fs()
        else:
            fs = eodata_fs
        products = search_products(
            search_geometry(region),
            start,
            end,
            max_cloud=request.max_cloud,
            catalogue_url=request.catalogue_url,
            page_size=request.page_size,
            session=session,
        )
        report.products_found = len(products)
        if request.max_products is not None:
            products = products[: request.max_products]  # the least cloudy ones
        log.info("%d products found between %s and %s", len(products), start, end)
        mosaics: dict[str, TileMosaic] = {}
        bar = tqdm(
            total=len(pending),
            desc=f"tiles of {output.nuts} {year}",
            unit="tile",
            disable=not request.progress,
        )
        for product in products:
            if not pending:
                break
            outline = footprint_3035(product)
            touched = [t for t in pending.values() if outline is None or outline.intersects(t.box)]
            if not touched:
                continue
            with ProductReader(product, fs, workdir=workdir, progress=request.progress) as reader:
                report.products_read.append(product.name)
                for tile in touched:
                    mosaic = mosaics.setdefault(tile.stem, TileMosaic(tile))
                    mosaic.add(reader.read_tile(tile), product.name)
                    if not mosaic.complete:
                        continue
                    channels = mosaic.channels()
                    output.write_image(tile, channels)
                    statistics.add(channels)
                    report.images_written += 1
                    report.images_redone += tile.stem in invalid
                    report.products_used.extend(s for s in mosaic.sources if s not in report.products_used)
                    write_label(tile)
                    done[tile.stem] = tile
                    del pending[tile.stem], mosaics[tile.stem]
                    bar.update(1)
        bar.close()
        report.skipped = sorted(pending, key=lambda stem: pending[stem].id)

    # 5. labels of the tiles kept from a previous run
    if label_year is None:
        log.info("no CLC+ Backbone product for %s: no labels written", year)
    for tile in tqdm(
        kept, desc="labels of kept tiles", disable=not request.progress or not kept, leave=False
    ):
        write_label(tile)
    finished = sorted(done.values(), key=lambda t: t.id)

    # 6. index and statistics
    if finished:
        report.index_path = output.write_index(finished)
        report.normalization_path = output.write_normalization(statistics)
    return report
