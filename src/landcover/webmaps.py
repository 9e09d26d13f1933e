"""Interactive web maps (folium, Leaflet) of tiles and labels, with every pixel in its place.

Leaflet places an image overlay by two longitude/latitude corners and stretches
it in between. A tile lives in EPSG:3035, whose grid is turned and sheared
against the lines of longitude and latitude, so its pixels must first be
*resampled* onto a longitude/latitude grid (``rasterio.warp.reproject``):
bilinear for reflectance, nearest for class codes (an average of two class
ids is a third class, not a mixture). Grid cells that no source pixel
reaches (the corners of the turned tile) stay transparent.

Every map built here has a base layer, one named layer per overlay, a layer
control, a class legend from the one class table and tooltips that name the
class under the mouse (see :func:`tile_map` for all of it at once).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine

from landcover.classes import CLASS_COLOURS, CLASS_IDS, CLASS_NAMES, NODATA, hex_to_rgb

if TYPE_CHECKING:
    import folium
    import geopandas as gpd
    from branca.element import Element, MacroElement
    from folium.raster_layers import ImageOverlay
    from rasterio.crs import CRS
    from rasterio.enums import Resampling
    from shapely.geometry.base import BaseGeometry

#: The CRS of web maps: longitude and latitude on WGS84 (Leaflet then draws in Web Mercator).
WGS84 = "EPSG:4326"
#: Default base layer (its tiles come from the internet; offline the map shows a grey background).
BASE_TILES = "OpenStreetMap"
#: CSS class of the legend box, so tests and checks can find it in a map's HTML.
LEGEND_CLASS = "landcover-legend"
TITLE_CLASS = "landcover-map-title"

_RESAMPLING_FOR_CLASSES = {"nearest", "mode"}


@dataclass(frozen=True)
class WarpedRaster:
    """A raster resampled onto a longitude/latitude grid (EPSG:4326).

    ``array`` is (bands, rows, cols); float arrays hold NaN, integer arrays
    ``nodata``, where no source pixel reaches.
    """

    array: np.ndarray
    transform: Affine  # pixel -> (lon, lat) in degrees
    nodata: float | int | None = None
    crs: str = WGS84

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return int(self.array.shape[-2]), int(self.array.shape[-1])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        from rasterio.transform import array_bounds

        west, south, east, north = array_bounds(*self.shape, self.transform)
        return float(west), float(south), float(east), float(north)

    @property
    def folium_bounds(self) -> list[list[float]]:
        """``[[south, west], [north, east]]``: the corner order folium and Leaflet want."""
        west, south, east, north = self.bounds
        return [[south, west], [north, east]]

    @property
    def valid(self) -> np.ndarray:
        """(rows, cols) boolean mask of the cells that received data."""
        if np.issubdtype(self.array.dtype, np.floating):
            return np.all(np.isfinite(self.array), axis=0)
        if self.nodata is None:
            return np.ones(self.shape, dtype=bool)
        return np.all(self.array != self.nodata, axis=0)


def wgs84_grid(src_crs: CRS | str, src_transform: Affine, width: int, height: int) -> tuple[Affine, int, int]:
    """The longitude/latitude grid covering a raster: ``(transform, width, height)``.

    ``rasterio.warp.calculate_default_transform`` keeps about the source's
    resolution and covers its whole footprint (so the corners of a turned tile
    fall outside the data).
    """
    from rasterio.transform import array_bounds
    from rasterio.warp import calculate_default_transform

    left, bottom, right, top = array_bounds(height, width, src_transform)
    transform, dst_width, dst_height = calculate_default_transform(
        src_crs, WGS84, width, height, left=left, bottom=bottom, right=right, top=top
    )
    return transform, int(dst_width), int(dst_height)


def _resampling(method: Resampling | str) -> Resampling:
    """A rasterio resampling method from itself or its name (``"nearest"``, ``"bilinear"``...)."""
    from rasterio.enums import Resampling

    if isinstance(method, Resampling):
        return method
    try:
        return Resampling[str(method).lower()]
    except KeyError:
        known = ", ".join(r.name for r in Resampling)
        raise ValueError(f"resampling={method!r} is not a rasterio resampling method ({known})") from None


def reproject_to_wgs84(
    array: np.ndarray,
    src_transform: Affine,
    src_crs: CRS | str,
    resampling: Resampling | str = "bilinear",
    grid: tuple[Affine, int, int] | None = None,
    nodata: int | None = NODATA,
) -> WarpedRaster:
    """Resample a raster (2-D, or bands first) onto a longitude/latitude grid.

    Floating-point data (reflectance) comes back as float32 with NaN outside the
    source; integer data (class labels) keeps its dtype with ``nodata`` (0)
    outside, and must use ``resampling="nearest"`` (or ``"mode"``). Pass the
    ``grid`` of a first call (``(transform, width, height)``, see
    :func:`wgs84_grid`) to put a second raster, say the label of an image, on
    exactly the same grid.

    Parameters
    ----------
    array : numpy.ndarray
        (rows, cols) or (bands, rows, cols) raster on the source grid.
    src_transform : affine.Affine
        Pixel-to-map transform of ``array`` (metres of ``src_crs``).
    src_crs : rasterio.crs.CRS or str
        CRS of the source, e.g. ``"EPSG:3035"``.
    resampling : rasterio.enums.Resampling or str
        ``"bilinear"`` for reflectance, ``"nearest"`` or ``"mode"`` for labels.
    grid : tuple, optional
        ``(transform, width, height)`` of the target grid; by default the one
        :func:`wgs84_grid` computes for this raster.
    nodata : int, optional
        Fill value of integer rasters outside the source (0).

    Returns
    -------
    WarpedRaster
        The resampled bands on the EPSG:4326 grid.

    Raises
    ------
    ValueError
        If ``array`` is neither 2-D nor 3-D, ``resampling`` is unknown, or an
        integer raster would be averaged (any method but nearest or mode).
    """
    from rasterio.warp import reproject

    source = np.asarray(array)
    if source.ndim == 2:
        source = source[np.newaxis]
    if source.ndim != 3:
        raise ValueError(f"expected a (rows, cols) or (bands, rows, cols) array, got shape {np.shape(array)}")
    method = _resampling(resampling)
    is_classes = np.issubdtype(source.dtype, np.integer) or source.dtype == bool
    if is_classes and method.name not in _RESAMPLING_FOR_CLASSES:
        raise ValueError(
            f"resampling={method.name!r} would average class codes of an integer raster; "
            "use 'nearest' (or 'mode') for labels"
        )
    _, height, width = source.shape
    dst_transform, dst_width, dst_height = grid or wgs84_grid(src_crs, src_transform, width, height)
    if is_classes:
        source = source.astype(np.uint8) if source.dtype == bool else source
        fill = 0 if nodata is None else nodata
        destination = np.full((source.shape[0], dst_height, dst_width), fill, dtype=source.dtype)
        src_nodata = dst_nodata = fill
    else:
        source = source.astype(np.float32, copy=False)
        destination = np.full((source.shape[0], dst_height, dst_width), np.nan, dtype=np.float32)
        src_nodata, dst_nodata = None, np.nan
    reproject(
        source=source,
        destination=destination,
        src_transform=src_transform,
        src_crs=src_crs,
        src_nodata=src_nodata,
        dst_transform=dst_transform,
        dst_crs=WGS84,
        dst_nodata=dst_nodata,
        resampling=method,
    )
    return WarpedRaster(destination, dst_transform, nodata=None if not is_classes else dst_nodata)


# --- colours ---------------------------------------------------------------------------------------


def rgba_image(rgb: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """An (H, W, 3) image in [0, 1] as uint8 RGBA, transparent outside ``valid`` and where NaN.

    Accepts bands-first (3, H, W) too.
    """
    image = np.asarray(rgb, dtype=np.float32)
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        image = np.moveaxis(image, 0, -1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {np.shape(rgb)}")
    finite = np.all(np.isfinite(image), axis=-1)
    mask = finite if valid is None else finite & np.asarray(valid, dtype=bool)
    out = np.zeros(image.shape[:2] + (4,), dtype=np.uint8)
    out[..., :3] = np.round(np.clip(np.nan_to_num(image), 0, 1) * 255).astype(np.uint8)
    out[..., 3] = np.where(mask, 255, 0)
    return out


def class_rgba(label: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    """A label (class ids 0..10) as uint8 RGBA in the book's class colours; nodata transparent.

    ``opacity`` in [0, 1] sets the alpha of every class pixel. A (1, rows, cols)
    array, as :func:`reproject_to_wgs84` returns, is accepted too.

    Raises
    ------
    ValueError
        If the label is not (rows, cols) or does not hold integers (a label
        resampled bilinearly holds floats).
    """
    values = np.asarray(label)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"expected a (rows, cols) label, got shape {np.shape(label)}")
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"a label holds integer class ids, got dtype {values.dtype} (resampled bilinearly?)")
    lut = np.zeros((256, 4), dtype=np.uint8)
    alpha = int(round(255 * min(max(opacity, 0.0), 1.0)))
    for class_id in CLASS_IDS:
        lut[class_id, :3] = hex_to_rgb(CLASS_COLOURS[class_id])
        lut[class_id, 3] = alpha
    return lut[np.clip(values, 0, 255).astype(np.uint8)]


# --- maps ------------------------------------------------------------------------------------------


def new_map(bounds: Sequence[float], base: str | None = BASE_TILES, **kwargs: object) -> folium.Map:
    """A folium map framed on ``bounds`` (west, south, east, north, degrees) with a named base layer.

    ``base`` is a folium tile-layer name (``None``: no base layer); extra
    keyword arguments go to ``folium.Map`` and override the defaults (scale bar,
    zoom 14).
    """
    import folium

    west, south, east, north = (float(v) for v in bounds)
    options = {"control_scale": True, "zoom_start": 14}
    options.update(kwargs)
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, **options)
    if base:
        folium.TileLayer(base, name=f"{base} (base map)").add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def add_image_layer(
    m: folium.Map,
    rgba: np.ndarray,
    bounds: Sequence[Sequence[float]] | WarpedRaster,
    name: str,
    opacity: float = 1.0,
    show: bool = True,
) -> ImageOverlay:
    """Add an RGBA array (already on a longitude/latitude grid) as a named, switchable layer.

    ``bounds`` is ``[[south, west], [north, east]]`` or the :class:`WarpedRaster`
    the array was made from. Pixels are drawn as squares (no smoothing).
    """
    from folium.raster_layers import ImageOverlay

    corners = (
        bounds.folium_bounds if isinstance(bounds, WarpedRaster) else [list(map(float, c)) for c in bounds]
    )
    layer = ImageOverlay(
        image=np.asarray(rgba),
        bounds=corners,
        name=name,
        opacity=float(opacity),
        show=show,
        pixelated=True,
        interactive=False,
    )
    layer.add_to(m)
    return layer


def class_legend_html(class_ids: Iterable[int] | None = None, title: str = "CLC+ Backbone class") -> str:
    """HTML of a legend box: a colour swatch and the name of each class (all ten by default)."""
    ids = list(CLASS_IDS if class_ids is None else [int(i) for i in class_ids if int(i) != NODATA])
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'vertical-align:middle;border:1px solid #333;background:{CLASS_COLOURS[i]}"></span>'
        f"{i} {html.escape(CLASS_NAMES[i])}</div>"
        for i in ids
    )
    return (
        f'<div class="{LEGEND_CLASS}" style="position:absolute;bottom:28px;right:10px;z-index:1000;'
        "background:rgba(255,255,255,0.92);padding:6px 8px;border:1px solid #888;border-radius:4px;"
        f'font:12px/1.5 sans-serif;color:#111"><b>{html.escape(title)}</b>{rows}</div>'
    )


def _add_fixed_html(m: folium.Map, fragment: str, kind: str) -> MacroElement:
    """Put an HTML fragment on top of the map (inside its container, so it shows in notebooks too)."""
    from branca.element import MacroElement, Template

    element = MacroElement()
    element._name = f"landcover_{kind}"
    element.fragment = fragment
    element.landcover_kind = kind
    element._template = Template(
        "{% macro script(this, kwargs) %}\n"
        "(function() {\n"
        "  var box = document.createElement('div');\n"
        "  box.innerHTML = {{ this.fragment|tojson }};\n"
        "  {{ this._parent.get_name() }}.getContainer().appendChild(box.firstChild);\n"
        "})();\n"
        "{% endmacro %}"
    )
    m.add_child(element)
    return element


def add_class_legend(
    m: folium.Map, class_ids: Iterable[int] | None = None, title: str = "CLC+ Backbone class"
) -> MacroElement:
    """Add the class legend (names and colours of the class table) to the lower-right corner."""
    return _add_fixed_html(m, class_legend_html(class_ids, title), "legend")


def add_title(m: folium.Map, text: str) -> MacroElement:
    """A small title box at the top of the map (say what, where, and "synthetic data")."""
    fragment = (
        f'<div class="{TITLE_CLASS}" style="position:absolute;top:10px;left:54px;z-index:1000;'
        "background:rgba(255,255,255,0.92);padding:4px 8px;border:1px solid #888;border-radius:4px;"
        f'font:bold 13px/1.4 sans-serif;color:#111">{html.escape(text)}</div>'
    )
    return _add_fixed_html(m, fragment, "title")


def class_polygons(
    label: np.ndarray, transform: Affine, crs: CRS | str, pixel_area_m2: float | None = None
) -> gpd.GeoDataFrame:
    """One (multi)polygon per class present in a label, in EPSG:4326, with name and area.

    The polygons follow pixel edges in the label's own CRS, then are reprojected
    and rounded to 1e-6 degrees (about 0.1 m); the area column counts pixels of
    the label's (equal-area) grid, in km².
    """
    import geopandas as gpd
    import shapely
    from rasterio.features import shapes

    values = np.asarray(label)
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"expected a 2-D integer label, got shape {values.shape} and dtype {values.dtype}")
    if pixel_area_m2 is None:
        pixel_area_m2 = abs(transform.a * transform.e - transform.b * transform.d)
    source = values.astype(np.uint8) if values.dtype != np.uint8 else values
    pieces: dict[int, list[BaseGeometry]] = {}
    for geometry, value in shapes(source, mask=source != NODATA, transform=transform):
        pieces.setdefault(int(value), []).append(shapely.geometry.shape(geometry))
    ids = [i for i in CLASS_IDS if i in pieces]
    counts = np.bincount(source.ravel(), minlength=256)
    frame = gpd.GeoDataFrame(
        {
            "class_id": ids,
            "class_name": [CLASS_NAMES[i] for i in ids],
            "area_km2": [round(float(counts[i]) * pixel_area_m2 / 1e6, 4) for i in ids],
        },
        geometry=[shapely.union_all(pieces[i]).simplify(0) for i in ids],
        crs=crs,
    ).to_crs(WGS84)
    # A millionth of a degree is about 0.1 m: plenty for a tooltip, and it halves the map's size.
    frame["geometry"] = shapely.set_precision(frame.geometry.values, 1e-6)
    return frame


def add_class_tooltips(
    m: folium.Map,
    label: np.ndarray,
    transform: Affine,
    crs: CRS | str,
    name: str = "Class names (hover)",
    show: bool = True,
) -> folium.GeoJson:
    """An invisible layer of class polygons whose tooltips name the class under the mouse.

    Built from the label on its own grid (EPSG:3035), so the tooltip tells the
    class of the original pixel, whatever the resampling of the picture.
    """
    import folium

    polygons = class_polygons(label, transform, crs)
    layer = folium.GeoJson(
        polygons.to_json(drop_id=True),
        name=name,
        show=show,
        style_function=lambda feature: {
            "fillColor": "#ffffff",
            "fillOpacity": 0.0,
            "weight": 0,
            "opacity": 0,
        },
        highlight_function=lambda feature: {"weight": 2, "color": "#000000", "opacity": 0.8},
        tooltip=folium.GeoJsonTooltip(
            fields=["class_id", "class_name", "area_km2"],
            aliases=["Class id", "Class", "Area in this tile (km²)"],
            sticky=True,
        ),
    )
    layer.add_to(m)
    return layer


def add_outline(
    m: folium.Map,
    geometry: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries,
    crs: CRS | str,
    name: str,
    tooltip: str | None = None,
    colour: str = "#e41a1c",
    show: bool = True,
) -> folium.GeoJson:
    """Draw a polygon (shapely geometry, or a GeoDataFrame) as an outline layer with a tooltip."""
    import folium
    import geopandas as gpd

    if isinstance(geometry, gpd.GeoDataFrame | gpd.GeoSeries):
        frame = geometry.to_crs(WGS84)
    else:
        frame = gpd.GeoSeries([geometry], crs=crs).to_crs(WGS84)
    layer = folium.GeoJson(
        frame.to_json(drop_id=True) if isinstance(frame, gpd.GeoDataFrame) else frame.to_json(),
        name=name,
        show=show,
        style_function=lambda feature: {"color": colour, "weight": 2, "fill": False},
        tooltip=tooltip,
    )
    layer.add_to(m)
    return layer


def finish_map(m: folium.Map, collapsed: bool = False) -> folium.Map:
    """Add the layer control (last, so that it lists every layer); returns the map."""
    import folium

    folium.LayerControl(collapsed=collapsed).add_to(m)
    return m


def tile_map(
    rgb: np.ndarray,
    transform: Affine,
    crs: CRS | str,
    label: np.ndarray | None = None,
    title: str | None = None,
    image_name: str = "Sentinel-2 true colour",
    label_name: str = "CLC+ Backbone label",
    label_opacity: float = 0.75,
    base: str | None = BASE_TILES,
) -> folium.Map:
    """A complete map of one tile: its image and, optionally, its label as switchable layers.

    ``rgb`` is the display image (H, W, 3) in [0, 1] on the tile's grid
    (``transform``, ``crs``); ``label`` the class ids on the same grid. Image
    and label are resampled onto one longitude/latitude grid (bilinear and
    nearest), then come the outline of the tile, tooltips naming the classes,
    the legend and the layer control.
    """
    import shapely
    from rasterio.transform import array_bounds

    image = np.moveaxis(np.asarray(rgb, dtype=np.float32), -1, 0)
    height, width = image.shape[1:]
    grid = wgs84_grid(crs, transform, width, height)
    warped = reproject_to_wgs84(image, transform, crs, "bilinear", grid=grid)
    m = new_map(warped.bounds, base=base)
    add_image_layer(m, rgba_image(np.moveaxis(warped.array, 0, -1), warped.valid), warped, image_name)
    if label is not None:
        if np.shape(label) != (height, width):
            raise ValueError(f"label shape {np.shape(label)} differs from the image's {(height, width)}")
        warped_label = reproject_to_wgs84(np.asarray(label), transform, crs, "nearest", grid=grid)
        add_image_layer(m, class_rgba(warped_label.array[0]), warped_label, label_name, opacity=label_opacity)
        add_class_tooltips(m, np.asarray(label), transform, crs)
    left, bottom, right, top = array_bounds(height, width, transform)
    add_outline(
        m, shapely.box(left, bottom, right, top), crs, "Tile outline", tooltip="Tile (EPSG:3035, 2.5 km)"
    )
    if label is not None:
        from landcover.viz import classes_present

        add_class_legend(m, classes_present(label))
    if title:
        add_title(m, title)
    return finish_map(m)


# --- what a map holds (for checks and tests) ----------------------------------------------------


def map_layers(m: folium.Map) -> dict[str, list[Element]]:
    """The children of a folium map by kind: ``images``, ``tiles``, ``geojson``, ``controls``, ``legends``, ``colorbars``."""
    import folium
    from folium.raster_layers import ImageOverlay

    found: dict[str, list[Element]] = {
        "images": [],
        "tiles": [],
        "geojson": [],
        "controls": [],
        "legends": [],
        "colorbars": [],
    }
    for child in m._children.values():
        if isinstance(child, ImageOverlay):
            found["images"].append(child)
        elif isinstance(child, folium.TileLayer):
            found["tiles"].append(child)
        elif isinstance(child, folium.GeoJson):
            found["geojson"].append(child)
        elif isinstance(child, folium.LayerControl):
            found["controls"].append(child)
        elif getattr(child, "landcover_kind", None) == "legend":
            found["legends"].append(child)
        elif getattr(child, "landcover_kind", None) == "colorbar":
            found["colorbars"].append(child)
    return found


def overlay_image(layer: ImageOverlay) -> np.ndarray:
    """The RGBA pixels of a folium ``ImageOverlay`` made from an array (decoded from its PNG data URL)."""
    import base64
    import io

    from PIL import Image

    url = str(layer.url)
    prefix = "data:image/png;base64,"
    if not url.startswith(prefix):
        raise ValueError("this image overlay was not made from an array (its URL is not an embedded PNG)")
    with Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))) as picture:
        return np.asarray(picture.convert("RGBA"))


# --- predictions: classes, probability, polygons ---------------------------------------------------

#: Colour scale of probability layers (matplotlib name): perceptually uniform, readable in grey.
PROBABILITY_CMAP = "viridis"
#: CSS class of colour bars, so tests and checks can find them in a map's HTML.
COLORBAR_CLASS = "landcover-colorbar"


def image_rgb(image: Mapping[str, Any]) -> np.ndarray:
    """A display image (H, W, 3) in [0, 1] of an image dict as ``get_satellite_image`` returns it.

    Takes B4, B3, B2 by their names (``band_names``) when present, the
    true-colour channels of a 14-band tile otherwise, or three bands as they
    are (assumed red, green, blue); stretched by :func:`landcover.viz.percentile_stretch`.

    Raises
    ------
    ValueError
        If the image holds neither the true-colour bands nor exactly three bands.
    """
    from landcover.bands import N_BANDS
    from landcover.viz import TRUE_COLOUR_BANDS, percentile_stretch, true_colour

    array = np.asarray(image["array"])
    if array.ndim != 3:
        raise ValueError(f"image['array'] must be (bands, rows, cols), got shape {array.shape}")
    names = list(image.get("band_names") or [])
    if len(names) == array.shape[0] and all(b in names for b in TRUE_COLOUR_BANDS):
        picked = array[[names.index(b) for b in TRUE_COLOUR_BANDS]]
        return percentile_stretch(np.moveaxis(picked, 0, -1))
    if array.shape[0] == N_BANDS:
        return true_colour(array)
    if array.shape[0] == 3:
        return percentile_stretch(np.moveaxis(array, 0, -1))
    raise ValueError(
        f"image has {array.shape[0]} bands ({names or 'unnamed'}): a map needs B4, B3, B2 or three RGB bands"
    )


def probability_rgba(probability: np.ndarray, cmap: str = PROBABILITY_CMAP, opacity: float = 1.0) -> np.ndarray:
    """Probabilities (rows, cols) in [0, 1] as uint8 RGBA on a continuous colour scale; NaN transparent."""
    from matplotlib import colormaps

    values = np.asarray(probability, dtype=np.float32)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"expected a (rows, cols) probability, got shape {np.shape(probability)}")
    finite = np.isfinite(values)
    rgba = (colormaps[cmap](np.clip(np.nan_to_num(values), 0.0, 1.0)) * 255).round().astype(np.uint8)
    rgba[..., 3] = np.where(finite, int(round(255 * min(max(opacity, 0.0), 1.0))), 0)
    return rgba


def colorbar_html(
    caption: str, vmin: float = 0.0, vmax: float = 1.0, cmap: str = PROBABILITY_CMAP, ticks: int = 5
) -> str:
    """HTML of a horizontal colour bar: the colour scale as a gradient, tick values and a caption.

    Plain HTML and CSS, so it shows offline (folium's own colour maps need a
    script from the internet).
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    scale = colormaps[cmap]
    stops = ", ".join(f"{to_hex(scale(k / 10))} {k * 10}%" for k in range(11))
    labels = "".join(
        f'<span style="position:absolute;left:{100 * k / (ticks - 1):.0f}%;transform:translateX(-50%)">'
        f"{vmin + (vmax - vmin) * k / (ticks - 1):g}</span>"
        for k in range(ticks)
    )
    return (
        f'<div class="{COLORBAR_CLASS}" style="position:absolute;bottom:28px;left:10px;z-index:1000;'
        "background:rgba(255,255,255,0.92);padding:6px 12px 18px;border:1px solid #888;border-radius:4px;"
        f'font:12px/1.5 sans-serif;color:#111;width:200px"><b>{html.escape(caption)}</b>'
        f'<div style="height:12px;border:1px solid #333;background:linear-gradient(to right, {stops})"></div>'
        f'<div style="position:relative;height:14px">{labels}</div></div>'
    )


def add_colorbar(m: folium.Map, caption: str, vmin: float = 0.0, vmax: float = 1.0) -> MacroElement:
    """Add a colour bar (lower-left corner) for a continuous layer such as a probability."""
    return _add_fixed_html(m, colorbar_html(caption, vmin, vmax), "colorbar")


def _tile_outline(m: folium.Map, transform: Affine, crs: CRS | str, shape: tuple[int, int]) -> folium.GeoJson:
    import shapely
    from rasterio.transform import array_bounds

    height, width = shape
    left, bottom, right, top = array_bounds(height, width, transform)
    size_km = f"{(right - left) / 1000:g} x {(top - bottom) / 1000:g} km"
    return add_outline(
        m, shapely.box(left, bottom, right, top), crs, "Image outline", tooltip=f"Image ({size_km}, {crs})"
    )


def prediction_map(
    image: Mapping[str, Any],
    prediction: np.ndarray,
    label: np.ndarray | None = None,
    probability: np.ndarray | None = None,
    title: str | None = None,
    rgb: np.ndarray | None = None,
    prediction_opacity: float = 0.75,
    base: str | None = BASE_TILES,
) -> folium.Map:
    """An interactive map of a prediction: image, predicted classes, and the label and probability if given.

    Every overlay is its own named layer, switched in the layer control:
    the true-colour image (bilinear), the predicted classes in the class
    table's colours (nearest: a class is never averaged), the reference label
    (hidden at first, for comparison), the probability on a continuous colour
    scale with a colour bar (hidden at first), tooltips naming the predicted
    class under the mouse (and, switched off at first, the label's), and the
    image outline. The class legend lists the classes present.

    Parameters
    ----------
    image : Mapping
        The dict of :func:`landcover.data.get_satellite_image`: ``array``
        (bands, rows, cols), ``transform`` (pixel -> EPSG:3035 metres), ``crs``,
        and ``band_names`` when read by name.
    prediction : numpy.ndarray
        Predicted class ids (rows, cols), 1..10, 0 = nodata, on the image's grid.
    label : numpy.ndarray, optional
        Reference classes on the same grid (CLC+ Backbone).
    probability : numpy.ndarray, optional
        Per-pixel probability in [0, 1] (e.g. of the predicted class), NaN where none.
    title : str, optional
        Title box text (say what, where, and "synthetic data" where it is).
    rgb : numpy.ndarray, optional
        Display image (rows, cols, 3) in [0, 1]; by default :func:`image_rgb`.
    prediction_opacity : float
        Opacity of the class layers, 0..1.
    base : str, optional
        Base layer name (``None``: none; offline the base layer is a grey background).

    Returns
    -------
    folium.Map
        The finished map (layer control added).

    Raises
    ------
    ValueError
        If a raster's shape differs from the image's, a mask holds no integer
        class ids, or the probability leaves [0, 1].
    """
    from landcover.viz import classes_present

    transform, crs = image["transform"], image["crs"]
    display = image_rgb(image) if rgb is None else np.asarray(rgb, dtype=np.float32)
    if display.ndim != 3 or display.shape[-1] != 3:
        raise ValueError(f"rgb must be (rows, cols, 3), got shape {display.shape}")
    shape = display.shape[:2]

    def fitted(values: np.ndarray, name: str) -> np.ndarray:
        array = np.asarray(values)
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape} but the image is {shape} pixels")
        return array

    predicted = fitted(prediction, "prediction")
    if not np.issubdtype(predicted.dtype, np.integer):
        raise ValueError(f"prediction must hold integer class ids, got dtype {predicted.dtype}")
    reference = None if label is None else fitted(label, "label")
    if reference is not None and not np.issubdtype(reference.dtype, np.integer):
        raise ValueError(f"label must hold integer class ids, got dtype {reference.dtype}")
    chance = None if probability is None else fitted(probability, "probability").astype(np.float32)
    if chance is not None:
        finite = chance[np.isfinite(chance)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise ValueError(
                f"probability must lie in [0, 1], got {float(finite.min()):g}..{float(finite.max()):g}"
            )

    grid = wgs84_grid(crs, transform, shape[1], shape[0])
    warped = reproject_to_wgs84(np.moveaxis(display, -1, 0), transform, crs, "bilinear", grid=grid)
    m = new_map(warped.bounds, base=base)
    add_image_layer(m, rgba_image(np.moveaxis(warped.array, 0, -1), warped.valid), warped, "Sentinel-2 true colour")
    if reference is not None:
        warped_label = reproject_to_wgs84(reference, transform, crs, "nearest", grid=grid)
        add_image_layer(
            m, class_rgba(warped_label.array[0]), warped_label, "CLC+ Backbone label",
            opacity=prediction_opacity, show=False,
        )
    warped_prediction = reproject_to_wgs84(predicted, transform, crs, "nearest", grid=grid)
    add_image_layer(
        m, class_rgba(warped_prediction.array[0]), warped_prediction, "Predicted classes", opacity=prediction_opacity
    )
    if chance is not None:
        warped_chance = reproject_to_wgs84(chance, transform, crs, "bilinear", grid=grid)
        add_image_layer(
            m, probability_rgba(warped_chance.array[0]), warped_chance, "Probability of the predicted class",
            opacity=0.85, show=False,
        )
        add_colorbar(m, "Probability of the predicted class")
    add_class_tooltips(m, predicted, transform, crs, name="Predicted class (hover)")
    if reference is not None:
        add_class_tooltips(m, reference, transform, crs, name="Label class (hover)", show=False)
    _tile_outline(m, transform, crs, shape)
    present = set(classes_present(predicted)) | (set() if reference is None else set(classes_present(reference)))
    add_class_legend(m, [i for i in CLASS_IDS if i in present])
    if title:
        add_title(m, title)
    return finish_map(m)


def polygon_layer_frame(polygons: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Class polygons ready for a web map: EPSG:4326, ``class_name`` and ``area_km2`` filled in.

    Areas are measured in EPSG:3035 (equal-area) when the polygons do not
    carry an ``area_km2`` column already; coordinates are rounded to 1e-6
    degrees (about 0.1 m).
    """
    import shapely

    if polygons.crs is None:
        raise ValueError("polygons have no CRS: set it (EPSG:3035 for the tiles) before mapping them")
    if "class_id" not in polygons.columns:
        raise ValueError(f"polygons need a 'class_id' column, got columns {list(polygons.columns)}")
    unknown = sorted(set(int(i) for i in polygons["class_id"]) - set(CLASS_IDS))
    if unknown:
        raise ValueError(f"polygons hold class_id values {unknown} that are not classes 1..10")
    frame = polygons[["class_id", "geometry"] + (["area_km2"] if "area_km2" in polygons.columns else [])].copy()
    frame["class_id"] = frame["class_id"].astype(int)
    frame["class_name"] = [CLASS_NAMES[i] for i in frame["class_id"]]
    if "area_km2" not in frame.columns:
        frame["area_km2"] = frame.geometry.to_crs("EPSG:3035").area / 1e6
    frame["area_km2"] = frame["area_km2"].astype(float).round(4)
    frame = frame.to_crs(WGS84)
    frame["geometry"] = shapely.set_precision(frame.geometry.values, 1e-6)
    return frame[~frame.geometry.is_empty][["class_id", "class_name", "area_km2", "geometry"]]


def add_class_polygons(
    m: folium.Map,
    polygons: gpd.GeoDataFrame,
    name: str = "Predicted polygons",
    opacity: float = 0.7,
    show: bool = True,
) -> folium.GeoJson:
    """Add class polygons as a GeoJSON layer filled in the class colours, with name and area tooltips."""
    import folium

    frame = polygon_layer_frame(polygons)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = CLASS_COLOURS[int(feature["properties"]["class_id"])]
        return {"fillColor": colour, "color": colour, "weight": 0.6, "fillOpacity": float(opacity), "opacity": 0.9}

    layer = folium.GeoJson(
        frame.to_json(drop_id=True),
        name=name,
        show=show,
        style_function=style,
        highlight_function=lambda feature: {"weight": 2, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["class_name", "area_km2"], aliases=["Class", "Area (km²)"], sticky=True
        ),
    )
    layer.add_to(m)
    return layer


def polygon_map(
    polygons: gpd.GeoDataFrame,
    title: str | None = None,
    name: str = "Predicted polygons",
    base: str | None = BASE_TILES,
) -> folium.Map:
    """An interactive map of class polygons (e.g. a region's prediction), coloured by class.

    ``polygons`` has a ``class_id`` column and a CRS (EPSG:3035 from
    :func:`landcover.inference.create_geojson_from_mask`, or any other);
    tooltips give the class name and the area in km², measured in EPSG:3035.
    """
    from landcover.viz import classes_present

    frame = polygon_layer_frame(polygons)
    if frame.empty:
        raise ValueError("polygons is empty: there is nothing to map")
    m = new_map(frame.total_bounds, base=base, zoom_start=12)
    add_class_polygons(m, frame, name=name)
    add_class_legend(m, classes_present(frame["class_id"].to_numpy()))
    if title:
        add_title(m, title)
    return finish_map(m)
