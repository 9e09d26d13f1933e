"""The explorer app (landcover.app): its helpers, and the page run headless with Streamlit's AppTest.

The page tests use the synthetic data and its pre-trained model on one small
region (PT16I, 16 tiles). ``stored_pt16i`` makes sure the prediction store holds
PT16I 2018 and 2021 for the model the app loads (predicting what is missing, once,
with the probability for 2021); the app itself must then only read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from tests.conftest import PROJECT_DIR

APP_SCRIPT = PROJECT_DIR / "src" / "landcover" / "app" / "main.py"
NUTS, YEAR, EARLIER = "PT16I", 2021, 2018
#: Seconds one AppTest run may take (the first one loads the model).
RUN_TIMEOUT = 300


# --- helpers without Streamlit or data --------------------------------------------------------------


def test_display_grid_keeps_the_corner_and_covers_the_mosaic() -> None:
    from landcover.app.maps import display_grid

    transform = Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0)
    grid = display_grid(transform, (1000, 1250), max_pixels=500)
    assert grid.factor == 3 and grid.shape == (334, 417) and grid.cell_m == 30.0
    assert (grid.transform.c, grid.transform.f) == (1000.0, 5000.0)
    assert display_grid(transform, (100, 100), max_pixels=500).factor == 1


def test_block_mean_ignores_nan_and_pads_to_whole_blocks() -> None:
    from landcover.app.maps import block_mean

    values = np.array([[1.0, 3.0, 5.0], [np.nan, 2.0, np.nan]], dtype=np.float32)
    out = block_mean(values, 2)
    assert out.shape == (1, 2)
    np.testing.assert_allclose(out, [[2.0, 5.0]])
    assert np.isnan(block_mean(np.full((2, 2), np.nan), 2)).all()


def test_align_mask_moves_a_mosaic_by_whole_pixels() -> None:
    from landcover.app.accounts import align_mask

    target = {"mask": np.zeros((3, 4), np.uint8), "transform": Affine(10, 0, 0, 0, -10, 30)}
    source = {"mask": np.array([[1, 2], [3, 4]], np.uint8), "transform": Affine(10, 0, 10, 0, -10, 20)}
    aligned = align_mask(source, target)
    np.testing.assert_array_equal(aligned, [[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0]])
    with pytest.raises(ValueError, match="fraction of a pixel"):
        align_mask({**source, "transform": Affine(10, 0, 15, 0, -10, 20)}, target)


def test_class_shares_are_shares_of_the_classified_pixels() -> None:
    from landcover.app.lookup import class_shares

    shares = class_shares(np.array([[0, 1], [1, 10]], np.uint8)).set_index("class")
    assert shares.loc[1, "predicted_pixels"] == 2 and shares.loc[10, "predicted_pixels"] == 1
    assert shares["predicted_share"].sum() == pytest.approx(1.0)
    assert shares.loc[1, "predicted_km2"] == pytest.approx(2e-4)


# --- the page, on the synthetic data ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored_pt16i(synthetic_dir: Path) -> dict[str, Any]:
    """PT16I 2018 and 2021 in the prediction store for the published model, and the 2021 mosaic.

    ``predict_region`` reads what the store holds and predicts only the rest,
    so this predicts nothing once the store is complete.
    """
    from landcover.inference import load_model, predict_region

    root = str(synthetic_dir)
    model = load_model(root)
    predict_region(NUTS, EARLIER, model, progress=False, root=root)
    region = predict_region(NUTS, YEAR, model, progress=False, return_probability=True, root=root)
    return {"root": root, "model": model, "region": region}


def store_files(root: str, model: Any, region: dict[str, Any]) -> dict[str, int]:
    """Modification times of the stored predictions of a region-year (to prove the app wrote nothing)."""
    from landcover.inference import PredictionStore

    stem = region["tiles"][0]["stem"]
    folder = Path(PredictionStore(root=root).path(model, region["nuts"], region["year"], stem)).parent
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.npy")} if folder.exists() else {}


def run_app(nuts: str = NUTS, year: int = YEAR) -> Any:
    """The app run headless, then ``nuts`` and ``year`` picked in the sidebar."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP_SCRIPT), default_timeout=RUN_TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    at.sidebar.selectbox(key="region").select(nuts).run()
    at.sidebar.selectbox(key="year").select(year).run()
    return at


def table_with(at: Any, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all of ``columns``."""
    for table in at.table:
        frame = table.value
        if set(columns) <= set(map(str, frame.columns)):
            return frame
    raise AssertionError(f"no table with columns {columns}; tables: {[list(t.value.columns) for t in at.table]}")


@pytest.mark.slow
def test_accounts_table_matches_the_package_and_nothing_is_recomputed(
    stored_pt16i: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from landcover.data import load_nuts3
    from landcover.stats import class_accounts, land_take, pixel_centre_counts, transitions_by_region

    root, model, region = stored_pt16i["root"], stored_pt16i["model"], stored_pt16i["region"]
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", root)
    before = store_files(root, model, region)
    assert len([n for n in before if not n.endswith(".probability.npy")]) == 16

    at = run_app()

    assert not at.exception, [e.value for e in at.exception]
    assert any("Synthetic data" in w.value for w in at.warning), "the synthetic-data banner is missing"
    assert any("16 of 16 tiles read from the prediction store" in s.value and "nothing was predicted" in s.value
               for s in at.success), [s.value for s in at.success]
    assert store_files(root, model, region) == before, "the app wrote to the prediction store"

    outline = load_nuts3([NUTS], root)
    counts = pixel_centre_counts(region["mask"], region["transform"], outline)
    expected = class_accounts(counts).merge(counts[["class", "pixels"]], on="class")
    shown = table_with(at, "class", "pixels", "area (km²)", "share of covered area").reset_index(drop=True)
    assert shown["class"].tolist() == expected["class"].tolist()
    assert shown["pixels"].tolist() == expected["pixels"].tolist()
    np.testing.assert_allclose(shown["area (km²)"], expected["area_km2"])
    np.testing.assert_allclose(shown["share of covered area"], expected["share"])
    assert shown["name"].tolist() == expected["class_name"].tolist()

    estimates = table_with(at, "map (km²)", "estimate (km²)", "95 % CI (km²)")
    assert estimates["estimate (km²)"].sum() == pytest.approx(estimates["map (km²)"].sum())
    assert ((estimates["lower (km²)"] <= estimates["estimate (km²)"])
            & (estimates["estimate (km²)"] <= estimates["upper (km²)"])).all()
    assert any("seed 2014" in m.value for m in at.markdown)

    earlier = predict_region_from_store(root, model, EARLIER)
    transitions = transitions_by_region(earlier["mask"], region["mask"], region["transform"], outline)[NUTS]
    metric = next(m for m in at.metric if m.label.startswith(f"Land take {EARLIER}"))
    assert metric.value == f"{land_take(transitions):,.4f} km²"


def predict_region_from_store(root: str, model: Any, year: int) -> dict[str, Any]:
    from landcover.inference import predict_region

    result = predict_region(NUTS, year, model, progress=False, root=root)
    assert all(entry["cached"] for entry in result["tiles"])
    return result


@pytest.mark.slow
def test_the_app_predicts_only_when_asked(
    stored_pt16i: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", stored_pt16i["root"])
    monkeypatch.setenv("LANDCOVER_PREDICTION_STORE", str(store))

    at = run_app()

    assert not at.exception, [e.value for e in at.exception]
    assert any("0 of 16 tiles read from the prediction store" in w.value and "not in the store" in w.value
               for w in at.warning), [w.value for w in at.warning]
    assert not list(store.rglob("*.npy")), "the app predicted without being asked"
    button = next(b for b in at.button if b.label.startswith(f"Predict the missing 16 tiles of {NUTS} {YEAR}"))
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(list(store.rglob(f"{NUTS}/{YEAR}/*.npy"))) == 16
    assert any("16 of 16 tiles read from the prediction store" in s.value for s in at.success)
    shown = table_with(at, "class", "pixels", "area (km²)")
    assert shown["pixels"].sum() > 0


@pytest.mark.slow
@pytest.mark.network
def test_the_app_reads_a_remote_data_root_by_the_same_setting(
    stored_pt16i: dict[str, Any], http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The synthetic data over HTTP (as the real bucket): the store is then in the cache folder, and stays empty."""
    from landcover.config import cache_dir

    server = http_server(stored_pt16i["root"])
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", server.url)

    at = run_app()

    assert not at.exception, [e.value for e in at.exception]
    assert any("Synthetic data" in w.value for w in at.warning)
    store = cache_dir() / "predictions"
    assert any(f"0 of 16 tiles read from the prediction store `{store}`" in w.value for w in at.warning), (
        [w.value for w in at.warning])
    assert not list(store.rglob("*.npy")), "the app predicted without being asked"
    assert any(r.path.endswith("filename2bbox.parquet") for r in server.log.records)
    assert table_with(at, "class", "pixels")["pixels"].sum() == 0  # nothing read, nothing counted


def test_the_app_script_is_where_the_dockerfile_runs_it() -> None:
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert os.fspath(APP_SCRIPT.relative_to(PROJECT_DIR)) in dockerfile
