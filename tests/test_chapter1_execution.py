"""Chapter 1 runs with its data root on a web server, and its web maps draw every pixel in its place.

One execution of the chapter (module fixture) in a real Jupyter kernel, offline,
with ``LANDCOVER_DATA_ROOT`` pointing at the synthetic data served over HTTP
(with Range support, as the real bucket). Then the chapter's folium maps are
opened in headless Chromium and screenshotted: sample points of the label whose
neighbourhood is one class must show that class's colour where WGS84 puts them,
and the corners outside the turned tile must stay transparent. A map stretched
over the tile's envelope, the mistake the chapter warns about, fails the same test.

Chromium and Leaflet are not part of the Python environment:

- ``chromium`` on the PATH (Debian: ``apt-get install chromium``), or
  ``LANDCOVER_CHROMIUM`` naming the binary; the browser tests skip without it.
- Leaflet's JavaScript and CSS, which folium loads from a CDN, are fetched once with
  ``npm pack`` from the npm registry into ``.cache/web-assets/`` (git-ignored); the
  tests skip when neither the cache nor npm can provide them.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import Transformer

from landcover.book.execute import ChapterRun, cell_text, run_chapter
from landcover.book.project import load_book
from landcover.book.qmd import exercises

ROOT = Path(__file__).resolve().parents[1]
STEM = "4042000_2951690_0_637"
ASSET_CACHE = ROOT / ".cache" / "web-assets"
WINDOW = (1100, 1000)
ZOOM = 15
BACKGROUND = (221, 221, 221)  # Leaflet's map background (#ddd), seen where no layer draws

pytestmark = [pytest.mark.slow, pytest.mark.network]


# --- the chapter over HTTP -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_run(
    synthetic_dir: Path, http_server: Callable[[Path], Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ChapterRun, Any]:
    server = http_server(synthetic_dir)
    book = load_book(ROOT)
    out = tmp_path_factory.mktemp("chapter1-http")
    env = {"LANDCOVER_DATA_ROOT": server.url, "LANDCOVER_ONLINE": "0"}
    run = run_chapter(
        book.find_chapter("1-acquisition"), book, out, offline=True, html=False, progress=False, env=env
    )
    return run, server


def test_chapter_runs_with_the_synthetic_data_served_over_http(http_run: tuple[ChapterRun, Any]) -> None:
    run, server = http_run
    assert run.ok, run.failure
    cells = run.cells_by_label()
    assert server.url in cell_text(cells["acq-paths"])  # the paths really point at the web server
    for ex in exercises(load_book(ROOT).find_chapter("1-acquisition"))[0]:
        assert f"✅ {ex.id}: correct." in cell_text(cells[f"{ex.id}-solution"]), ex.id
    served = {record.path.rsplit("/", 1)[-1] for record in server.log.records if record.status in (200, 206)}
    assert f"{STEM}.tif" in served and f"{STEM}.npy" in served
    assert {
        "filename2bbox.parquet",
        "NUTS_RG_01M_2021_3035_LEVL_3.geojson",
        ".synthetic-complete.json",
    } <= served
    ranged = [r for r in server.log.records if r.path.endswith(f"{STEM}.tif") and r.range]
    assert ranged, "GDAL reads tiles with range requests"
    assert "synthetic data" in cell_text(cells["acq-setup"])


def map_html(run: ChapterRun, label: str) -> str:
    """The full HTML of the folium map a cell displayed (folium puts it in an iframe's srcdoc)."""
    for output in run.cells_by_label()[label].outputs:
        fragment = output.get("data", {}).get("text/html", "")
        found = re.search(r'srcdoc="([^"]*)"', fragment)
        if found:
            return html.unescape(found.group(1))
    raise AssertionError(f"cell {label} shows no folium map")


def test_maps_say_they_show_synthetic_data(http_run: tuple[ChapterRun, Any]) -> None:
    run, _ = http_run
    for label in ("acq-tile-map-show", "acq-label-map-show"):
        page = map_html(run, label)
        assert "synthetic data" in page and "L.control.layers" in page
    assert "landcover-legend" in map_html(run, "acq-label-map-show")


# --- a browser, and Leaflet without the internet ------------------------------------------------


def chromium_binary() -> str:
    for candidate in (os.environ.get("LANDCOVER_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)  # type: ignore[return-value]
    pytest.skip("no Chromium on the PATH (apt-get install chromium, or set LANDCOVER_CHROMIUM)")


def _npm_file(package: str, version: str, inside: str) -> Path:
    """A file of an npm package, fetched once with `npm pack` into the asset cache."""
    target = ASSET_CACHE / f"{package}-{version}" / inside
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"{package}@{version} is not in {ASSET_CACHE} and npm is not installed to fetch it")
    ASSET_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ASSET_CACHE) as work:
        result = subprocess.run(
            [npm, "pack", f"{package}@{version}", "--pack-destination", work, "--silent"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        archives = list(Path(work).glob("*.tgz"))
        if result.returncode != 0 or not archives:
            pytest.skip(f"npm could not fetch {package}@{version}: {result.stderr.strip()[:200]}")
        with tarfile.open(archives[0]) as archive:
            archive.extractall(work, filter="data")
        unpacked = Path(work) / "package"
        final = ASSET_CACHE / f"{package}-{version}"
        if not final.exists():
            os.replace(unpacked, final)  # whole folder at once: never half a package in the cache
    return target


def offline_assets() -> dict[str, str]:
    """CDN URL -> local file URL for what a folium map needs to draw (Leaflet); the rest is emptied."""
    import folium

    mapping: dict[str, str] = {}
    for _, url in [*folium.Map.default_js, *folium.Map.default_css]:
        found = re.search(r"/npm/leaflet@([\d.]+)/dist/(leaflet\.(?:js|css))$", url)
        if found:
            mapping[url] = _npm_file("leaflet", found.group(1), f"dist/{found.group(2)}").as_uri()
        else:
            mapping[url] = "data:,"  # jQuery, Bootstrap, icons: not needed to draw overlays
    return mapping


PROBE = """
<script>
window.addEventListener("load", function () {
  var map = Object.keys(window).map(function (k) { return window[k]; })
    .filter(function (v) { return v instanceof L.Map; })[0];
  var controls = Object.keys(window).filter(function (k) { return /^layer_control_.*_layers$/.test(k); });
  var overlays = controls.length ? window[controls[0]].overlays : {};
  Object.keys(overlays).forEach(function (name) {
    var layer = overlays[name];
    if (name === KEEP) { layer.addTo(map); if (layer.setOpacity) { layer.setOpacity(1); } }
    else if (map.hasLayer(layer)) { map.removeLayer(layer); }
  });
  map.eachLayer(function (layer) { if (layer instanceof L.TileLayer) { map.removeLayer(layer); } });
  document.querySelectorAll(".landcover-legend, .landcover-map-title, .leaflet-control-container")
    .forEach(function (e) { e.style.display = "none"; });
  map.setView(CENTER, ZOOM, {animate: false});
});
</script>
"""


def screenshot(page: str, keep: str, center: tuple[float, float], folder: Path, name: str) -> np.ndarray:
    """Draw ``page`` with only the overlay ``keep``, opaque, centred on (lat, lon) at ZOOM; RGB pixels."""
    browser = chromium_binary()  # skips first when there is no browser, before fetching anything
    for url, local in offline_assets().items():
        page = page.replace(url, local)
    probe = PROBE.replace("KEEP", json.dumps(keep)).replace("CENTER", json.dumps(list(center)))
    page = page.replace("</html>", probe.replace("ZOOM", str(ZOOM)) + "</html>")
    folder.mkdir(parents=True, exist_ok=True)
    source, picture = folder / f"{name}.html", folder / f"{name}.png"
    source.write_text(page, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--virtual-time-budget=10000",
                f"--screenshot={picture}",
                source.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert picture.exists(), result.stderr[-2000:]
    from PIL import Image

    with Image.open(picture) as image:
        return np.asarray(image.convert("RGB"))


def screen_xy(lon: np.ndarray, lat: np.ndarray, center: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Where Leaflet draws (lon, lat): Web Mercator at ZOOM, with ``center`` (lat, lon) mid-window."""
    scale = 256 * 2**ZOOM

    def project(lo: Any, la: Any) -> tuple[Any, Any]:
        phi = np.radians(la)
        return (np.asarray(lo) + 180) / 360 * scale, (
            1 - np.log(np.tan(phi) + 1 / np.cos(phi)) / math.pi
        ) / 2 * scale

    x, y = project(lon, lat)
    cx, cy = project(center[1], center[0])
    return x - cx + WINDOW[0] / 2, y - cy + WINDOW[1] / 2


def uniform_label_points(label: np.ndarray, transform: Any, count: int = 1500) -> tuple[np.ndarray, ...]:
    """Pixels whose 3 x 3 neighbourhood is one class, so that rounding (under half a pixel) cannot
    change the colour but a misplacement of a pixel or more often does."""
    from scipy.ndimage import maximum_filter, minimum_filter

    same = (maximum_filter(label, 3) == minimum_filter(label, 3)) & (label > 0)
    same[:2], same[-2:], same[:, :2], same[:, -2:] = False, False, False, False
    rows, cols = np.nonzero(same)
    chosen = np.random.default_rng(0).choice(len(rows), size=min(count, len(rows)), replace=False)
    rows, cols = rows[chosen], cols[chosen]
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    lon, lat = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(xs, ys)
    return np.asarray(lon), np.asarray(lat), label[rows, cols]


def colours_at(pixels: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return pixels[np.round(y).astype(int), np.round(x).astype(int)].astype(int)


def class_match_rate(
    pixels: np.ndarray, lon: np.ndarray, lat: np.ndarray, classes: np.ndarray, center: Any
) -> float:
    from landcover.classes import CLASS_COLOURS

    x, y = screen_xy(lon, lat, center)
    seen = colours_at(pixels, x, y)
    wanted = np.array([[int(CLASS_COLOURS[c][k : k + 2], 16) for k in (1, 3, 5)] for c in classes])
    return float(np.mean(np.all(np.abs(seen - wanted) <= 12, axis=1)))


def edge_points(bounds: tuple[float, ...], offset_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points ``offset_m`` outside (or, negative, inside) the middle of each edge of a tile, in lon/lat."""
    left, bottom, right, top = bounds
    mx, my = (left + right) / 2, (bottom + top) / 2
    xs = np.array([mx, mx, left - offset_m, right + offset_m])
    ys = np.array([top + offset_m, bottom - offset_m, my, my])
    lon, lat = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)


@pytest.fixture(scope="module")
def chapter_tile(synthetic_dir: Path) -> dict[str, Any]:
    from landcover.data import load_label, read_tile

    root = str(synthetic_dir)
    tile = read_tile("LU000", 2021, STEM, root=root)
    tile["label"] = load_label(os.path.join(root, "labels", "LU000", "2021", f"{STEM}.npy"))
    return tile


def tile_center(tile: dict[str, Any]) -> tuple[float, float]:
    left, bottom, right, top = tile["bounds"]
    lon, lat = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(
        (left + right) / 2, (bottom + top) / 2
    )
    return lat, lon


def test_label_map_draws_each_class_where_it_is(
    http_run: tuple[ChapterRun, Any], chapter_tile: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    run, _ = http_run
    folder = tmp_path_factory.mktemp("screenshots")
    center = tile_center(chapter_tile)
    pixels = screenshot(
        map_html(run, "acq-label-map-show"), "CLC+ Backbone label", center, folder, "label-map"
    )
    lon, lat, classes = uniform_label_points(chapter_tile["label"], chapter_tile["transform"])
    assert len(classes) >= 100
    assert class_match_rate(pixels, lon, lat, classes, center) >= 0.98
    # Outside the turned tile (but inside its envelope) nothing is drawn; just inside, the label is.
    x, y = screen_xy(*edge_points(chapter_tile["bounds"], 40.0), center)
    assert (colours_at(pixels, x, y) == BACKGROUND).all()
    x, y = screen_xy(*edge_points(chapter_tile["bounds"], -40.0), center)
    assert not (colours_at(pixels, x, y) == BACKGROUND).all(axis=1).any()


def test_tile_map_leaves_the_corners_empty(
    http_run: tuple[ChapterRun, Any], tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path
) -> None:
    from landcover.data import read_tile

    run, _ = http_run
    tile = read_tile("LU000", 2024, STEM, root=str(synthetic_dir))
    center = tile_center(tile)
    pixels = screenshot(
        map_html(run, "acq-tile-map-show"),
        "Sentinel-2 true colour",
        center,
        tmp_path_factory.mktemp("screenshots"),
        "tile-map",
    )
    x, y = screen_xy(*edge_points(tile["bounds"], 40.0), center)
    assert (colours_at(pixels, x, y) == BACKGROUND).all()
    x, y = screen_xy(*edge_points(tile["bounds"], -40.0), center)
    assert not (colours_at(pixels, x, y) == BACKGROUND).all(axis=1).any()


def test_a_stretched_overlay_fails_the_same_test(
    chapter_tile: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The control: the tile's own pixels stretched over its WGS84 envelope are misplaced."""
    import folium
    from rasterio.warp import transform_bounds

    from landcover.webmaps import class_rgba, finish_map, new_map

    west, south, east, north = transform_bounds("EPSG:3035", "EPSG:4326", *chapter_tile["bounds"])
    m = new_map((west, south, east, north))
    folium.raster_layers.ImageOverlay(
        class_rgba(chapter_tile["label"]), [[south, west], [north, east]], name="CLC+ Backbone label"
    ).add_to(m)
    page = finish_map(m).get_root().render()
    center = tile_center(chapter_tile)
    pixels = screenshot(
        page, "CLC+ Backbone label", center, tmp_path_factory.mktemp("screenshots"), "stretched"
    )
    lon, lat, classes = uniform_label_points(chapter_tile["label"], chapter_tile["transform"])
    assert class_match_rate(pixels, lon, lat, classes, center) < 0.85
    x, y = screen_xy(*edge_points(chapter_tile["bounds"], 40.0), center)
    assert not (colours_at(pixels, x, y) == BACKGROUND).all()  # the corners are covered: wrongly
