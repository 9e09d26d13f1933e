"""Predictions written as files others can use: Cloud-Optimised GeoTIFFs, GeoParquet and a STAC catalog.

- :func:`write_class_cog`: the class mask at full resolution as a COG (GDAL's
  ``COG`` driver): DEFLATE, nodata 0, internal overviews resampled by MODE (a
  class is never averaged) and the book's class colours as a colour table, so
  QGIS shows the map styled as it opens.
- :func:`write_overview_cog`: the same at a tenth of the resolution (mode of
  each 10 x 10 block), for quick looks.
- :func:`write_polygons_parquet`: class polygons as GeoParquet.
- :func:`stac_item`, :func:`stac_catalog`, :func:`save_catalog`: a STAC Catalog
  with one Item per prediction, with the projection and classification
  extensions; :func:`validate_stac` checks it against the core schemas.
- :func:`export_prediction`: all of it for one image, in one folder.

Every file is written under a temporary name then renamed (locally) or sent in
one PUT (``s3://`` paths), so no reader ever sees half a file.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landcover.classes import CLASSES, NODATA, colour_table
from landcover.inference.polygons import check_mask, image_grid
from landcover.storage import atomic_path, scheme_of, write_bytes_atomic

if TYPE_CHECKING:
    import geopandas as gpd
    import pystac
    from affine import Affine

#: Media type of Cloud-Optimised GeoTIFFs (as ``pystac.MediaType.COG``).
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
#: Media type of (Geo)Parquet files, registered with IANA in 2024.
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
#: Resolution divisor of the overview COG: 10 m pixels become 100 m pixels.
OVERVIEW_FACTOR = 10
#: Tile size of the COGs in pixels (a multiple of 16, as GDAL requires).
COG_BLOCKSIZE = 256
#: Internal overviews halve the size until both sides fit in this many pixels.
MIN_OVERVIEW_SIZE = 64


# --- writing files wherever they go ----------------------------------------------------------------


@contextlib.contextmanager
def _local_target(path: str | os.PathLike[str], suffix: str) -> Iterator[Path]:
    """A local path to write to; on success it becomes ``path`` (renamed, or uploaded to S3)."""
    text = os.fspath(path)
    scheme = scheme_of(text)
    if scheme in ("http", "https"):
        raise PermissionError(f"cannot write {text}: HTTP locations are read-only")
    if scheme == "file":
        with atomic_path(text, suffix=suffix) as temporary:
            yield temporary
        return
    with tempfile.TemporaryDirectory(prefix="landcover-export-") as folder:
        temporary = Path(folder) / f"part{suffix}"
        yield temporary
        write_bytes_atomic(text, temporary.read_bytes())


def _join(folder: str | os.PathLike[str], *parts: str) -> str:
    """``folder/part/...`` for a local folder or an ``s3://`` prefix."""
    text = os.fspath(folder)
    if scheme_of(text) == "file":
        return str(Path(text, *parts))
    return "/".join([text.rstrip("/"), *parts])


# --- rasters ---------------------------------------------------------------------------------------


def overview_count(height: int, width: int, min_size: int = MIN_OVERVIEW_SIZE) -> int:
    """How many halvings bring a ``height`` x ``width`` raster within ``min_size`` pixels a side."""
    count, size = 0, max(int(height), int(width))
    while size > min_size:
        size = math.ceil(size / 2)
        count += 1
    return count


def class_tags() -> dict[str, str]:
    """Band metadata naming each class value (``CLASS_1="Sealed"``...), readable with ``gdalinfo``."""
    tags = {f"CLASS_{c.id}": c.name for c in CLASSES}
    tags["CLASS_0"] = "No data"
    return tags


def write_class_cog(
    mask: np.ndarray,
    transform: Affine,
    crs: Any,
    path: str | os.PathLike[str],
    blocksize: int = COG_BLOCKSIZE,
    min_overview_size: int = MIN_OVERVIEW_SIZE,
) -> str:
    """Write a class mask as a Cloud-Optimised GeoTIFF, styled with the class colours.

    GDAL's ``COG`` driver lays out tiles and internal overviews so that a
    viewer reads only the part and zoom level it shows (HTTP range requests).
    Overviews use MODE resampling (the most frequent class of each block; a
    mean of class ids would invent classes); compression is DEFLATE; nodata
    is 0; the colour table of :func:`landcover.classes.colour_table` makes
    QGIS show the classes in the book's colours, and band tags name them.

    Parameters
    ----------
    mask : numpy.ndarray
        uint8 (rows, cols) class ids 1..10, 0 = nodata.
    transform : affine.Affine
        Pixel -> CRS transform of the mask (EPSG:3035 metres for the tiles).
    crs : rasterio.crs.CRS or str
        CRS of the mask (``"EPSG:3035"``).
    path : str or os.PathLike
        Local path or ``s3://`` path of the ``.tif`` to write.
    blocksize : int
        Tile size in pixels, a multiple of 16.
    min_overview_size : int
        Overviews are added, each half the size of the previous one, until
        both sides are at most this many pixels (a 250-pixel tile gets 2).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ValueError
        If the mask is not a class mask or ``blocksize`` is not a positive multiple of 16.
    """
    import rasterio

    values = check_mask(mask)
    if blocksize <= 0 or blocksize % 16:
        raise ValueError(f"blocksize={blocksize} must be a positive multiple of 16 (GDAL's COG tiles)")
    height, width = values.shape
    levels = overview_count(height, width, min_overview_size)
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "nodata": NODATA,
        "compress": "DEFLATE",
        "blocksize": int(blocksize),
        "overview_resampling": "MODE",
        "bigtiff": "IF_SAFER",
    }
    if levels:
        profile["overview_count"] = levels
    else:
        profile["overviews"] = "NONE"
    with _local_target(path, ".tif") as target:
        with rasterio.open(target, "w", **profile) as dst:
            dst.write(values, 1)
            dst.write_colormap(1, colour_table())
            dst.update_tags(1, **class_tags())
            dst.set_band_description(1, "land-cover class (CLC+ Backbone id, 0 = nodata)")
    return os.fspath(path)


def downsample_mask(
    mask: np.ndarray, transform: Affine, crs: Any, factor: int = OVERVIEW_FACTOR
) -> tuple[np.ndarray, Affine]:
    """The mask on a grid ``factor`` times coarser: each cell takes the most frequent class (mode).

    Nodata (0) does not vote; a cell with no class at all stays 0. The coarse
    grid starts at the same corner and covers the whole mask (its last row
    and column may reach beyond it).

    Returns
    -------
    tuple
        ``(array, transform)``: uint8 (ceil(rows / factor), ceil(cols / factor))
        and its pixel -> CRS transform.
    """
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    if isinstance(factor, bool) or not isinstance(factor, int | np.integer) or factor < 1:
        raise ValueError(f"factor={factor!r} must be a positive integer (10: 10 m pixels become 100 m)")
    values = check_mask(mask)
    height, width = values.shape
    coarse = np.zeros((math.ceil(height / factor), math.ceil(width / factor)), dtype=np.uint8)
    coarse_transform = transform @ Affine.scale(factor, factor)
    reproject(
        source=values,
        destination=coarse,
        src_transform=transform,
        src_crs=crs,
        src_nodata=NODATA,
        dst_transform=coarse_transform,
        dst_crs=crs,
        dst_nodata=NODATA,
        resampling=Resampling.mode,
    )
    return coarse, coarse_transform


def write_overview_cog(
    mask: np.ndarray,
    transform: Affine,
    crs: Any,
    path: str | os.PathLike[str],
    factor: int = OVERVIEW_FACTOR,
) -> str:
    """Write the mask at 1/``factor`` of its resolution (mode of each block) as a styled COG.

    A light file for quick looks and catalogue thumbnails: a 250 x 250 tile of
    10 m becomes 25 x 25 pixels of 100 m. Returns the path written.
    """
    coarse, coarse_transform = downsample_mask(mask, transform, crs, factor)
    return write_class_cog(coarse, coarse_transform, crs, path)


def validate_cog(path: str | os.PathLike[str]) -> tuple[bool, list[str], list[str]]:
    """``(is_valid, errors, warnings)`` of a COG's layout, from rio-cogeo's ``cog_validate``."""
    from rio_cogeo.cogeo import cog_validate

    valid, errors, warnings = cog_validate(os.fspath(path), quiet=True)
    return bool(valid), list(errors), list(warnings)


# --- polygons --------------------------------------------------------------------------------------


def write_polygons_parquet(polygons: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> str:
    """Write class polygons as GeoParquet (geometry as WKB, CRS in the file's metadata).

    Keep them in EPSG:3035 for areas, or reproject first; the file records
    which. Written in one piece (temporary name then rename, or one S3 PUT).

    Raises
    ------
    ValueError
        If the polygons have no CRS (a GeoParquet reader could not place them).
    """
    if polygons.crs is None:
        raise ValueError("polygons have no CRS: set it (EPSG:3035 for the tiles) before writing GeoParquet")
    buffer = io.BytesIO()
    polygons.to_parquet(buffer, index=False)
    return write_bytes_atomic(path, buffer.getvalue())


# --- STAC ------------------------------------------------------------------------------------------


def _footprint_wgs84(bounds: Sequence[float], crs: Any) -> tuple[dict[str, Any], list[float]]:
    """GeoJSON geometry and bbox (EPSG:4326) of a rectangle in ``crs``.

    Each edge gets 10 points, so that a large rectangle (a region) keeps its
    curved outline; the ring is counter-clockwise, as RFC 7946 asks.
    """
    import shapely
    from pyproj import Transformer
    from shapely.geometry.polygon import orient

    left, bottom, right, top = (float(v) for v in bounds)
    outline = shapely.segmentize(shapely.box(left, bottom, right, top), max(right - left, top - bottom) / 10)
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    footprint = shapely.transform(outline, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    footprint = orient(shapely.set_precision(footprint, 1e-7), sign=1.0)
    return shapely.geometry.mapping(footprint), [round(float(v), 7) for v in footprint.bounds]


def stac_classes() -> list[Any]:
    """The classification-extension entries of the ten classes (value, name, title, colour) plus nodata."""
    from pystac.extensions.classification import Classification

    entries = [
        Classification.create(
            value=c.id,
            name=c.short_name.replace(" ", "-"),
            title=c.name,
            description=f"CLC+ Backbone class {c.id}: {c.name}",
            color_hint=c.colour.lstrip("#").upper(),
        )
        for c in CLASSES
    ]
    entries.append(
        Classification.create(value=NODATA, name="nodata", title="No data", description="No prediction", nodata=True)
    )
    return entries


def _year_range(year: int) -> tuple[datetime, datetime]:
    if isinstance(year, bool) or not isinstance(year, int | np.integer) or not 1900 <= int(year) <= 2100:
        raise ValueError(f"year={year!r} must be a calendar year such as 2021")
    return datetime(int(year), 1, 1, tzinfo=UTC), datetime(int(year), 12, 31, 23, 59, 59, tzinfo=UTC)


def stac_item(
    item_id: str,
    image: Mapping[str, Any],
    mask: np.ndarray,
    year: int,
    assets: Mapping[str, str],
    overview: tuple[np.ndarray, Affine] | None = None,
    title: str | None = None,
    description: str | None = None,
    properties: Mapping[str, Any] | None = None,
) -> pystac.Item:
    """A STAC Item describing a prediction of one image: where, when, which grid, which classes.

    The geometry and bbox are the image's footprint in EPSG:4326 (as STAC
    requires); the projection extension gives the grid in EPSG:3035
    (``proj:code``, ``proj:bbox`` in metres, ``proj:shape``, ``proj:transform``).
    The time is the whole ``year`` (``start_datetime``/``end_datetime``, with
    ``datetime`` null), since a yearly land-cover map stands for a year, not
    a moment. The classification extension lists the ten classes and nodata
    on each raster asset.

    Parameters
    ----------
    item_id : str
        Identifier of the item (e.g. the tile's file stem).
    image : Mapping
        The image dict of :func:`landcover.data.get_satellite_image`.
    mask : numpy.ndarray
        The predicted class mask (rows, cols) on the image's grid.
    year : int
        Year the image and its prediction stand for.
    assets : Mapping
        Role -> href: ``"classification"`` (the full-resolution COG, required),
        ``"overview"`` (the coarse COG) and ``"polygons"`` (GeoParquet), optional.
    overview : tuple, optional
        ``(array, transform)`` of the overview, for its own ``proj:shape`` and
        ``proj:transform``.
    title, description : str, optional
        Human-readable title and description (say "synthetic data" where it is).
    properties : Mapping, optional
        Extra item properties.

    Returns
    -------
    pystac.Item
        The item, not yet in a catalog nor saved.

    Raises
    ------
    ValueError
        If ``item_id`` is empty, ``year`` is not a year, the mask does not fit
        the image, or the ``classification`` asset is missing or an asset role is unknown.
    """
    import pystac
    from pystac.extensions.classification import ClassificationExtension
    from pystac.extensions.projection import ProjectionExtension

    if not isinstance(item_id, str) or not item_id.strip() or "/" in item_id:
        raise ValueError(f"item_id={item_id!r} must be a non-empty name without '/'")
    transform, crs, shape = image_grid(image)
    values = check_mask(mask, shape)
    start, end = _year_range(year)
    unknown = sorted(set(assets) - {"classification", "overview", "polygons"})
    if unknown or "classification" not in assets:
        raise ValueError(
            f"assets={dict(assets)!r}: needs 'classification' and may hold 'overview' and 'polygons' only"
        )
    from rasterio.transform import array_bounds

    height, width = values.shape
    left, bottom, right, top = array_bounds(height, width, transform)
    geometry, bbox = _footprint_wgs84((left, bottom, right, top), crs)
    extra = {"title": title or f"Land-cover prediction {item_id}", "landcover:year": int(year)}
    if description:
        extra["description"] = description
    extra.update(properties or {})
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=bbox,
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties=extra,
    )
    item.common_metadata.created = datetime.now(UTC).replace(microsecond=0)
    code = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else None
    projection = ProjectionExtension.ext(item, add_if_missing=True)
    projection.apply(
        code=code,
        wkt2=None if code else crs.to_wkt(),
        bbox=[float(left), float(bottom), float(right), float(top)],
        shape=[int(height), int(width)],
        transform=[float(v) for v in list(transform)[:6]],
    )
    ClassificationExtension.add_to(item)

    full = pystac.Asset(
        href=assets["classification"],
        media_type=COG_MEDIA_TYPE,
        roles=["data"],
        title="Land-cover classes, full resolution (COG)",
        description="uint8 class ids 1..10 (CLC+ Backbone), 0 = nodata; colour table of the book",
    )
    item.add_asset("classification", full)
    ClassificationExtension.ext(full).apply(classes=stac_classes())
    if "overview" in assets:
        coarse = pystac.Asset(
            href=assets["overview"],
            media_type=COG_MEDIA_TYPE,
            roles=["overview", "visual"],
            title="Land-cover classes, overview (COG, mode of 10 x 10 blocks)",
        )
        item.add_asset("overview", coarse)
        ClassificationExtension.ext(coarse).apply(classes=stac_classes())
        if overview is not None:
            coarse_array, coarse_transform = overview
            asset_projection = ProjectionExtension.ext(coarse)
            asset_projection.shape = [int(s) for s in np.shape(coarse_array)[-2:]]
            asset_projection.transform = [float(v) for v in list(coarse_transform)[:6]]
    if "polygons" in assets:
        item.add_asset(
            "polygons",
            pystac.Asset(
                href=assets["polygons"],
                media_type=PARQUET_MEDIA_TYPE,
                roles=["data"],
                title="Land-cover polygons (GeoParquet, EPSG:3035)",
                description="one polygon per class and patch: class_id, class_name, area_km2",
            ),
        )
    return item


def stac_catalog(
    items: Sequence[pystac.Item],
    catalog_id: str = "landcover-predictions",
    description: str = "Land-cover predictions of Sentinel-2 tiles (CLC+ Backbone classes)",
    title: str | None = None,
) -> pystac.Catalog:
    """A STAC Catalog holding ``items`` (each becomes a child item link)."""
    import pystac

    catalog = pystac.Catalog(id=catalog_id, description=description, title=title)
    for item in items:
        catalog.add_item(item)
    return catalog


def _atomic_stac_io() -> pystac.StacIO:
    """Pystac I/O that writes each JSON file in one piece (temporary name then rename, or one S3 PUT)."""
    from pystac.stac_io import DefaultStacIO

    class AtomicStacIO(DefaultStacIO):
        """Writes through :func:`landcover.storage.write_bytes_atomic`."""

        def write_text_to_href(self, href: str, txt: str) -> None:
            write_bytes_atomic(href, txt.encode("utf-8"))

    return AtomicStacIO()


def save_catalog(catalog: pystac.Catalog, folder: str | os.PathLike[str]) -> str:
    """Save a catalog as a self-contained tree under ``folder``; returns the path of ``catalog.json``.

    Links and asset hrefs become relative, so the folder can be moved or
    uploaded as a whole: ``catalog.json``, then ``{item_id}/{item_id}.json``.
    """
    import pystac

    root = os.fspath(folder)
    if scheme_of(root) == "file":
        root = str(Path(root).resolve())
    catalog.normalize_hrefs(root)
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, stac_io=_atomic_stac_io())
    return _join(root, "catalog.json")


def validate_stac(stac_object: pystac.STACObject | Mapping[str, Any]) -> list[str]:
    """Validate a STAC object against the core STAC schemas that pystac bundles; returns their URIs.

    Only the core schemas (Item, Catalog, Collection, GeoJSON) ship with
    pystac. The extension schemas (projection, classification) live at
    ``https://stac-extensions.github.io/...`` and cannot be fetched offline,
    so they are left out here: check the extension fields themselves (the
    tests do). Online, ``item.validate()`` checks everything.

    Raises
    ------
    pystac.errors.STACValidationError
        If the object breaks a core schema (the message says where).
    """
    from pystac.validation import validate_dict

    data = dict(stac_object) if isinstance(stac_object, Mapping) else stac_object.to_dict(include_self_link=False)
    return [uri for uri in validate_dict(data, extensions=[]) if uri]


# --- everything for one prediction -----------------------------------------------------------------


@dataclass(frozen=True)
class PredictionExport:
    """Where :func:`export_prediction` wrote each file."""

    catalog: str  # catalog.json
    item: str  # {item_id}/{item_id}.json
    classification: str  # full-resolution COG
    overview: str  # 1/10-resolution COG
    polygons: str | None  # GeoParquet, when polygons were given


def export_prediction(
    image: Mapping[str, Any],
    mask: np.ndarray,
    folder: str | os.PathLike[str],
    item_id: str,
    year: int,
    polygons: gpd.GeoDataFrame | None = None,
    overview_factor: int = OVERVIEW_FACTOR,
    description: str | None = None,
) -> PredictionExport:
    """Write a prediction as COG, overview COG, GeoParquet (if ``polygons``) and a STAC catalog.

    The layout under ``folder`` (local, or an ``s3://`` prefix)::

        catalog.json
        {item_id}/{item_id}.json
        {item_id}/{item_id}_classified.tif
        {item_id}/overview_{item_id}_classified.tif
        {item_id}/{item_id}_polygons.parquet

    A ``catalog.json`` already in ``folder`` is replaced by one holding this
    item only; to catalogue several predictions together, build their items
    with :func:`stac_item` and save them with :func:`stac_catalog` and
    :func:`save_catalog`.

    Returns
    -------
    PredictionExport
        The paths written.
    """
    transform, crs, shape = image_grid(image)
    values = check_mask(mask, shape)
    _year_range(year)
    if not isinstance(item_id, str) or not item_id.strip() or "/" in item_id:
        raise ValueError(f"item_id={item_id!r} must be a non-empty name without '/'")
    if scheme_of(folder) == "file":
        folder = Path(folder).resolve()  # asset hrefs must be absolute until the catalog makes them relative
    base = _join(folder, item_id)
    paths = {
        "classification": _join(base, f"{item_id}_classified.tif"),
        "overview": _join(base, f"overview_{item_id}_classified.tif"),
    }
    write_class_cog(values, transform, crs, paths["classification"])
    coarse = downsample_mask(values, transform, crs, overview_factor)
    write_class_cog(coarse[0], coarse[1], crs, paths["overview"])
    if polygons is not None:
        paths["polygons"] = write_polygons_parquet(polygons, _join(base, f"{item_id}_polygons.parquet"))
    item = stac_item(item_id, image, values, year, paths, overview=coarse, description=description)
    validate_stac(item)
    catalog_path = save_catalog(stac_catalog([item]), folder)
    return PredictionExport(
        catalog=catalog_path,
        item=_join(base, f"{item_id}.json"),
        classification=paths["classification"],
        overview=paths["overview"],
        polygons=paths.get("polygons"),
    )
