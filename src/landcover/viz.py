"""Pictures of tiles and labels: display stretch, colour composites, NDVI and class maps.

Every figure of the book goes through these helpers, so that a composite is
stretched the same way everywhere, an NDVI map always uses the same diverging
scale, and a land-cover class keeps the name and colour of the one class
table (:mod:`landcover.classes`). They change what you *see* only: keep the
stored values for any computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from landcover.bands import band_index
from landcover.classes import (
    CLASS_COLOURS,
    CLASS_IDS,
    CLASS_NAMES,
    NODATA,
    NODATA_COLOUR,
    legend_handles,
    listed_colormap,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.image import AxesImage
    from matplotlib.legend import Legend

#: The percentile a display stretch divides by (the "percent clip" of QGIS and ArcGIS).
DEFAULT_PERCENTILE = 98.0
#: Band triplets of the usual composites, as channel names of the tiles.
TRUE_COLOUR_BANDS: tuple[str, str, str] = ("B4", "B3", "B2")
FALSE_COLOUR_BANDS: tuple[str, str, str] = ("B8", "B4", "B3")
#: Diverging colour scale of NDVI maps: red (bare, water) to green (dense vegetation).
NDVI_CMAP = "RdYlGn"
#: Area of one 10 m pixel of the tiles, in square metres (EPSG:3035 is equal-area).
PIXEL_AREA_M2 = 100.0


# --- arrays ---------------------------------------------------------------------------------------


def chw_to_hwc(array: np.ndarray) -> np.ndarray:
    """Move the band axis last: rasterio's (bands, rows, cols) to matplotlib's (rows, cols, bands).

    Raises
    ------
    ValueError
        If ``array`` is not 3-D.
    """
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"expected a (bands, rows, cols) array, got shape {array.shape}")
    return np.moveaxis(array, 0, -1)


def percentile_stretch(values: np.ndarray, percentile: float = DEFAULT_PERCENTILE) -> np.ndarray:
    """``values`` divided by their ``percentile``-th percentile and clipped to [0, 1], as float32.

    One percentile over *all* values (all bands together), so the balance between
    the bands is kept. NaN values (outside the data) are ignored and stay NaN.
    For display only.

    Parameters
    ----------
    values : numpy.ndarray
        Reflectance (or any non-negative values), of any shape.
    percentile : float
        Percentile in (0, 100] that becomes 1 (the brightest 2 % saturate by default).

    Returns
    -------
    numpy.ndarray
        float32 array of the shape of ``values``, in [0, 1] (NaN kept).

    Raises
    ------
    ValueError
        If there is no finite value, ``percentile`` is outside (0, 100], or
        the percentile is not positive (an all-zero array).
    """
    data = np.asarray(values, dtype=np.float32)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        raise ValueError("nothing to stretch: the array holds no finite value")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile={percentile} must be in (0, 100]")
    scale = float(np.percentile(finite, percentile))
    if scale <= 0:
        raise ValueError(
            f"the {percentile:g}th percentile is {scale:g}: the values cannot be stretched by it"
        )
    with np.errstate(invalid="ignore"):
        return np.clip(data / np.float32(scale), 0.0, 1.0)


def composite(
    channels: np.ndarray,
    bands: Sequence[str] = TRUE_COLOUR_BANDS,
    percentile: float = DEFAULT_PERCENTILE,
) -> np.ndarray:
    """Three channels of a 14-channel tile (CHW, file order) as a stretched (H, W, 3) image.

    ``bands`` are channel names in display order red, green, blue, e.g.
    ``("B8", "B4", "B3")`` for the false-colour composite.

    Raises
    ------
    ValueError
        If ``channels`` is not (bands, rows, cols), ``bands`` are not three, or
        a band lies beyond the channels given.
    """
    channels = np.asarray(channels)
    if channels.ndim != 3:
        raise ValueError(f"expected the tile's (bands, rows, cols) array, got shape {channels.shape}")
    if len(bands) != 3:
        raise ValueError(f"bands={list(bands)!r}: a colour composite takes exactly three bands")
    positions = [band_index(name) - 1 for name in bands]
    if max(positions) >= channels.shape[0]:
        raise ValueError(f"bands={list(bands)!r} need the 14 channels of a tile; got {channels.shape[0]}")
    return percentile_stretch(chw_to_hwc(channels[positions]), percentile)


def true_colour(channels: np.ndarray, percentile: float = DEFAULT_PERCENTILE) -> np.ndarray:
    """True-colour image (B4, B3, B2) of a 14-channel tile, stretched, (H, W, 3)."""
    return composite(channels, TRUE_COLOUR_BANDS, percentile)


def false_colour(channels: np.ndarray, percentile: float = DEFAULT_PERCENTILE) -> np.ndarray:
    """False-colour image (B8, B4, B3) of a 14-channel tile: vegetation shows red."""
    return composite(channels, FALSE_COLOUR_BANDS, percentile)


def normalized_difference(a: np.ndarray, b: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``(a - b) / (a + b)`` as float64, and ``fill`` where ``a + b`` is 0, without warnings.

    NDVI is ``normalized_difference(nir, red)``. Inputs are cast to float first,
    so unsigned digital numbers (uint16) cannot wrap around when subtracted.
    Only the pixels with a non-zero sum are divided.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    total = a + b
    out = np.full(np.broadcast(a, b).shape, fill, dtype=np.float64)
    np.divide(a - b, total, out=out, where=total != 0)
    return out


def tile_extent(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) from bounds (left, bottom, right, top)."""
    left, bottom, right, top = (float(v) for v in bounds)
    return left, right, bottom, top


# --- axes -----------------------------------------------------------------------------------------


def _axes(ax: Axes | None = None, figsize: tuple[float, float] = (6.5, 6)) -> Axes:
    """The axes to draw on: ``ax`` itself, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def label_map_axes(ax: Axes, crs: str = "EPSG:3035") -> None:
    """Axis titles in metres of ``crs`` and plain tick labels (no offset, no 1e6)."""
    ax.set_xlabel(f"x, easting (m, {crs})")
    ax.set_ylabel(f"y, northing (m, {crs})")
    ax.ticklabel_format(style="plain", useOffset=False)


def _place(
    ax: Axes, bounds: Sequence[float] | None, crs: str
) -> dict[str, tuple[float, float, float, float]]:
    """``imshow`` options placing an image on ``bounds`` (axes in metres), or no axes without bounds."""
    if bounds is None:
        ax.set_axis_off()
        return {}
    label_map_axes(ax, crs)
    return {"extent": tile_extent(bounds)}


def show_rgb(
    rgb: np.ndarray,
    ax: Axes | None = None,
    bounds: Sequence[float] | None = None,
    title: str | None = None,
    crs: str = "EPSG:3035",
) -> AxesImage:
    """Draw an (H, W, 3) image in [0, 1]; with ``bounds`` the axes read in metres of ``crs``.

    Parameters
    ----------
    rgb : numpy.ndarray
        Display image (rows, cols, 3) in [0, 1], e.g. from :func:`true_colour`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    bounds : sequence of float, optional
        Tile bounds (left, bottom, right, top) in metres of ``crs``; without
        them the axes are hidden.
    title : str, optional
        Axes title (say what and where).
    crs : str
        CRS of ``bounds``, named in the axis titles.

    Returns
    -------
    matplotlib.image.AxesImage
        The image drawn.
    """
    ax = _axes(ax)
    image = ax.imshow(rgb, interpolation="nearest", **_place(ax, bounds, crs))
    if title:
        ax.set_title(title)
    return image


def show_ndvi(
    ndvi: np.ndarray,
    ax: Axes | None = None,
    bounds: Sequence[float] | None = None,
    title: str | None = None,
    colorbar: bool = True,
    crs: str = "EPSG:3035",
) -> AxesImage:
    """Draw NDVI on the diverging red-yellow-green scale fixed to [-1, 1], with a colour bar.

    Fixing the scale means the same colour is the same value on every tile;
    0 (bare ground, no signal) falls on the neutral yellow middle.

    Parameters
    ----------
    ndvi : numpy.ndarray
        NDVI (rows, cols), no unit, in [-1, 1].
    ax, bounds, title, crs
        As in :func:`show_rgb`.
    colorbar : bool
        Add a colour bar labelled with the NDVI scale.

    Returns
    -------
    matplotlib.image.AxesImage
        The image drawn.
    """
    ax = _axes(ax)
    image = ax.imshow(
        ndvi, cmap=NDVI_CMAP, vmin=-1, vmax=1, interpolation="nearest", **_place(ax, bounds, crs)
    )
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8, label="NDVI (no unit, −1 to 1)")
    if title:
        ax.set_title(title)
    return image


def classes_present(label: np.ndarray) -> list[int]:
    """Class ids (1..10) that occur in a label, in table order (nodata left out)."""
    values = set(np.unique(np.asarray(label)).tolist())
    return [i for i in CLASS_IDS if i in values]


def class_legend(
    target: Axes | Figure | SubFigure,
    class_ids: Iterable[int] | None = None,
    include_nodata: bool = False,
    **kwargs: object,
) -> Legend:
    """A legend of land-cover classes (names and colours of the class table) on an axes or figure.

    ``class_ids`` defaults to all ten classes; extra keyword arguments go to
    matplotlib's ``legend`` (``loc``, ``bbox_to_anchor``...).

    Parameters
    ----------
    target : matplotlib.axes.Axes or matplotlib.figure.Figure
        Where the legend goes.
    class_ids : iterable of int, optional
        Classes to list, in that order; nodata (0) is skipped.
    include_nodata : bool
        Add a black "0 No data" entry.
    **kwargs
        Options of matplotlib's ``legend``; they override the defaults
        (title, small font, frame).

    Returns
    -------
    matplotlib.legend.Legend
        The legend drawn.
    """
    from matplotlib.patches import Patch

    handles = legend_handles(class_ids)
    if include_nodata:
        handles.append(Patch(facecolor=NODATA_COLOUR, edgecolor="black", label=f"{NODATA} No data"))
    options: dict[str, object] = {"title": "CLC+ Backbone class", "fontsize": "small", "frameon": True}
    options.update(kwargs)
    return target.legend(handles=handles, **options)


def show_classes(
    label: np.ndarray,
    ax: Axes | None = None,
    bounds: Sequence[float] | None = None,
    title: str | None = None,
    legend: bool = True,
    crs: str = "EPSG:3035",
    **legend_options: object,
) -> AxesImage:
    """Draw a label (classes 0..10) in the book's class colours, with a legend of the classes present.

    Nodata (0) is drawn black and listed in the legend only when present.

    Parameters
    ----------
    label : numpy.ndarray
        Class ids (rows, cols), 0 nodata and 1..10 classes.
    ax, bounds, title, crs
        As in :func:`show_rgb`.
    legend : bool
        Add a legend of the classes present, outside the axes on the right.
    **legend_options
        Options of matplotlib's ``legend`` (see :func:`class_legend`).

    Returns
    -------
    matplotlib.image.AxesImage
        The image drawn.
    """
    ax = _axes(ax)
    cmap, norm = listed_colormap()
    image = ax.imshow(
        np.asarray(label), cmap=cmap, norm=norm, interpolation="nearest", **_place(ax, bounds, crs)
    )
    if legend:
        options: dict[str, object] = {
            "loc": "upper left",
            "bbox_to_anchor": (1.02, 1.0),
            "borderaxespad": 0.0,
        }
        options.update(legend_options)
        class_legend(
            ax, classes_present(label), include_nodata=bool(np.any(np.asarray(label) == NODATA)), **options
        )
    if title:
        ax.set_title(title)
    return image


def class_summary(label: np.ndarray, pixel_area_m2: float = PIXEL_AREA_M2) -> pd.DataFrame:
    """A table of the classes of a label: id, name, colour, pixels, area (km²) and share (%).

    Areas count pixels of an equal-area grid (EPSG:3035, 100 m² each by
    default); shares leave nodata out. Classes absent from the label are listed
    with 0, so tables of different tiles line up.

    Parameters
    ----------
    label : numpy.ndarray
        Class ids (rows, cols), 0 nodata and 1..10 classes.
    pixel_area_m2 : float
        Area of one pixel in square metres (100 for the 10 m tiles).

    Returns
    -------
    pandas.DataFrame
        One row per class (all ten, in table order); the number of nodata
        pixels is in ``attrs["nodata_pixels"]``.
    """
    import pandas as pd

    values = np.asarray(label)
    counts = np.bincount(values.ravel().astype(np.int64), minlength=max(CLASS_IDS) + 1)
    valid = int(counts[list(CLASS_IDS)].sum())
    rows = []
    for class_id in CLASS_IDS:
        pixels = int(counts[class_id])
        rows.append(
            {
                "id": class_id,
                "class": CLASS_NAMES[class_id],
                "colour": CLASS_COLOURS[class_id],
                "pixels": pixels,
                "area (km²)": pixels * pixel_area_m2 / 1e6,
                "share (%)": 100.0 * pixels / valid if valid else 0.0,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["nodata_pixels"] = int(counts[NODATA])
    return table
