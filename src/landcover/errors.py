"""Errors of the data and its sources, so callers (chapters, the API) can tell cases apart.

Missing files raise the built-in ``FileNotFoundError``; the classes below cover
the other ways data can be wrong. Every message names the file or parameter.
"""

from __future__ import annotations


class DataFileError(ValueError):
    """A file exists but does not follow the data contract (format, bands, CRS, shape)."""


class PointOutsideTilesError(LookupError):
    """A point lies outside every tile of a region and year.

    ``nearest`` is the file name of the closest tile and ``distance_m`` its
    distance in metres (EPSG:3035), so a caller can suggest it.
    """

    def __init__(self, message: str, nearest: str | None = None, distance_m: float | None = None) -> None:
        super().__init__(message)
        self.nearest = nearest
        self.distance_m = distance_m


class RegionNotFoundError(LookupError):
    """No NUTS3 region contains a point, or a requested region id is unknown."""


class GeocodingError(LookupError):
    """A place name could not be turned into coordinates."""


class OnlineAccessDisabled(RuntimeError):
    """An online service is needed but the reader has not opted in (``LANDCOVER_ONLINE=1``)."""
