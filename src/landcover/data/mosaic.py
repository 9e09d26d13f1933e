"""A GDAL virtual mosaic (VRT) of all tiles of a region and year.

The VRT is a small XML file that points at the tiles listed in the region-year's
``filename2bbox.parquet``; rasterio (or QGIS) then reads the whole region as one
raster, fetching pixels from the tiles on demand. No pixel is copied.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from landcover.config import data_root, is_remote, project_root
from landcover.data.paths import image_path, images_prefix, index_path, validate_nuts, validate_year
from landcover.errors import DataFileError
from landcover.storage import gdal_path, open_raster, read_bytes, write_bytes_atomic

#: File name of the mosaic inside ``images/{NUTS3}/{year}/``.
MOSAIC_FILENAME = "mosaic.vrt"
_GDAL_TYPES = {
    "float64": "Float64",
    "float32": "Float32",
    "uint8": "Byte",
    "uint16": "UInt16",
    "int16": "Int16",
}


def build_mosaic_vrt(
    nuts: str, year: int, root: str | None = None, out_path: str | os.PathLike | None = None
) -> str:
    """Write a VRT mosaic of the tiles of ``images/{nuts}/{year}/`` and return its path.

    The tiles and their boxes come from the folder's ``filename2bbox.parquet``;
    band count, data type, resolution and CRS from the first tile (all tiles of a
    folder share them). Pixels not covered by any tile read as NaN (the VRT's
    nodata value). By default the VRT is written next to the tiles
    (``images/{nuts}/{year}/mosaic.vrt``) for a local data root, and under the
    project's ``.cache/mosaics/`` for a remote one. Tiles are referenced relative
    to the VRT when it sits inside the (local) data root, so the folder can be
    moved; otherwise by absolute path or GDAL URL (``/vsicurl/``, ``/vsis3/``).
    """
    nuts = validate_nuts(nuts)
    year = validate_year(year)
    root = data_root() if root is None else os.fspath(root)
    if is_remote(root):
        root = root.rstrip("/")
    location = index_path(nuts, year, root)
    index = pd.read_parquet(io.BytesIO(read_bytes(location)))
    if index.empty:
        raise DataFileError(f"{location} lists no tiles; cannot build a mosaic of {nuts} {year}")
    missing = {"filename", "bbox"} - set(index.columns)
    if missing:
        raise DataFileError(f"{location} lacks the column(s) {sorted(missing)}")
    index = index.sort_values("filename").reset_index(drop=True)
    boxes = [[float(v) for v in bbox] for bbox in index["bbox"]]

    first = image_path(nuts, year, Path(str(index["filename"][0])).stem, root)
    with open_raster(first) as src:
        count, dtype, (res_x, res_y) = src.count, src.dtypes[0], src.res
        crs_wkt = src.crs.to_wkt() if src.crs else ""
        block_x, block_y = src.block_shapes[0][1], src.block_shapes[0][0]
        descriptions = list(src.descriptions)
        notice = {k: v for k, v in src.tags().items() if k.startswith("SYNTHETIC")}

    xmin = min(b[0] for b in boxes)
    ymax = max(b[3] for b in boxes)
    width = int(round((max(b[2] for b in boxes) - xmin) / res_x))
    height = int(round((ymax - min(b[1] for b in boxes)) / res_y))
    if width <= 0 or height <= 0:
        raise DataFileError(f"{location}: the boxes give an empty mosaic")

    if out_path is None:
        if is_remote(root):
            out_path = project_root() / ".cache" / "mosaics" / f"{nuts}_{year}.vrt"
        else:
            out_path = Path(images_prefix(nuts, year, root)) / MOSAIC_FILENAME
    out_text = os.fspath(out_path)
    relative_base = None
    if not is_remote(root) and not is_remote(out_text):
        vrt_dir = Path(out_text).resolve().parent
        if _is_within(vrt_dir, Path(root).resolve()):
            relative_base = vrt_dir

    dataset = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    ET.SubElement(dataset, "SRS", dataAxisToSRSAxisMapping="1,2").text = crs_wkt
    ET.SubElement(dataset, "GeoTransform").text = f"{xmin!r}, {res_x!r}, 0.0, {ymax!r}, 0.0, {-res_y!r}"
    if notice:
        metadata = ET.SubElement(dataset, "Metadata")
        for key, value in sorted(notice.items()):
            ET.SubElement(metadata, "MDI", key=key).text = value
    gdal_type = _GDAL_TYPES.get(dtype, dtype.capitalize())
    sources = []
    for name in index["filename"]:
        tile = image_path(nuts, year, Path(str(name)).stem, root)
        if relative_base is not None:
            sources.append((os.path.relpath(Path(tile).resolve(), relative_base).replace(os.sep, "/"), "1"))
        else:
            sources.append((gdal_path(tile) if is_remote(tile) else str(Path(tile).resolve()), "0"))
    offsets = [
        (int(round((box[0] - xmin) / res_x)), int(round((ymax - box[3]) / res_y)),
         int(round((box[2] - box[0]) / res_x)), int(round((box[3] - box[1]) / res_y)))
        for box in boxes
    ]  # fmt: skip
    for band in range(1, count + 1):
        element = ET.SubElement(dataset, "VRTRasterBand", dataType=gdal_type, band=str(band))
        if descriptions[band - 1]:
            ET.SubElement(element, "Description").text = descriptions[band - 1]
        ET.SubElement(element, "NoDataValue").text = "nan"
        for (filename, relative), (x_off, y_off, x_size, y_size) in zip(sources, offsets, strict=True):
            source = ET.SubElement(element, "SimpleSource")
            ET.SubElement(source, "SourceFilename", relativeToVRT=relative).text = filename
            ET.SubElement(source, "SourceBand").text = str(band)
            ET.SubElement(source, "SourceProperties", RasterXSize=str(x_size), RasterYSize=str(y_size),
                          DataType=gdal_type, BlockXSize=str(block_x), BlockYSize=str(block_y))  # fmt: skip
            ET.SubElement(source, "SrcRect", xOff="0", yOff="0", xSize=str(x_size), ySize=str(y_size))
            ET.SubElement(
                source, "DstRect", xOff=str(x_off), yOff=str(y_off), xSize=str(x_size), ySize=str(y_size)
            )
    ET.indent(dataset, space="  ")
    payload = ET.tostring(dataset, encoding="unicode") + "\n"
    return write_bytes_atomic(out_text, payload.encode("utf-8"))


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True
