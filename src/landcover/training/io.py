"""The training pairs (image tile, label array) of the data root, as records.

Reading goes through the shared data layer (:mod:`landcover.data`), so the
same code runs on the local synthetic data, the HTTPS bucket or the S3 bucket. This
module only adds what training needs on top: one :class:`TileRecord` per
labelled tile, with its ground location (used by the honest split).

Layout (DESIGN section 3)::

    images/{NUTS3}/{year}/{xmin}_{ymin}_{idx}_{id}.tif   14 bands, EPSG:3035, 10 m
    images/{NUTS3}/{year}/filename2bbox.parquet          filename, bbox
    images/{NUTS3}/{year}/metrics-normalization.yaml     mean, std (14 floats each)
    labels/{NUTS3}/{year}/{same stem}.npy                uint8, 0 = nodata
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landcover.config import data_root, is_remote
from landcover.data.labels import LABEL_YEARS, load_label
from landcover.data.paths import image_path, label_path, tile_bounds_from_name, tile_stem
from landcover.data.regions import available_years, list_regions
from landcover.data.tile_index import load_tile_index
from landcover.data.tiles import get_satellite_image
from landcover.storage import exists

#: Years with CLC+ Backbone labels (there is no 2024 product).
LABELLED_YEARS: tuple[int, ...] = tuple(LABEL_YEARS)


@dataclass(frozen=True)
class TileRecord:
    """One tile of one region and year, and where its files live.

    ``xmin, ymin, xmax, ymax``: the tile's box in EPSG:3035 metres. The
    lower-left corner identifies the tile's *location*, the same in every year.
    """

    nuts: str
    year: int
    stem: str
    image: str
    label: str | None
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def location(self) -> tuple[int, int]:
        """Ground location of the tile (lower-left corner, whole metres), shared across years."""
        return (int(round(self.xmin)), int(round(self.ymin)))


def read_image(location: str, n_bands: int = 14) -> np.ndarray:
    """The first ``n_bands`` channels of a tile as float32 ``(bands, rows, cols)``.

    Files hold float64 reflectance (0..1); float32 halves the memory and is
    what the network consumes.
    """
    return np.asarray(get_satellite_image(location, n_bands)["array"], dtype=np.float32)


def read_label(location: str) -> np.ndarray:
    """A label array (uint8, 0 = nodata, 1..10 = CLC+ Backbone classes), any 2-D size."""
    return load_label(location, expected_shape=None)


def tile_records(nuts: str, year: int, root: str | None = None, *, require_label: bool = True) -> list[TileRecord]:
    """Every tile of one region and year, from its ``filename2bbox.parquet`` index.

    With ``require_label`` (the default) only tiles with a label are kept: on a
    local root the label file must exist; on a remote root (where checking
    each file would cost a request) every tile of a labelled year is trusted to
    have one.
    """
    root = data_root() if root is None else root
    table = load_tile_index(nuts, year, root)
    remote = is_remote(root)
    records = []
    for row in table.itertuples(index=False):
        stem = tile_stem(str(row.filename))
        bbox = getattr(row, "bbox", None)
        if bbox is not None and len(bbox) == 4:
            xmin, ymin, xmax, ymax = (float(v) for v in bbox)
        else:
            xmin, ymin, xmax, ymax = tile_bounds_from_name(stem)
        label: str | None = label_path(nuts, year, stem, root)
        has_label = int(year) in LABELLED_YEARS if remote else exists(label)
        if not has_label:
            if require_label:
                continue
            label = None
        records.append(
            TileRecord(nuts, int(year), stem, image_path(nuts, year, stem, root), label, xmin, ymin, xmax, ymax)
        )
    return records


def labelled_records(
    root: str | None = None,
    regions: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
) -> list[TileRecord]:
    """All labelled tiles of ``regions`` and ``years`` (default: every region, 2018 and 2021)."""
    root = data_root() if root is None else root
    regions = list(regions) if regions is not None else list_regions(root)
    wanted = [int(y) for y in years] if years is not None else list(LABELLED_YEARS)
    records: list[TileRecord] = []
    for nuts in regions:
        present = set(available_years(nuts, root))
        for year in wanted:
            if year in present:
                records.extend(tile_records(nuts, year, root))
    if not records:
        raise ValueError(f"no labelled tiles under {root} for regions={regions} years={wanted}")
    return records
