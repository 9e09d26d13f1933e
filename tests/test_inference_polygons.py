"""landcover.inference.polygons: class masks as polygons whose areas are the pixels' areas.

Masks are the labels of the tiny dataset and of the synthetic data, read with
the image they belong to (``get_satellite_image``), so every polygon is placed
by a real file's transform.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer

from landcover.classes import CLASS_IDS, CLASS_NAMES
from landcover.data import get_satellite_image, load_label
from landcover.inference import polygons as P
from tests.support.tiny_data import FIRST_STEM, TinyDataset

TOWN_STEM = "4042000_2951690_0_637"


@pytest.fixture(scope="module")
def tiny_tile(tiny_data: TinyDataset) -> tuple[dict, np.ndarray]:
    image = get_satellite_image(tiny_data.image("LU000", 2021, FIRST_STEM))
    return image, load_label(tiny_data.label("LU000", 2021, FIRST_STEM))


def class_pixel_areas_m2(mask: np.ndarray, pixel_m2: float) -> dict[int, float]:
    counts = np.bincount(mask.ravel(), minlength=11)
    return {i: float(counts[i]) * pixel_m2 for i in CLASS_IDS if counts[i]}


def polygon_areas_m2(frame) -> dict[int, float]:  # noqa: ANN001
    return {int(k): float(v) for k, v in frame.geometry.area.groupby(frame["class_id"]).sum().items()}


def test_polygon_areas_equal_the_class_areas_of_the_mask(tiny_tile: tuple[dict, np.ndarray]) -> None:
    image, mask = tiny_tile
    polygons = P.create_geojson_from_mask(image, mask)
    assert polygons.crs.to_epsg() == 3035
    assert list(polygons.columns) == ["class_id", "class_name", "area_km2", "geometry"]
    assert polygons.geometry.is_valid.all() and (polygons.geom_type == "Polygon").all()
    assert polygon_areas_m2(polygons) == class_pixel_areas_m2(mask, 100.0)  # exactly: pixel edges, integer metres
    assert 0 not in set(polygons["class_id"])
    assert all(CLASS_NAMES[i] == n for i, n in zip(polygons["class_id"], polygons["class_name"], strict=True))
    # The tiny label's first five columns are nodata: no polygon reaches into them.
    left, bottom, _, top = image["bounds"]
    strip = shapely.box(left, bottom, left + 50, top)
    assert shapely.union_all(polygons.geometry.values).intersection(strip).area == 0
    summed = polygons.groupby("class_id")["area_km2"].sum().to_dict()
    assert P.class_areas_km2(mask, image["transform"]) == pytest.approx(summed)


def test_the_image_transform_places_the_polygons_not_an_assumed_pixel_size() -> None:
    # A 20 m grid somewhere else: a pixel size of 10 m hard-coded anywhere would show.
    transform = Affine(20.0, 0.0, 3_900_000.0, 0.0, -20.0, 3_100_000.0)
    image = {"array": np.zeros((3, 40, 60)), "transform": transform, "crs": "EPSG:3035"}
    mask = np.zeros((40, 60), dtype=np.uint8)
    mask[5, 7] = 10
    mask[20:, 30:] = 2
    polygons = P.create_geojson_from_mask(image, mask)
    water = polygons[polygons["class_id"] == 10].geometry.iloc[0]
    x0, y0 = transform @ (7, 5)
    x1, y1 = transform @ (8, 6)
    assert water.equals(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    assert polygon_areas_m2(polygons) == {2: 20 * 30 * 400.0, 10: 400.0}
    assert polygons.set_index("class_id")["area_km2"].to_dict() == {2: 0.24, 10: 0.0004}


def test_synthetic_tile_areas_survive_dissolving(synthetic_dir: Path) -> None:
    image = get_satellite_image(synthetic_dir / "images" / "LU000" / "2021" / f"{TOWN_STEM}.tif")
    mask = load_label(synthetic_dir / "labels" / "LU000" / "2021" / f"{TOWN_STEM}.npy")
    polygons = P.create_geojson_from_mask(image, mask)
    expected = class_pixel_areas_m2(mask, 100.0)
    assert polygon_areas_m2(polygons) == expected
    dissolved = P.dissolve_by_class(polygons)
    assert list(dissolved["class_id"]) == sorted(expected)
    assert dissolved.set_index("class_id")["area_km2"].to_dict() == pytest.approx(
        {k: v / 1e6 for k, v in expected.items()}, abs=1e-9
    )
    assert dissolved["n_polygons"].sum() == len(polygons)


def test_a_region_dissolves_across_tile_edges(tiny_data: TinyDataset) -> None:
    frames, expected = [], {}
    stems = tiny_data.layout["LU000"][2021]
    for stem in stems:
        image = get_satellite_image(tiny_data.image("LU000", 2021, stem))
        mask = load_label(tiny_data.label("LU000", 2021, stem))
        frames.append(P.create_geojson_from_mask(image, mask))
        for class_id, area in class_pixel_areas_m2(mask, 100.0).items():
            expected[class_id] = expected.get(class_id, 0.0) + area
    region = P.class_polygons_for_region(frames)
    assert region.crs.to_epsg() == 3035
    assert polygon_areas_m2(region) == pytest.approx(expected, rel=1e-12)
    # A patch cut by a tile edge becomes one polygon again.
    west = {"array": np.zeros((1, 20, 20)), "transform": Affine(10, 0, 4_000_000, 0, -10, 3_000_200), "crs": "EPSG:3035"}
    east = {**west, "transform": Affine(10, 0, 4_000_200, 0, -10, 3_000_200)}
    left_mask, right_mask = np.full((20, 20), 6, dtype=np.uint8), np.full((20, 20), 6, dtype=np.uint8)
    left_mask[5:10, 15:] = 3
    right_mask[5:10, :5] = 3
    joined = P.dissolve_by_class([P.create_geojson_from_mask(west, left_mask), P.create_geojson_from_mask(east, right_mask)])
    woods = joined.set_index("class_id").geometry[3]
    assert woods.geom_type == "Polygon" and woods.equals(shapely.box(4_000_150, 3_000_100, 4_000_250, 3_000_150))
    assert joined.set_index("class_id")["n_polygons"].to_dict() == {3: 2, 6: 2}
    with pytest.raises(ValueError, match="same CRS"):
        P.dissolve_by_class([frames[0], frames[1].to_crs(4326)])


def test_simplifying_keeps_neighbours_glued_and_areas_reported(synthetic_dir: Path) -> None:
    image = get_satellite_image(synthetic_dir / "images" / "LU000" / "2021" / f"{TOWN_STEM}.tif")
    mask = load_label(synthetic_dir / "labels" / "LU000" / "2021" / f"{TOWN_STEM}.npy")
    dissolved = P.dissolve_by_class(P.create_geojson_from_mask(image, mask))
    simplified = P.simplify_polygons(dissolved, tolerance_m=15.0)
    before = int(shapely.get_num_coordinates(dissolved.geometry.values).sum())
    after = int(shapely.get_num_coordinates(simplified.geometry.values).sum())
    assert after < 0.8 * before
    assert simplified.geometry.is_valid.all()
    assert shapely.coverage_is_valid(simplified.geometry.values)
    union = shapely.union_all(simplified.geometry.values).area
    assert simplified.geometry.area.sum() == pytest.approx(union, rel=1e-9)  # no overlaps
    assert union == pytest.approx(dissolved.geometry.area.sum(), rel=0.005)  # and no gaps to speak of
    assert simplified["area_km2"].tolist() == dissolved["area_km2"].tolist()  # pixel-exact areas kept
    # Simplified one polygon at a time, neighbours would overlap or part.
    alone = shapely.simplify(dissolved.geometry.values, 15.0, preserve_topology=True)
    assert not shapely.coverage_is_valid(alone)
    with pytest.raises(ValueError, match="tolerance_m"):
        P.simplify_polygons(dissolved, -1)
    with pytest.raises(ValueError, match="projected CRS"):
        P.simplify_polygons(dissolved.to_crs(4326), 15.0)


def test_geojson_is_rfc7946_by_default_and_3035_on_request(tiny_tile: tuple[dict, np.ndarray]) -> None:
    image, mask = tiny_tile
    collection = P.mask_to_geojson(image, mask, tolerance_m=10.0)
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    json.dumps(collection, allow_nan=False)  # plain JSON types only
    ids = [f["properties"]["class_id"] for f in collection["features"]]
    assert ids == sorted(class_pixel_areas_m2(mask, 100.0))
    names = {f["properties"]["class_name"] for f in collection["features"]}
    assert names == {CLASS_NAMES[i] for i in ids}
    to_3035 = Transformer.from_crs(4326, 3035, always_xy=True)
    left, bottom, right, top = image["bounds"]
    for feature in collection["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        lon_min, lat_min, lon_max, lat_max = geometry.bounds
        assert 5.7 < lon_min < lon_max < 6.6 and 49.4 < lat_min < lat_max < 50.2  # Luxembourg, lon first
        first = geometry.geoms[0] if hasattr(geometry, "geoms") else geometry
        assert first.exterior.is_ccw  # right-hand rule
        x, y = to_3035.transform(*first.exterior.coords[0])
        assert left - 1 <= x <= right + 1 and bottom - 1 <= y <= top + 1
    metres = P.mask_to_geojson(image, mask, crs="EPSG:3035")
    assert metres["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::3035"
    for feature in metres["features"]:
        area_km2 = shapely.geometry.shape(feature["geometry"]).area / 1e6
        assert area_km2 == pytest.approx(feature["properties"]["area_km2"], abs=1e-9)
    with pytest.raises(ValueError, match="EPSG:4326"):
        P.to_geojson(P.create_geojson_from_mask(image, mask), crs="EPSG:3857")


def test_bad_masks_and_images_say_what_is_wrong(tiny_tile: tuple[dict, np.ndarray]) -> None:
    image, mask = tiny_tile
    with pytest.raises(ValueError, match=r"mask has shape \(100, 250\)"):
        P.create_geojson_from_mask(image, mask[:100])
    with pytest.raises(ValueError, match="255"):
        P.create_geojson_from_mask(image, np.where(mask == 0, 255, mask).astype(np.uint8))
    with pytest.raises(ValueError, match="integer class ids"):
        P.create_geojson_from_mask(image, mask.astype(float))
    with pytest.raises(ValueError, match="transform"):
        P.create_geojson_from_mask({"array": image["array"], "crs": image["crs"]}, mask)
    with pytest.raises(ValueError, match="not projected"):
        P.create_geojson_from_mask({**image, "crs": "EPSG:4326"}, mask)
    empty = P.create_geojson_from_mask(image, np.zeros_like(mask))
    assert empty.empty and list(empty.columns) == ["class_id", "class_name", "area_km2", "geometry"]
    assert P.to_geojson(empty)["features"] == []


def _tile(x0: float, mask: np.ndarray) -> tuple[dict, np.ndarray]:
    transform = Affine(10, 0, x0, 0, -10, 3_000_200)
    return {"array": np.zeros((1, *mask.shape)), "transform": transform, "crs": "EPSG:3035"}, mask


def test_region_polygons_are_simplified_as_one_coverage_with_tile_edges_gone(synthetic_dir: Path) -> None:
    # The synthetic town tile cut into a west and an east tile: patches crossing the cut must merge again.
    image = get_satellite_image(synthetic_dir / "images" / "LU000" / "2021" / f"{TOWN_STEM}.tif")
    mask = load_label(synthetic_dir / "labels" / "LU000" / "2021" / f"{TOWN_STEM}.npy")
    transform = image["transform"]
    west = {**image, "array": mask[:, :125]}
    east = {**image, "array": mask[:, 125:], "transform": transform @ Affine.translation(125, 0)}
    frames = [P.create_geojson_from_mask(west, mask[:, :125]), P.create_geojson_from_mask(east, mask[:, 125:])]
    expected = class_pixel_areas_m2(mask, 100.0)
    exact = P.class_polygons_for_region(frames, multi=True)
    simple = P.class_polygons_for_region(frames, tolerance_m=15.0, multi=True)
    assert list(simple.columns) == ["class_id", "class_name", "area_km2", "n_polygons", "geometry"]
    assert (simple.geom_type == "MultiPolygon").all() and simple.geometry.is_valid.all()
    assert shapely.coverage_is_valid(simple.geometry.values)  # glued: no overlap between classes
    assert simple.geometry.area.sum() == pytest.approx(shapely.union_all(simple.geometry.values).area, rel=1e-9)
    assert int(shapely.get_num_coordinates(simple.geometry.values).sum()) < int(
        shapely.get_num_coordinates(exact.geometry.values).sum()
    )
    # area_km2 is the pixels' area, measured before simplifying; n_polygons counts the patches given.
    assert simple.set_index("class_id")["area_km2"].to_dict() == pytest.approx(
        {k: v / 1e6 for k, v in expected.items()}, rel=1e-12
    )
    assert simple["n_polygons"].sum() == sum(len(f) for f in frames)
    # The patches cut by tile edges are merged before simplifying: fewer parts than patches.
    parts = {int(i): len(g.geoms) for i, g in zip(simple["class_id"], simple.geometry, strict=True)}
    assert sum(parts.values()) < simple["n_polygons"].sum()
    # One woods patch cut by a tile edge stays one polygon, simplified or not.
    left, right = np.full((20, 20), 6, dtype=np.uint8), np.full((20, 20), 6, dtype=np.uint8)
    left[5:10, 15:] = 3
    right[5:10, :5] = 3
    tiles = [P.create_geojson_from_mask(*_tile(4_000_000, left)), P.create_geojson_from_mask(*_tile(4_000_200, right))]
    woods = P.class_polygons_for_region(tiles, tolerance_m=5.0).set_index("class_id").geometry[3]
    assert woods.geom_type == "Polygon" and woods.area == pytest.approx(5000.0, rel=0.05)


def test_region_polygons_refuse_bad_input_and_warn_on_what_is_no_coverage() -> None:
    mask = np.full((20, 20), 6, dtype=np.uint8)
    mask[:, 10:] = 2
    patches = P.create_geojson_from_mask(*_tile(4_000_000, mask))
    with pytest.raises(ValueError, match="tolerance_m"):
        P.class_polygons_for_region(patches, tolerance_m=-5)
    with pytest.raises(ValueError, match="class_id values \\[99\\]"):
        P.class_polygons_for_region(patches.assign(class_id=99))
    with pytest.raises(ValueError, match="not polygons"):
        P.class_polygons_for_region(patches.set_geometry(patches.geometry.boundary))
    with pytest.raises(ValueError, match="empty list"):
        P.class_polygons_for_region([])
    with pytest.raises(ValueError, match="projected CRS"):
        P.class_polygons_for_region(patches.to_crs(4326), tolerance_m=10.0)
    empty = P.class_polygons_for_region(patches.iloc[:0], tolerance_m=10.0)
    assert empty.empty and list(empty.columns) == ["class_id", "class_name", "area_km2", "n_polygons", "geometry"]
    # Two tiles overlapping with different classes are no coverage: simplified one by one, with a warning.
    other = P.create_geojson_from_mask(*_tile(4_000_100, np.full((20, 20), 10, dtype=np.uint8)))
    with pytest.warns(UserWarning, match="not a coverage"):
        P.class_polygons_for_region([patches, other], tolerance_m=10.0)
    # Edges off the pixel grid (already simplified outlines) cannot be matched either.
    rotated = patches.set_geometry(patches.geometry.rotate(10, origin=(4_000_000, 3_000_000)))
    with pytest.warns(UserWarning, match="pixel grid"):
        P.class_polygons_for_region(rotated, tolerance_m=10.0)


def test_sieving_merges_small_patches_into_their_neighbours_and_keeps_nodata() -> None:
    from landcover.inference.polygons import sieve_mask

    mask = np.full((20, 20), 6, dtype=np.uint8)
    mask[5:7, 5:7] = 1  # a patch of 4 pixels
    mask[12:18, 12:18] = 3  # a patch of 36 pixels
    mask[0:2, 18:20] = 0  # nodata in a corner
    sieved = sieve_mask(mask, 10)
    assert (sieved[5:7, 5:7] == 6).all()  # merged into the surrounding class
    assert (sieved[12:18, 12:18] == 3).all()  # large enough: kept
    assert (sieved[0:2, 18:20] == 0).all() and (sieved[mask != 0] != 0).all()  # nodata neither grown nor filled
    assert np.array_equal(sieve_mask(mask, 0), mask)
    with pytest.raises(ValueError, match="min_pixels"):
        sieve_mask(mask, -1)
