"""The cloud and shadow tests of landcover.clouds: on hand-made arrays, and against the generator's own clouds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from landcover.clouds import (
    cloud_mask,
    haze_optimised_transform,
    shadow_mask,
    shadow_search_area,
    unusable_mask,
)
from landcover.synthetic.clouds import cloud_fields
from landcover.synthetic.generator import _windows
from landcover.synthetic.landscape import CLOUD_YEAR, _Frame
from landcover.synthetic.noise import rng_for
from landcover.synthetic.regions import PIXEL_M, SYNTHETIC_REGIONS

GRASS = np.array([0.026, 0.037, 0.07, 0.045, 0.096, 0.255, 0.315, 0.345, 0.356, 0.35, 0.205, 0.105], np.float32)
CLOUD = np.array([0.47, 0.48, 0.485, 0.49, 0.495, 0.5, 0.5, 0.505, 0.505, 0.33, 0.38, 0.27], np.float32)


def tile_of(spectrum: np.ndarray, shape: tuple[int, int] = (80, 80)) -> np.ndarray:
    """A 14-band tile of one spectrum everywhere (NDVI, NDWI computed from it)."""
    bands = np.repeat(spectrum[:, None, None], shape[0] * shape[1], axis=1).reshape(12, *shape)
    ndvi = (bands[7] - bands[3]) / (bands[7] + bands[3])
    ndwi = (bands[2] - bands[7]) / (bands[2] + bands[7])
    return np.concatenate([bands, ndvi[None], ndwi[None]]).astype(np.float32)


def test_hot_is_blue_minus_half_red() -> None:
    tile = tile_of(GRASS)
    assert haze_optimised_transform(tile) == pytest.approx(np.full((80, 80), 0.037 - 0.5 * 0.045), abs=1e-6)


def test_a_clear_meadow_has_no_cloud_and_no_shadow() -> None:
    assert not unusable_mask(tile_of(GRASS)).any()


def test_a_cloud_is_flagged_with_its_buffer_and_its_shadow_lies_north_north_west() -> None:
    tile = tile_of(GRASS, (120, 120))
    tile[:12, 60:70, 60:70] = CLOUD[:, None, None]
    tile[:12, 30:40, 48:58] *= 0.4  # the shadow: 30 px north, 12 px west, darker in every band
    cloud = cloud_mask(tile, buffer_px=2)
    assert cloud[58:72, 58:72].all() and cloud.sum() == 14 * 14
    assert not cloud_mask(tile, buffer_px=0)[59, 59]
    speckle = tile_of(GRASS)
    speckle[:12, ::7, ::7] = CLOUD[:, None, None]  # single bright pixels: not a cloud
    assert not cloud_mask(speckle).any()
    shadow = shadow_mask(tile, cloud)
    assert shadow[30:40, 48:58].sum() >= 90  # found where the sun puts it
    assert not shadow[75:, :].any()  # nothing south of the cloud, towards the sun
    dark_elsewhere = tile.copy()
    dark_elsewhere[:12, 100:110, 100:110] *= 0.4  # dark, but south-east of the cloud: not its shadow
    assert not shadow_mask(dark_elsewhere, cloud)[100:110, 100:110].any()


def test_the_shadow_search_area_follows_the_sun_and_stops_at_the_distance() -> None:
    cloud = np.zeros((200, 200), bool)
    cloud[150, 150] = True
    area = shadow_search_area(cloud, sun_azimuth_deg=180.0, max_distance_m=300.0)  # sun due south
    rows, cols = np.nonzero(area)
    assert set(cols) == {150} and rows.min() == 120 and rows.max() < 150


def test_water_is_not_shadow() -> None:
    water = np.array([0.018, 0.021, 0.022, 0.009, 0.008, 0.003, 0.004, 0.003, 0.0025, 0.001, 0.003, 0.003])
    tile = tile_of(water.astype(np.float32), (120, 120))
    tile[:12, 60:70, 60:70] = CLOUD[:, None, None]
    assert not shadow_mask(tile)[20:58].any()


def test_bad_arrays_are_refused_with_their_shape() -> None:
    with pytest.raises(ValueError, match=r"\(3, 10, 10\)"):
        cloud_mask(np.zeros((3, 10, 10)))
    with pytest.raises(ValueError, match="cloud: shape"):
        shadow_mask(tile_of(GRASS), np.zeros((5, 5), bool))


def _truth_by_tile(synthetic_dir: Path) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """(2024 tile, cloud opacity, shadow strength) of every cloud-touched tile, from the generator itself."""
    found = []
    for region, name, cells in _windows(SYNTHETIC_REGIONS):
        frame = _Frame(cells)
        opacity, shadow = cloud_fields(rng_for("clouds", region.nuts_id, name), frame.shape, len(cells))
        for cell in cells:
            col = int(round((cell.bounds[0] - frame.x0) / PIXEL_M))
            row = int(round((frame.top - cell.bounds[3]) / PIXEL_M))
            o, s = opacity[row : row + 250, col : col + 250], shadow[row : row + 250, col : col + 250]
            if o.max() > 0.02:
                found.append((synthetic_dir / f"images/{cell.nuts_id}/{CLOUD_YEAR}/{cell.stem}.tif", o, s))
    return found


@pytest.mark.slow
def test_on_the_synthetic_data_the_tests_find_the_generators_clouds_and_most_shadows(synthetic_dir: Path) -> None:
    cloud_hit = cloud_total = shadow_hit = shadow_total = false = clear = 0
    for path, opacity, strength in _truth_by_tile(synthetic_dir):
        with rasterio.open(path) as src:
            tile = src.read().astype(np.float32)
        cloud = cloud_mask(tile)
        flagged = cloud | shadow_mask(tile, cloud)
        thick = opacity > 0.3
        shaded = (strength > 0.3) & (opacity < 0.05)
        untouched = (strength < 0.02) & (opacity < 0.02)
        cloud_hit, cloud_total = cloud_hit + (cloud & thick).sum(), cloud_total + thick.sum()
        shadow_hit, shadow_total = shadow_hit + (flagged & shaded).sum(), shadow_total + shaded.sum()
        false, clear = false + (flagged & untouched).sum(), clear + untouched.sum()
    assert cloud_total > 10_000 and shadow_total > 5_000
    assert cloud_hit / cloud_total > 0.98
    assert shadow_hit / shadow_total > 0.6
    assert false / clear < 0.01


@pytest.mark.slow
def test_on_cloud_free_tiles_almost_nothing_is_flagged(synthetic_dir: Path) -> None:
    flagged = total = 0
    for path in sorted(synthetic_dir.glob("images/*/2021/*.tif"))[::3]:
        with rasterio.open(path) as src:
            tile = src.read().astype(np.float32)
        flagged += unusable_mask(tile).sum()
        total += tile.shape[1] * tile.shape[2]
    assert flagged / total < 0.002
