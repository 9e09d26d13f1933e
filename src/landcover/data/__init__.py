"""Data access for the book: tiles, labels, tile indexes, regions, NUTS3 outlines, geocoding.

File access itself (local, HTTPS, S3; atomic writes) is :mod:`landcover.storage`.
Every function reads under the active data root (:func:`landcover.config.data_root`):
a local folder (the synthetic data by default), an ``https://`` base or an
``s3://`` base, so chapters run unchanged on the synthetic data and on the real bucket.

>>> from landcover.data import geocode, nuts3_at, find_tile_at, read_tile
>>> lon, lat = geocode("Luxembourg")                      # doctest: +SKIP
>>> nuts = nuts3_at(lon, lat)                             # "LU000"
>>> tile = find_tile_at(lon, lat, nuts, 2024, crs="EPSG:4326")
>>> image = read_tile(nuts, 2024, tile.stem, bands=["B4", "B3", "B2"])
"""

from landcover.data.geocode import GAZETTEER, geocode, nominatim_search, offline_lookup
from landcover.data.labels import LABEL_YEARS, load_label
from landcover.data.normalization import Normalization, load_normalization
from landcover.data.paths import (
    GISCO_NUTS3_URL,
    TileKey,
    TileName,
    image_path,
    images_prefix,
    index_path,
    label_path,
    label_path_for_image,
    labels_prefix,
    normalization_path,
    nuts_file_path,
    parse_tile_name,
    resolve,
    split_tile_path,
    tile_bounds_from_name,
)
from landcover.data.regions import (
    PUBLISHED_REGIONS,
    YEARS,
    available_years,
    list_regions,
    load_nuts3,
    nuts3_at,
    region_table,
)
from landcover.data.tile_index import TileMatch, clear_tile_index_cache, find_tile_at, load_tile_index
from landcover.data.tiles import get_satellite_image, read_tile
from landcover.errors import (
    DataFileError,
    GeocodingError,
    OnlineAccessDisabled,
    PointOutsideTilesError,
    RegionNotFoundError,
)

__all__ = [
    "DataFileError",
    "GAZETTEER",
    "GISCO_NUTS3_URL",
    "GeocodingError",
    "LABEL_YEARS",
    "Normalization",
    "OnlineAccessDisabled",
    "PUBLISHED_REGIONS",
    "PointOutsideTilesError",
    "RegionNotFoundError",
    "TileKey",
    "TileMatch",
    "TileName",
    "YEARS",
    "available_years",
    "clear_tile_index_cache",
    "find_tile_at",
    "geocode",
    "get_satellite_image",
    "image_path",
    "images_prefix",
    "index_path",
    "label_path",
    "label_path_for_image",
    "labels_prefix",
    "list_regions",
    "load_label",
    "load_normalization",
    "load_nuts3",
    "load_tile_index",
    "nominatim_search",
    "normalization_path",
    "nuts3_at",
    "nuts_file_path",
    "offline_lookup",
    "parse_tile_name",
    "read_tile",
    "region_table",
    "resolve",
    "split_tile_path",
    "tile_bounds_from_name",
]
