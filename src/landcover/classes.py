"""The one land-cover class table of the book: CLC+ Backbone ids, names and colours.

Every figure, map, legend and statistic takes its names and colours from here,
so a class looks the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch


@dataclass(frozen=True)
class LandCoverClass:
    """One CLC+ Backbone class as the book uses it."""

    id: int
    name: str
    short_name: str
    colour: str  # hex RGB


#: The ten CLC+ Backbone classes the book maps (11 "snow and ice" is remapped).
CLASSES: tuple[LandCoverClass, ...] = (
    LandCoverClass(1, "Sealed", "sealed", "#ff0000"),
    LandCoverClass(2, "Woody needle leaved trees", "needle trees", "#228b22"),
    LandCoverClass(3, "Woody broadleaved deciduous trees", "broadleaved deciduous", "#80ff00"),
    LandCoverClass(4, "Woody broadleaved evergreen trees", "broadleaved evergreen", "#00ff08"),
    LandCoverClass(5, "Low-growing woody plants", "shrubs", "#804000"),
    LandCoverClass(6, "Permanent herbaceous", "permanent herbaceous", "#ccf24d"),
    LandCoverClass(7, "Periodically herbaceous", "periodically herbaceous", "#ffff80"),
    LandCoverClass(8, "Lichens and mosses", "lichens and mosses", "#ff80ff"),
    LandCoverClass(9, "Non- and sparsely vegetated", "bare", "#bfbfbf"),
    LandCoverClass(10, "Water", "water", "#0080ff"),
)

#: Label value meaning "no information" (raw CLC+ 254 outside area, 255 no data).
NODATA = 0
NODATA_COLOUR = "#000000"
N_CLASSES = len(CLASSES)
CLASS_IDS: tuple[int, ...] = tuple(c.id for c in CLASSES)
CLASS_NAMES: dict[int, str] = {c.id: c.name for c in CLASSES}
CLASS_COLOURS: dict[int, str] = {c.id: c.colour for c in CLASSES}

# Raw CLC+ Backbone codes that carry no class for the book.
RAW_OUTSIDE_AREA = 254
RAW_NO_DATA = 255
RAW_SEAWATER_BUFFER = 253
RAW_SNOW_AND_ICE = 11


def class_name(class_id: int) -> str:
    """Name of a class id; ``"No data"`` for 0."""
    if class_id == NODATA:
        return "No data"
    try:
        return CLASS_NAMES[int(class_id)]
    except KeyError:
        raise ValueError(f"unknown land-cover class id {class_id!r}; expected 0..{N_CLASSES}") from None


def remap_raw_clcplus(raw: np.ndarray) -> np.ndarray:
    """Turn raw CLC+ Backbone codes into the book's labels (uint8, 0 = nodata).

    254 (outside area), 255 (no data) and 253 (coastal seawater buffer) become 0;
    11 (snow and ice) becomes 9 (non- and sparsely vegetated), its closest class.
    """
    raw = np.asarray(raw)
    out = raw.astype(np.uint8, copy=True)
    out[(raw == RAW_OUTSIDE_AREA) | (raw == RAW_NO_DATA) | (raw == RAW_SEAWATER_BUFFER)] = NODATA
    out[raw == RAW_SNOW_AND_ICE] = 9
    out[(raw > N_CLASSES) & (raw != RAW_SNOW_AND_ICE)] = NODATA
    return out


def class_table() -> pd.DataFrame:
    """The class table as a pandas DataFrame (``id``, ``name``, ``short_name``, ``colour``)."""
    import pandas as pd

    return pd.DataFrame([c.__dict__ for c in CLASSES])


def listed_colormap() -> tuple[ListedColormap, BoundaryNorm]:
    """A matplotlib colormap and norm mapping label values 0..10 to the book's colours.

    Pass both to ``imshow`` (``cmap=..., norm=...``): the norm puts each
    integer in a bin of its own, so class 3 is always the third class colour,
    whatever classes a label holds; 0 (nodata) is black.
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap([NODATA_COLOUR, *[c.colour for c in CLASSES]], name="clcplus")
    norm = BoundaryNorm(np.arange(-0.5, N_CLASSES + 1.5), cmap.N)
    return cmap, norm


def legend_handles(class_ids: Iterable[int] | None = None) -> list[Patch]:
    """Matplotlib patches for a legend, one per class (all classes by default).

    ``class_ids`` keeps its order; nodata (0) is left out. Each patch is
    labelled ``"{id} {name}"`` in the class colour.
    """
    from matplotlib.patches import Patch

    ids = CLASS_IDS if class_ids is None else [int(i) for i in class_ids if int(i) != NODATA]
    return [Patch(facecolor=CLASS_COLOURS[i], edgecolor="black", label=f"{i} {CLASS_NAMES[i]}") for i in ids]


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """(red, green, blue) in 0..255 of a ``"#rrggbb"`` colour."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour {colour!r} is not of the form #rrggbb")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def colour_table() -> dict[int, tuple[int, int, int, int]]:
    """The class colours as a GDAL colour table: value -> (red, green, blue, alpha), 0..255.

    Nodata (0) is transparent black. Written into a GeoTIFF
    (``dataset.write_colormap(1, colour_table())``), it makes QGIS and other
    viewers show a class raster in the book's colours as soon as it opens.
    """
    table = {NODATA: (0, 0, 0, 0)}
    for c in CLASSES:
        table[c.id] = (*hex_to_rgb(c.colour), 255)
    return table
