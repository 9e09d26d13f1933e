"""The region pipeline: every tile of a NUTS3 region for a year, in the bucket layout.

:func:`build_region` runs these steps, each a named function or method below:

1. Check the request (year, dates, label year), then the output location,
   before any download (:func:`check_request`).
2. Plan the tiles: load the region's outline (GISCO NUTS 2021 level 3, or a
   local file, read by :func:`landcover.data.regions.read_nuts`) and keep the
   tiles of the 2.5 km EPSG:3035 grid that share some area with it
   (:func:`plan_tiles`).
3. Keep what a previous run left: tiles that pass validation are kept (and
   counted in the statistics), anything else is rebuilt (``keep_valid_tiles``).
4. Choose the products: the L2A products over the region in the OData
   catalogue (all pages), least cloudy first (``choose_products``). Each
   product is read once; every pending tile it touches is warped onto its
   EPSG:3035 grid and mosaicked (``fill_tiles``). A tile is written as soon as
   no pixel is missing (``finish_tile``); tiles no product completes are
   reported and not written.
5. Write each tile's CLC+ labels for the same grid, in years with a CLC+
   product (``write_label``, also for the tiles kept in step 3).
6. Write ``filename2bbox.parquet`` and ``metrics-normalization.yaml``
   (``write_index_files``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import fsspec
import geopandas as gpd
import numpy as np
import requests
import shapely
from shapely.geometry.base import BaseGeometry
from tqdm.auto import tqdm

from landcover.config import online_allowed
from landcover.data import paths
from landcover.data.grid import TILE_CRS, Tile, TileGrid, region_grid
from landcover.data.regions import gisco_nuts3_url, read_nuts
from landcover.download.patches import TileMosaic
from landcover.download.products import ProductReader, eodata_filesystem
from landcover.download.writer import BandStatistics, RegionOutput
from landcover.errors import DataFileError, RegionNotFoundError
from landcover.sources.clcplus import CLCPLUS_BASE_URL, CLCPLUS_YEARS, fetch_labels
from landcover.sources.http import is_loopback, new_session
from landcover.sources.odata import ODATA_CATALOGUE_URL, Product, search_products

log = logging.getLogger(__name__)

#: First year with Sentinel-2 L2A products over Europe in the CDSE archive.
FIRST_L2A_YEAR = 2017
#: Default acquisition window within the year: the summer, as for the published tiles.
DEFAULT_SEASON = ("06-01", "08-31")

#: The EO archive as given to :func:`build_region`: a file system, a function making one, or ``None``.
EodataSource = fsspec.AbstractFileSystem | Callable[[], fsspec.AbstractFileSystem] | None


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
        """A few lines for the terminal: tiles, images and labels written or kept, products, skipped tiles."""
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


# -- 1. the request --------------------------------------------------------------
def check_year(year: int | str) -> int:
    """A year with Sentinel-2 L2A data (2017 to this year); ``ValueError`` naming ``year`` otherwise."""
    try:
        value = paths.validate_year(year)
    except ValueError:
        raise ValueError(f"year={year!r} is not a four-digit year (e.g. 2021)") from None
    this_year = dt.date.today().year
    if not FIRST_L2A_YEAR <= value <= this_year:
        raise ValueError(f"year={value}: Sentinel-2 L2A products exist from {FIRST_L2A_YEAR} to {this_year}")
    return value


def check_window(start: str, end: str) -> None:
    """Refuse an acquisition window that is not two ISO dates (YYYY-MM-DD) in order."""
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as exc:
        raise ValueError(f"dates must be YYYY-MM-DD (got start={start!r}, end={end!r}): {exc}") from None
    if first > last:
        raise ValueError(f"start={start} is after end={end}")


def check_request(request: RegionRequest) -> tuple[int, tuple[str, str], int | None]:
    """The request's year, acquisition window and CLC+ label year, checked before anything is fetched.

    Raises ``ValueError`` naming the parameter: a year without L2A products,
    dates out of order, or a label year CLC+ Backbone does not have.
    """
    year = check_year(request.year)
    start, end = request.window()
    check_window(start, end)
    label_year = request.labels_for()
    if label_year is not None and label_year not in CLCPLUS_YEARS:
        raise ValueError(
            f"label_year={label_year}: CLC+ Backbone exists for "
            f"{', '.join(map(str, CLCPLUS_YEARS))} only (use None for no labels)"
        )
    return year, (start, end), label_year


# -- 2. the tiles over the region ------------------------------------------------------
def load_region(nuts_id: str, source: str | None = None, cache_dir: Path | None = None) -> BaseGeometry:
    """Outline of a NUTS3 region in EPSG:3035, from a GISCO-style vector file (URL or file).

    ``source`` defaults to GISCO's NUTS 2021 level-3 file
    (:func:`landcover.data.regions.gisco_nuts3_url`). The file is read by
    :func:`landcover.data.regions.read_nuts`, the loader the chapters use, so a
    downloaded copy is shared with them (kept in ``cache_dir``, default
    :func:`landcover.config.cache_dir`) and a file without a CRS is refused.

    Raises
    ------
    RegionNotFoundError
        The code is not in the file; the message names close matches.
    DataFileError
        The file is unreadable, has no ``NUTS_ID`` column or CRS, or the region is empty.
    FileNotFoundError
        ``source`` is a path and no file is there.
    OnlineAccessDisabled
        ``source`` is on the internet, not cached, and online access is off.
    ConnectionError
        ``source`` is a URL and the download failed.
    """
    nuts_id = paths.validate_nuts(nuts_id)
    source = source or gisco_nuts3_url()
    # The same consent rule as every service of the pipeline: stand-ins on 127.0.0.1 need none.
    frame = read_nuts(source, cache_dir, download=is_loopback(source) or online_allowed())
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


def tiles_over(grid: TileGrid, region: BaseGeometry) -> list[Tile]:
    """Tiles of ``grid`` that share some area with ``region`` (EPSG:3035); touching edges do not count."""
    candidates = grid.tiles()
    boxes = np.array([t.box for t in candidates], dtype=object)
    shapely.prepare(region)
    keep = shapely.intersects(region, boxes) & ~shapely.touches(region, boxes)
    return [tile for tile, hit in zip(candidates, keep, strict=True) if hit]


@dataclass(frozen=True)
class TilePlan:
    """The region's outline, its grid and the tiles to build (all EPSG:3035)."""

    region: BaseGeometry
    grid: TileGrid
    tiles: list[Tile]


def plan_tiles(request: RegionRequest) -> TilePlan:
    """The tiles ``request`` covers: its region's outline with the 2.5 km grid laid over it.

    The grid starts at ``request.origin`` with ``request.ncols`` columns when
    given (to reproduce published tile names), else at the region's bounds.
    """
    region = load_region(
        request.nuts_id, request.nuts_source, cache_dir=Path(request.cache_dir) if request.cache_dir else None
    )
    grid = region_grid(region, origin=request.origin, ncols=request.ncols)
    return TilePlan(region=region, grid=grid, tiles=tiles_over(grid, region))


# -- 4. products -------------------------------------------------------------------
def lonlat(geometry: BaseGeometry, from_crs: str = TILE_CRS) -> BaseGeometry:
    """``geometry`` reprojected from ``from_crs`` (default EPSG:3035) to lon/lat (EPSG:4326)."""
    return gpd.GeoSeries([geometry], crs=from_crs).to_crs(4326).iloc[0]


def search_geometry(region: BaseGeometry) -> BaseGeometry:
    """A simple lon/lat outline of the region for the catalogue (convex hull, 100 m buffer)."""
    return lonlat(region.convex_hull.buffer(100).simplify(50))


def footprint_3035(product: Product) -> BaseGeometry | None:
    """The product's footprint (lon/lat in the catalogue) in EPSG:3035, or ``None`` when it has none."""
    if product.footprint is None:
        return None
    return gpd.GeoSeries([product.footprint], crs=4326).to_crs(TILE_CRS).iloc[0]


def tiles_touched(product: Product, tiles: Iterable[Tile]) -> list[Tile]:
    """The ``tiles`` the product's footprint meets (all of them when the catalogue gave no footprint)."""
    outline = footprint_3035(product)
    return [t for t in tiles if outline is None or outline.intersects(t.box)]


def open_eodata(eodata_fs: EodataSource) -> fsspec.AbstractFileSystem:
    """The EO archive's file system, opened only once some tile needs building.

    ``eodata_fs`` itself, what it returns when it is a function, or
    :func:`eodata_filesystem` from the ``EODATA_S3_*`` variables when ``None``.
    """
    if eodata_fs is None:
        return eodata_filesystem()
    if callable(eodata_fs) and not isinstance(eodata_fs, fsspec.AbstractFileSystem):
        return eodata_fs()
    return eodata_fs


# -- the pipeline ------------------------------------------------------------------------
@dataclass
class _RegionRun:
    """What the steps of one :func:`build_region` run share: where to write and what was done."""

    request: RegionRequest
    output: RegionOutput
    label_year: int | None
    session: requests.Session
    report: RegionReport
    statistics: BandStatistics = field(default_factory=BandStatistics)
    done: dict[str, Tile] = field(default_factory=dict)  # stem -> tile with a valid image
    invalid: set[str] = field(default_factory=set)  # stems whose existing image failed validation

    def keep_valid_tiles(self, tiles: list[Tile]) -> list[Tile]:
        """Step 3: the tiles whose image a previous run wrote and which pass validation.

        Their channels enter the statistics; an existing file that fails
        validation is noted in ``invalid`` and rebuilt.
        """
        present = self.output.existing_names(self.output.images_dir)
        for tile in tqdm(
            tiles, desc="checking existing tiles", disable=not self.request.progress, leave=False
        ):
            if tile.stem + ".tif" not in present:
                continue
            channels = self.output.read_valid_image(tile)
            if channels is None:
                self.invalid.add(tile.stem)
                log.warning("tile %s exists but is not valid: it will be rebuilt", tile.stem)
                continue
            self.statistics.add(channels)
            self.done[tile.stem] = tile
        self.report.images_kept = len(self.done)
        return list(self.done.values())

    def choose_products(self, region: BaseGeometry, start: str, end: str) -> list[Product]:
        """Step 4a: the catalogue's L2A products over ``region`` in the window, least cloudy first.

        Cut to ``request.max_products`` (the least cloudy ones) when given.
        """
        products = search_products(
            search_geometry(region),
            start,
            end,
            max_cloud=self.request.max_cloud,
            catalogue_url=self.request.catalogue_url,
            page_size=self.request.page_size,
            session=self.session,
        )
        self.report.products_found = len(products)
        if self.request.max_products is not None:
            products = products[: self.request.max_products]
        log.info("%d products found between %s and %s", len(products), start, end)
        return products

    def fill_tiles(
        self,
        pending: list[Tile],
        products: list[Product],
        fs: fsspec.AbstractFileSystem,
        workdir: str | os.PathLike[str] | None = None,
    ) -> None:
        """Step 4b: mosaic the products, in order, into the pending tiles; write each once complete.

        Each product's bands are copied once and serve every pending tile its
        footprint touches; a later product only fills pixels still empty. The
        tiles left incomplete go to ``report.skipped``.
        """
        waiting = {t.stem: t for t in pending}
        mosaics: dict[str, TileMosaic] = {}
        with tqdm(
            total=len(waiting),
            desc=f"tiles of {self.output.nuts} {self.output.year}",
            unit="tile",
            disable=not self.request.progress,
        ) as bar:
            for product in products:
                if not waiting:
                    break
                touched = tiles_touched(product, waiting.values())
                if not touched:
                    continue
                with ProductReader(product, fs, workdir=workdir, progress=self.request.progress) as reader:
                    self.report.products_read.append(product.name)
                    for tile in touched:
                        mosaic = mosaics.setdefault(tile.stem, TileMosaic(tile))
                        mosaic.add(reader.read_tile(tile), product.name)
                        if mosaic.complete:
                            self.finish_tile(mosaic)
                            del waiting[tile.stem], mosaics[tile.stem]
                            bar.update(1)
        self.report.skipped = sorted(waiting, key=lambda stem: waiting[stem].id)

    def finish_tile(self, mosaic: TileMosaic) -> None:
        """Step 4c: write a complete tile's 14 channels and its labels, and count it."""
        tile, report = mosaic.tile, self.report
        channels = mosaic.channels()
        self.output.write_image(tile, channels)
        self.statistics.add(channels)
        report.images_written += 1
        report.images_redone += tile.stem in self.invalid
        report.products_used.extend(s for s in mosaic.sources if s not in report.products_used)
        self.write_label(tile)
        self.done[tile.stem] = tile

    def write_label(self, tile: Tile) -> None:
        """Step 5: fetch and write the tile's CLC+ labels unless valid ones exist (or the year has none)."""
        if self.label_year is None:
            return
        if self.output.has_valid_label(tile):
            self.report.labels_kept += 1
            return
        labels = fetch_labels(
            tile.bounds, self.label_year, base_url=self.request.clcplus_url, session=self.session
        )
        self.output.write_label(tile, labels)
        self.report.labels_written += 1

    def label_kept_tiles(self, kept: list[Tile]) -> None:
        """Step 5 for the tiles kept from a previous run (their labels may be missing)."""
        if self.label_year is None:
            log.info("no CLC+ Backbone product for %s: no labels written", self.output.year)
        progress = self.request.progress and bool(kept)
        for tile in tqdm(kept, desc="labels of kept tiles", disable=not progress, leave=False):
            self.write_label(tile)

    def write_index_files(self) -> None:
        """Step 6: ``filename2bbox.parquet`` (tiles in id order) and ``metrics-normalization.yaml``."""
        finished = sorted(self.done.values(), key=lambda t: t.id)
        if finished:
            self.report.index_path = self.output.write_index(finished)
            self.report.normalization_path = self.output.write_normalization(self.statistics)


def build_region(
    request: RegionRequest,
    eodata_fs: EodataSource = None,
    output_fs: fsspec.AbstractFileSystem | None = None,
    session: requests.Session | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> RegionReport:
    """Build (or complete) the tiles of ``request``; the steps are listed in the module docstring.

    ``eodata_fs`` is the EO S3 archive, or a function returning it, called only
    when some tile needs building (default: :func:`eodata_filesystem` from the
    ``EODATA_S3_*`` variables); ``output_fs`` the destination file system
    (default: from the output location and the ``AWS_*`` variables);
    ``workdir`` the folder for the temporary copy of each product's bands.
    Bad requests raise ``ValueError`` naming the parameter before anything is
    downloaded; a run interrupted at any point can be resumed by calling again.
    """
    year, (start, end), label_year = check_request(request)
    output = RegionOutput(request.output, request.nuts_id, year, fs=output_fs)
    output.check_writable()
    report = RegionReport(nuts_id=output.nuts, year=year, output=output.root)
    run = _RegionRun(request, output, label_year, session or new_session(), report)

    plan = plan_tiles(request)
    report.tiles = len(plan.tiles)
    log.info("%s: %d tiles of %d x %d grid", output.nuts, len(plan.tiles), plan.grid.nrows, plan.grid.ncols)
    removed = output.remove_leftovers()
    if removed:
        log.info("removed %d temporary files of an interrupted run", removed)

    kept = run.keep_valid_tiles(plan.tiles)
    pending = [t for t in plan.tiles if t.stem not in run.done]
    if pending:
        fs = open_eodata(eodata_fs)
        products = run.choose_products(plan.region, start, end)
        run.fill_tiles(pending, products, fs, workdir)
    run.label_kept_tiles(kept)
    run.write_index_files()
    return report
