"""Zonal statistics of a class raster in regions (landcover.stats.zonal): pixel-centre and exact rules."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from shapely.geometry import Point, Polygon, box

from landcover.data.paths import parse_tile_name
from landcover.stats import (
    exact_coverage_counts,
    pixel_centre_counts,
    region_coverage,
    transition_matrix,
    transitions_by_region,
)

PIXEL = 10.0
X0, Y0 = 4_000_000.0, 3_000_000.0  # top-left corner of the test raster, EPSG:3035
SIZE, BLOCK = 400, 20  # 4 km x 4 km raster of 200 m blocks of one class each
TRANSFORM = Affine(PIXEL, 0.0, X0, 0.0, -PIXEL, Y0)


def _blocks(seed: int, low: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(low, 11, size=(SIZE // BLOCK, SIZE // BLOCK)).astype(np.uint8)
    return blocks


def _raster(blocks: np.ndarray) -> np.ndarray:
    return np.kron(blocks, np.ones((BLOCK, BLOCK), dtype=np.uint8))


def _inside_region() -> Polygon:
    """An irregular region well inside the raster (a circle with a bite taken out), vertices off the grid."""
    circle = Point(X0 + 2003.3, Y0 - 1997.1).buffer(1501.7, 64)
    return circle.difference(box(X0 + 1800.2, Y0 - 2400.4, X0 + 3700.9, Y0 - 1900.6))


REGIONS = gpd.GeoDataFrame(
    {"NUTS_ID": ["XX001", "XX002", "XX003"]},
    geometry=[
        _inside_region(),
        box(X0 + 3000.4, Y0 - 3000.7, X0 + 5000.2, Y0 - 1000.3),  # half of it east of the raster
        box(X0 + 9000.0, Y0 - 1000.0, X0 + 9500.0, Y0 - 500.0),  # outside the raster
    ],
    crs="EPSG:3035",
)


def _block_polygons(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.indices(blocks.shape)
    size = BLOCK * PIXEL
    polygons = shapely.box(X0 + cols * size, Y0 - (rows + 1) * size, X0 + (cols + 1) * size, Y0 - rows * size)
    return polygons.ravel(), blocks.ravel()


def _pixel_centres_inside(geometry: Polygon, raster: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(raster.shape)
    return shapely.contains_xy(geometry, X0 + (cols + 0.5) * PIXEL, Y0 - (rows + 0.5) * PIXEL)


def _border_bound_pixels(geometry: Polygon) -> float:
    """Most pixels the boundary can cross: a segment spanning dx, dy crosses at most dx/s + 1 vertical
    and dy/s + 1 horizontal grid lines, entering a new pixel at each, so it touches at most
    dx/s + dy/s + 3 pixels. Only those pixels can count differently under the two rules, by at most
    one pixel each (a wholly inside or outside pixel counts 1 or 0 under both)."""
    total = 0.0
    for ring in [geometry.exterior, *geometry.interiors]:
        xy = np.asarray(ring.coords)
        steps = np.abs(np.diff(xy, axis=0))
        total += (steps.sum(axis=1) / PIXEL + 3).sum()
    return total


def test_pixel_centre_counts_are_the_pixels_whose_centre_is_inside() -> None:
    raster = _raster(_blocks(1))
    counts = pixel_centre_counts(raster, TRANSFORM, REGIONS)
    assert counts.columns.tolist() == ["region", "class", "pixels", "area_km2"]
    assert len(counts) == 3 * 10  # every class of every region, zeros included
    for region, geometry in zip(REGIONS["NUTS_ID"], REGIONS.geometry):
        inside = _pixel_centres_inside(geometry, raster)
        expected = np.bincount(raster[inside], minlength=11)[1:]
        got = counts.loc[counts["region"] == region, "pixels"].to_numpy()
        assert got.tolist() == expected.tolist(), region
    assert counts["area_km2"].to_numpy() == pytest.approx(counts["pixels"].to_numpy() * 1e-4)


def test_exact_coverage_counts_equal_the_polygon_overlays() -> None:
    blocks = _blocks(2)
    exact = exact_coverage_counts(_raster(blocks), TRANSFORM, REGIONS)
    polygons, classes = _block_polygons(blocks)
    for region, geometry in zip(REGIONS["NUTS_ID"], REGIONS.geometry):
        overlap = shapely.area(shapely.intersection(polygons, geometry)) / 1e6
        expected = np.bincount(classes, weights=overlap, minlength=11)[1:]
        got = exact.loc[exact["region"] == region, "area_km2"].to_numpy()
        assert got == pytest.approx(expected, abs=1e-9), region


def test_both_rules_agree_within_the_border_strip_and_add_up_to_the_region() -> None:
    raster = _raster(_blocks(3, low=1))  # no nodata: the region is fully covered
    region = REGIONS.iloc[[0]]
    geometry = region.geometry.iloc[0]
    centre = pixel_centre_counts(raster, TRANSFORM, region)
    exact = exact_coverage_counts(raster, TRANSFORM, region)
    difference = (centre["pixels"] - exact["pixels"]).abs()
    bound = _border_bound_pixels(geometry)
    assert (difference <= bound).all()
    # Exact coverage adds up to the polygon's area; the centre rule to within the same strip.
    assert exact["area_km2"].sum() == pytest.approx(geometry.area / 1e6, rel=1e-9)
    assert abs(centre["pixels"].sum() - geometry.area / PIXEL**2) <= bound
    # How close they are in practice: the sound bound here is ~2,000 pixels (0.2 km² of a
    # 6 km² region), but border errors cancel out, and the two rules differ by a few
    # pixels per class: under 0.1 % of each class's area.
    assert (difference <= 0.001 * exact["pixels"]).all()


def test_coverage_of_a_region_partly_outside_the_raster() -> None:
    raster = _raster(_blocks(4))
    coverage = region_coverage(raster, TRANSFORM, REGIONS).set_index("region")
    assert coverage.loc["XX001", "in_tiles_km2"] == pytest.approx(REGIONS.geometry.iloc[0].area / 1e6, rel=2e-3)
    half = REGIONS.geometry.iloc[1]
    raster_box = box(X0, Y0 - SIZE * PIXEL, X0 + SIZE * PIXEL, Y0)
    assert coverage.loc["XX002", "in_tiles_km2"] == pytest.approx(half.intersection(raster_box).area / 1e6, rel=2e-3)
    assert coverage.loc["XX002", "coverage"] < 0.5
    for region, geometry in zip(REGIONS["NUTS_ID"][:2], REGIONS.geometry[:2]):
        inside = _pixel_centres_inside(geometry, raster)
        nodata = int((raster[inside] == 0).sum())
        assert coverage.loc[region, "nodata_km2"] == pytest.approx(nodata * 1e-4)
        assert coverage.loc[region, "nodata_share"] == pytest.approx(nodata / inside.sum())
        assert coverage.loc[region, "coverage"] == pytest.approx((inside.sum() - nodata) * 1e-4 / (geometry.area / 1e6))
    assert coverage.loc["XX003", "coverage"] == 0.0
    assert np.isnan(coverage.loc["XX003", "nodata_share"])


def test_footprint_limits_what_counts_as_inside_tiles() -> None:
    raster = _raster(_blocks(5, low=1))
    footprint = np.zeros(raster.shape, dtype=bool)
    footprint[:, : SIZE // 2] = True  # only the western half has tiles
    region = gpd.GeoDataFrame({"NUTS_ID": ["XX"]}, geometry=[box(X0, Y0 - SIZE * PIXEL, X0 + SIZE * PIXEL, Y0)],
                              crs="EPSG:3035")
    coverage = region_coverage(raster, TRANSFORM, region, footprint=footprint).iloc[0]
    assert coverage["region_area_km2"] == pytest.approx(16.0)
    assert coverage["in_tiles_km2"] == pytest.approx(8.0)
    assert coverage["coverage"] == pytest.approx(0.5)
    assert coverage["nodata_share"] == 0.0


def test_regions_in_another_crs_are_reprojected() -> None:
    raster = _raster(_blocks(6))
    direct = pixel_centre_counts(raster, TRANSFORM, REGIONS)
    via_wgs84 = pixel_centre_counts(raster, TRANSFORM, REGIONS.to_crs("EPSG:4326"))
    assert via_wgs84["pixels"].tolist() == direct["pixels"].tolist()
    exact = exact_coverage_counts(raster, TRANSFORM, REGIONS.to_crs("EPSG:4326"))
    assert exact["area_km2"].to_numpy() == pytest.approx(exact_coverage_counts(raster, TRANSFORM, REGIONS)["area_km2"].to_numpy())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, t, g: (r, t, g.set_crs(None, allow_override=True)), "regions has no CRS"),
        (lambda r, t, g: (r, t, g.rename(columns={"NUTS_ID": "id"})), "no column 'NUTS_ID'"),
        (lambda r, t, g: (r, t, g.assign(NUTS_ID=["A", "A", "B"])), "repeated ids"),
        (lambda r, t, g: (r, t, pd.DataFrame(g)), "regions must be a GeoDataFrame"),
        (lambda r, t, g: (r, (10, 0, 0, 0, -10, 0), g), "transform must be an affine.Affine"),
        (lambda r, t, g: (r, Affine(10, 1, X0, 0, -10, Y0), g), "north-up"),
        (lambda r, t, g: (r.astype(np.float32), t, g), "class_raster must hold integer"),
        (lambda r, t, g: (np.where(r == 3, 42, r).astype(np.uint8), t, g), r"class_raster holds values \[42\]"),
    ],
)
@pytest.mark.parametrize("rule", [pixel_centre_counts, exact_coverage_counts])
def test_bad_input_names_the_parameter(change, message, rule) -> None:
    raster, transform, regions = change(_raster(_blocks(7, low=1)), TRANSFORM, REGIONS)
    with pytest.raises(ValueError, match=message):
        rule(raster, transform, regions)


def test_invalid_geometry_is_named() -> None:
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 - 100), (X0 + 100, Y0), (X0, Y0 - 100)])
    regions = gpd.GeoDataFrame({"NUTS_ID": ["BAD"]}, geometry=[bowtie], crs="EPSG:3035")
    with pytest.raises(ValueError, match=r"invalid geometries for \['BAD'\]"):
        pixel_centre_counts(_raster(_blocks(8)), TRANSFORM, regions)


def test_transitions_by_region_add_up_to_the_first_years_counts() -> None:
    first, second = _raster(_blocks(9)), _raster(_blocks(10, low=1))
    by_region = transitions_by_region(first, second, TRANSFORM, REGIONS, unit="pixels")
    counts = pixel_centre_counts(first, TRANSFORM, REGIONS)
    for region, geometry in zip(REGIONS["NUTS_ID"], REGIONS.geometry):
        table = by_region[region]
        assert table.sum(axis=1).tolist() == counts.loc[counts["region"] == region, "pixels"].tolist()
        inside = _pixel_centres_inside(geometry, first)
        assert table.attrs["excluded_pixels"] == int((first[inside] == 0).sum())
    whole = transition_matrix(first, second, unit="pixels")
    assert (by_region["XX001"].to_numpy() <= whole.to_numpy()).all()


def test_coverage_of_the_tiny_dataset(tiny_data) -> None:
    # LU000 2021: a 2 x 2 grid of 250 x 250 label tiles inside the LU000 outline, each with
    # 5 columns of nodata. Coverage is their valid area over the outline's area.
    stems = tiny_data.layout["LU000"][2021]
    names = [parse_tile_name(stem) for stem in stems]
    xmin, ymax = min(n.xmin for n in names), max(n.ymin for n in names) + 2500
    mosaic = np.zeros((500, 500), dtype=np.uint8)
    for stem, name in zip(stems, names):
        row, col = int((ymax - name.ymin - 2500) / PIXEL), int((name.xmin - xmin) / PIXEL)
        mosaic[row:row + 250, col:col + 250] = np.load(tiny_data.label("LU000", 2021, stem))
    nuts = gpd.read_file(tiny_data.root / "nuts" / "NUTS_RG_01M_2021_3035_LEVL_3.geojson")
    transform = Affine(PIXEL, 0.0, xmin, 0.0, -PIXEL, ymax)
    coverage = region_coverage(mosaic, transform, nuts).set_index("region")
    lu_area = nuts.loc[nuts["NUTS_ID"] == "LU000"].geometry.iloc[0].area / 1e6
    assert coverage.loc["LU000", "nodata_share"] == pytest.approx(5 / 250)
    assert coverage.loc["LU000", "coverage"] == pytest.approx(4 * 250 * 245 * 1e-4 / lu_area)
    assert coverage.loc["BE100", "in_tiles_km2"] == 0.0
    counts = pixel_centre_counts(mosaic, transform, nuts)
    lu = counts[counts["region"] == "LU000"]
    assert lu["pixels"].sum() == 4 * 250 * 245
    assert lu["pixels"].tolist() == np.bincount(mosaic.ravel(), minlength=11)[1:].tolist()


def test_any_id_column_and_geometry_name_work_with_both_rules() -> None:
    # exactextract gives a column named "id" a meaning of its own; the ids must survive.
    raster = np.ones((10, 10), dtype=np.uint8)
    transform = Affine(PIXEL, 0.0, 0.0, 0.0, -PIXEL, 100.0)
    regions = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[box(0, 0, 50, 50), box(50, 50, 100, 80)],
                               crs="EPSG:3035").rename_geometry("geom")
    for rule in (pixel_centre_counts, exact_coverage_counts):
        counts = rule(raster, transform, regions, id_column="id")
        assert counts.loc[counts["class"] == 1, ["region", "pixels"]].values.tolist() == [["A", 25], ["B", 15]]
