"""The land-cover API served by a real uvicorn process on 127.0.0.1: endpoints, cache, validation.

The server runs ``python -m landcover.api`` on the tiny dataset with tiny
SegFormers logged to a throwaway MLflow store: version 1 published as plain
files (the published-artifacts layout), version 2 loaded from the registry
(``models:/segmentation-sentinel2-model/2``). Both write to one prediction
store, so the tests can see that a new model version never reads an old
prediction. One integration test serves the synthetic data with the real
pre-trained model.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import mlflow
import numpy as np
import pytest
import requests
import torch
from pyproj import Transformer
from shapely.geometry import shape

from landcover.api.local import LocalApi, start_local_api
from landcover.api.settings import ANSWER_CACHE_VARIABLE
from landcover.api.validation import ParameterError, parse_image
from landcover.clouds import CLOUD_RULES_VERSION
from landcover.data.normalization import Normalization
from landcover.inference.cache import PredictionStore
from landcover.inference.model import load_model
from landcover.inference.prediction import predict
from landcover.training.model import build_model
from landcover.training.publish import publish_run
from landcover.training.tracking import MODEL_NAME, ensure_experiment, log_model, model_params
from tests.support.tiny_data import FIRST_STEM, MEAN, STD, TINY_LAYOUT, TinyDataset

pytestmark = [pytest.mark.network, pytest.mark.slow]

#: Seconds a server may take to load its model and answer /health.
START_TIMEOUT = 180.0
#: Seconds any one request may take (the tiny model predicts a tile in well under a second).
REQUEST_TIMEOUT = 60.0
TO_WGS84 = Transformer.from_crs(3035, 4326, always_xy=True)
TILE_KM2 = 6.25  # 250 x 250 pixels of 10 m


def tile_centre(stem: str) -> tuple[float, float]:
    """``(lon, lat)`` of the centre of a tile, from the corner in its name."""
    xmin, ymin = (float(v) for v in stem.split("_")[:2])
    return TO_WGS84.transform(xmin + 1250.0, ymin + 1250.0)


@dataclass
class ApiProcess:
    """A running ``python -m landcover.api`` (the package's :class:`LocalApi`) with test helpers."""

    local: LocalApi

    @property
    def url(self) -> str:
        return self.local.url

    @property
    def process(self) -> subprocess.Popen:
        return self.local.process

    @property
    def log(self) -> Path:
        return self.local.log

    def get(self, path: str, **params: object) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=REQUEST_TIMEOUT)

    def counts(self) -> dict[str, int]:
        store = self.get("/health").json()["prediction_store"]
        return {"computed": store["tiles_computed"], "from_store": store["tiles_from_store"]}

    def stop(self) -> None:
        self.local.stop()


def start_api(data_root: Path | str, model: str, store: Path | str, log: Path,
              env: dict[str, str] | None = None) -> ApiProcess:
    """Start the API as its own process on a free port; return once /health answers 200."""
    try:
        local = start_local_api(data_root=data_root, model=model, store=store, env=env, log=log,
                                log_level="warning", timeout_s=START_TIMEOUT)
    except RuntimeError as error:
        raise AssertionError(str(error)) from None
    return ApiProcess(local)


@dataclass(frozen=True)
class TinyModels:
    """Two tiny SegFormers registered as versions 1 and 2; version 1 also published as files."""

    tracking_uri: str
    published_root: Path  # a folder holding mlflow-artifacts/ with version 1


def build_tiny_models(folder: Path) -> TinyModels:
    """Log two tiny SegFormers to a new MLflow store under ``folder`` (versions 1, 2); publish version 1."""
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        try:
            params = model_params(Normalization(MEAN, STD), tiles_size=250, augment_size=64, module_name="segformer-tiny")
            experiment = ensure_experiment("api-tests")
            published = folder / "published"
            for seed in (1, 2):
                torch.manual_seed(seed)
                with mlflow.start_run(experiment_id=experiment) as run:
                    mlflow.log_params(params)
                    info = log_model(build_model("tiny").eval(), params)
                if seed == 1:
                    publish_run(run.info.run_id, str(published), model_uri=info.model_uri,
                                model_name=MODEL_NAME, model_version=str(info.registered_model_version))
        finally:
            mlflow.set_tracking_uri(previous)
    return TinyModels(uri, published)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return build_tiny_models(tmp_path_factory.mktemp("api-models"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-store")


@pytest.fixture(scope="module")
def api(tiny_data: TinyDataset, tiny_models: TinyModels, store: Path, tmp_path_factory) -> Iterator[ApiProcess]:
    """The API on the tiny data with model version 1 (from its published files)."""
    server = start_api(tiny_data.root, str(tiny_models.published_root), store,
                       tmp_path_factory.mktemp("api-log") / "api-v1.log")
    yield server
    server.stop()


def stored(store: Path, version_folder: str, nuts: str, year: int, stem: str) -> Path:
    return store / MODEL_NAME / version_folder / CLOUD_RULES_VERSION / nuts / str(year) / f"{stem}.npy"


# --- endpoints --------------------------------------------------------------------------------


def test_health_names_the_model_the_data_and_the_store(api, store, tiny_data):
    answer = api.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["model"]["name"] == MODEL_NAME and body["model"]["version"] == "1"
    assert body["model"]["cache_version"].startswith("1-") and body["model"]["tiles_size"] == 250
    assert body["data_root"] == {"kind": "local", "location": str(tiny_data.root), "regions": ["BE100", "LU000"]}
    assert body["prediction_store"]["kind"] == "local"
    assert Path(body["prediction_store"]["location"]) == store


def test_openapi_spec_and_docs_are_served(api):
    spec = api.get("/openapi.json").json()
    assert {"/health", "/find_nuts", "/find_image", "/predict_image", "/predict_nuts"} <= set(spec["paths"])
    names = [p["name"] for p in spec["paths"]["/find_image"]["get"]["parameters"]]
    assert names == ["lon", "lat", "year"]
    assert "swagger" in api.get("/docs").text.lower()


def test_find_nuts_gives_the_region_of_a_point(api):
    lon, lat = tile_centre(FIRST_STEM)
    answer = api.get("/find_nuts", lon=lon, lat=lat)
    assert answer.status_code == 200
    assert answer.json() == {"nuts": "LU000", "name": "Luxembourg", "country": "LU", "years": [2018, 2021, 2024]}
    brussels = api.get("/find_nuts", lon=4.352, lat=50.847).json()
    assert brussels["nuts"] == "BE100" and brussels["years"] == [2021]


def test_find_nuts_outside_every_region_is_a_404_that_says_so(api):
    answer = api.get("/find_nuts", lon=-30.0, lat=40.0)  # the Atlantic
    assert answer.status_code == 404
    assert "no NUTS3 region" in answer.json()["detail"] and "lon=-30.0" in answer.json()["detail"]


def test_find_image_gives_the_tile_path_and_its_box(api):
    stem = "4044500_2954190_0_640"
    lon, lat = tile_centre(stem)
    answer = api.get("/find_image", lon=lon, lat=lat, year=2021)
    assert answer.status_code == 200
    assert answer.json() == {
        "nuts": "LU000", "year": 2021, "image": f"LU000/2021/{stem}.tif", "crs": "EPSG:3035",
        "bounds": {"xmin": 4044500.0, "ymin": 2954190.0, "xmax": 4047000.0, "ymax": 2956690.0},
    }


def test_find_image_without_a_tile_there_is_a_404(api):
    lon, lat = tile_centre(FIRST_STEM)
    no_year = api.get("/find_image", lon=lon, lat=lat, year=2019)
    assert no_year.status_code == 404 and "available: 2018, 2021, 2024" in no_year.json()["detail"]
    lon, lat = 6.0, 50.1  # inside the outline of LU000, far from its few tiles
    outside = api.get("/find_image", lon=lon, lat=lat, year=2024)
    assert outside.status_code == 404
    assert "outside every tile" in outside.json()["detail"] and FIRST_STEM in outside.json()["detail"]


def test_predict_image_gives_class_areas_and_wgs84_polygons(api, store):
    image = "BE100/2021/3922000_3095690_0_11.tif"
    answer = api.get("/predict_image", image=image, polygons="true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["image"] == image and body["model"] == {"name": MODEL_NAME, "version": "1"}
    areas = body["areas"]
    assert [c["id"] for c in areas["classes"]] == list(range(1, 11))
    assert areas["classified_km2"] + areas["nodata_km2"] == pytest.approx(TILE_KM2)
    assert sum(c["share"] for c in areas["classes"]) == pytest.approx(1.0, abs=1e-5)
    assert areas["pixel_area_m2"] == 100.0

    # the areas are those of the stored mask, which is what the model predicts for that tile
    health = api.get("/health").json()
    mask = np.load(stored(store, health["model"]["cache_version"], "BE100", 2021, "3922000_3095690_0_11"))
    counts = np.bincount(mask.ravel(), minlength=11)
    assert [c["pixels"] for c in areas["classes"]] == counts[1:].tolist()

    # polygons: a FeatureCollection object (not a string) in EPSG:4326, longitude first
    polygons = body["polygons"]
    assert isinstance(polygons, dict) and polygons["type"] == "FeatureCollection" and body["crs"] == "EPSG:4326"
    frame = gpd.GeoDataFrame.from_features(polygons["features"], crs="EPSG:4326")
    lon_min, lat_min, lon_max, lat_max = frame.total_bounds
    assert 4.2 < lon_min < lon_max < 4.6 and 50.7 < lat_min < lat_max < 51.0
    assert set(frame["class_id"]) == {c["id"] for c in areas["classes"] if c["pixels"]}
    by_class = frame.to_crs(3035).assign(area=lambda f: f.area / 1e6).groupby("class_id")["area"].sum()
    for item in areas["classes"]:
        if item["pixels"]:
            assert by_class[item["id"]] == pytest.approx(item["area_km2"], rel=1e-3)


def test_predict_image_polygons_in_epsg3035_on_request(api):
    answer = api.get("/predict_image", image="BE100/2021/3922000_3095690_0_11.tif", polygons="true", crs=3035)
    body = answer.json()
    assert answer.status_code == 200 and body["crs"] == "EPSG:3035"
    frame = gpd.GeoDataFrame.from_features(body["polygons"]["features"], crs="EPSG:3035")
    assert tuple(frame.total_bounds) == pytest.approx((3922000.0, 3095690.0, 3924500.0, 3098190.0))
    assert frame.area.sum() / 1e6 == pytest.approx(body["areas"]["classified_km2"])
    without = api.get("/predict_image", image="BE100/2021/3922000_3095690_0_11.tif").json()
    assert without["polygons"] is None and without["areas"] == body["areas"]


def test_predict_nuts_gives_region_areas_and_one_polygon_per_class(api):
    answer = api.get("/predict_nuts", nuts="LU000", year=2024, simplify=0, crs=3035)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["nuts"] == "LU000" and body["cache"]["tiles"] == 1 and body["simplify_m"] == 0.0
    classes = {c["id"]: c for c in body["areas"]["classes"]}
    features = body["polygons"]["features"]
    ids = [f["properties"]["class_id"] for f in features]
    assert ids == sorted(c for c, item in classes.items() if item["pixels"])  # dissolved: one per class
    for feature in features:
        properties = feature["properties"]
        assert properties["class_name"] == classes[properties["class_id"]]["name"]
        assert properties["area_km2"] == pytest.approx(classes[properties["class_id"]]["area_km2"])
        assert shape(feature["geometry"]).area / 1e6 == pytest.approx(properties["area_km2"], rel=1e-6)


def test_predict_nuts_can_drop_small_patches_from_the_polygons_but_not_from_the_areas(api):
    every = api.get("/predict_nuts", nuts="LU000", year=2021, simplify=0, crs=3035).json()
    sieved = api.get("/predict_nuts", nuts="LU000", year=2021, simplify=0, crs=3035, min_patch=20).json()
    assert sieved["min_patch_px"] == 20 and every["min_patch_px"] == 0
    assert sieved["areas"] == every["areas"]  # the areas come from the map itself, never from the polygons
    parts = {name: sum(f["properties"]["n_polygons"] for f in body["polygons"]["features"])
             for name, body in (("every", every), ("sieved", sieved))}
    assert parts["sieved"] < parts["every"]
    total = {name: sum(shape(f["geometry"]).area for f in body["polygons"]["features"])
             for name, body in (("every", every), ("sieved", sieved))}
    assert total["sieved"] == pytest.approx(total["every"], rel=1e-9)  # patches merge; nothing is lost


def test_a_repeated_region_request_is_answered_from_memory(api):
    options = {"nuts": "LU000", "year": 2024, "simplify": 13}  # options no other test asks for
    first = api.get("/predict_nuts", **options).json()
    tiles = first["cache"]["tiles"]
    again = api.get("/predict_nuts", **options).json()
    assert again["cache"] == {"tiles": tiles, "computed": 0, "from_store": tiles}
    assert again["areas"] == first["areas"] and again["polygons"] == first["polygons"]


def test_predict_nuts_simplifies_and_defaults_to_wgs84(api):
    exact = api.get("/predict_nuts", nuts="lu000", year=2021, simplify=0).json()  # codes are case-insensitive
    simple = api.get("/predict_nuts", nuts="LU000", year=2021, simplify=50).json()
    assert exact["crs"] == simple["crs"] == "EPSG:4326" and exact["areas"] == simple["areas"]
    assert exact["bounds"] == {"xmin": 4042000.0, "ymin": 2951690.0, "xmax": 4047000.0, "ymax": 2956690.0}
    assert exact["areas"]["classified_km2"] + exact["areas"]["nodata_km2"] == pytest.approx(4 * TILE_KM2)

    def vertices(body: dict) -> int:
        return sum(len(json.dumps(f["geometry"]["coordinates"])) for f in body["polygons"]["features"])

    assert vertices(simple) < vertices(exact)
    lon, lat = np.array([c for f in simple["polygons"]["features"]
                         for part in shape(f["geometry"]).geoms for c in part.exterior.coords]).T
    assert 5.7 < lon.min() < lon.max() < 6.6 and 49.4 < lat.min() < lat.max() < 50.2


# --- cache ------------------------------------------------------------------------------------


def test_a_second_request_is_served_from_the_store(api, store):
    image = f"LU000/2018/{FIRST_STEM}.tif"
    version = api.get("/health").json()["model"]["cache_version"]
    entry = stored(store, version, "LU000", 2018, FIRST_STEM)
    assert not entry.exists()
    before = api.counts()
    first = api.get("/predict_image", image=image)
    assert first.status_code == 200 and first.json()["cache"] == {"tiles": 1, "computed": 1, "from_store": 0}
    assert entry.is_file() and not list(entry.parent.glob("*.tmp*"))  # written whole, under its final name
    middle = api.counts()
    assert middle["computed"] == before["computed"] + 1

    second = api.get("/predict_image", image=image)
    assert second.json()["cache"] == {"tiles": 1, "computed": 0, "from_store": 1}
    assert second.json()["areas"] == first.json()["areas"]
    after = api.counts()
    assert after["computed"] == middle["computed"] and after["from_store"] == middle["from_store"] + 1


def test_concurrent_requests_for_one_image_predict_it_once(api, store):
    image = f"LU000/2024/{FIRST_STEM}.tif"
    version = api.get("/health").json()["model"]["cache_version"]
    if stored(store, version, "LU000", 2024, FIRST_STEM).exists():
        stored(store, version, "LU000", 2024, FIRST_STEM).unlink()  # an earlier test may have predicted it
    before = api.counts()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: api.get("/predict_image", image=image), range(16)))
    assert all(a.status_code == 200 for a in answers)
    assert sum(a.json()["cache"]["computed"] for a in answers) == 1
    assert len({json.dumps(a.json()["areas"], sort_keys=True) for a in answers}) == 1
    assert api.counts()["computed"] == before["computed"] + 1


def test_an_answer_given_before_is_served_from_memory_even_if_the_store_lost_it(api, store):
    image = f"LU000/2021/{TINY_LAYOUT['LU000'][2021][1]}.tif"  # a tile no other test asks for
    stem = TINY_LAYOUT["LU000"][2021][1]
    version = api.get("/health").json()["model"]["cache_version"]
    stored(store, version, "LU000", 2021, stem).unlink(missing_ok=True)  # a region request may have stored it
    first = api.get("/predict_image", image=image, polygons="true")
    assert first.status_code == 200 and first.json()["cache"]["computed"] == 1
    stored(store, version, "LU000", 2021, stem).unlink()  # the store forgets; the server still knows the answer
    before = api.counts()
    again = api.get("/predict_image", image=image, polygons="true").json()
    assert again["cache"] == {"tiles": 1, "computed": 0, "from_store": 1}
    assert again["areas"] == first.json()["areas"] and again["polygons"] == first.json()["polygons"]
    assert api.counts() == {"computed": before["computed"], "from_store": before["from_store"] + 1}
    # another form of the answer (no polygons) is another entry: read from the store, hence predicted again
    plain = api.get("/predict_image", image=image).json()
    assert plain["cache"]["computed"] == 1 and plain["areas"] == first.json()["areas"]
    assert "polygons" in plain and plain["polygons"] is None


def test_without_an_answer_memory_every_request_goes_to_the_store(tiny_data, tiny_models, tmp_path):
    server = start_api(tiny_data.root, str(tiny_models.published_root), tmp_path / "store", tmp_path / "api.log",
                       env={ANSWER_CACHE_VARIABLE: "0"})
    try:
        image = f"LU000/2018/{FIRST_STEM}.tif"
        assert server.get("/predict_image", image=image).json()["cache"]["computed"] == 1
        version = server.get("/health").json()["model"]["cache_version"]
        stored(tmp_path / "store", version, "LU000", 2018, FIRST_STEM).unlink()
        assert server.get("/predict_image", image=image).json()["cache"]["computed"] == 1
    finally:
        server.stop()


def test_concurrent_region_requests_predict_each_tile_once(api, store):
    version = api.get("/health").json()["model"]["cache_version"]
    entry = stored(store, version, "BE100", 2021, "3922000_3095690_0_11")
    cached_before = int(entry.exists())  # the /predict_image tests may have predicted the one BE100 tile
    before = api.counts()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda s: api.get("/predict_nuts", nuts="BE100", year=2021, simplify=s),
                                [5, 5, 5, 5, 7, 7, 7, 7]))
    assert all(a.status_code == 200 for a in answers)
    assert entry.exists()
    assert api.counts()["computed"] == before["computed"] + 1 - cached_before
    assert len({json.dumps(a.json()["areas"], sort_keys=True) for a in answers}) == 1


def test_a_new_model_version_never_serves_an_old_prediction(api, tiny_data, tiny_models, store, tmp_path):
    image = f"LU000/2021/{FIRST_STEM}.tif"
    assert api.get("/predict_image", image=image).status_code == 200
    v1 = api.get("/health").json()["model"]["cache_version"]
    second = start_api(tiny_data.root, f"models:/{MODEL_NAME}/2", store, tmp_path / "api-v2.log",
                       env={"MLFLOW_TRACKING_URI": tiny_models.tracking_uri})
    try:
        health = second.get("/health").json()
        assert health["model"]["version"] == "2" and health["model"]["cache_version"] != v1
        answer = second.get("/predict_image", image=image).json()
        assert answer["model"]["version"] == "2"
        assert answer["cache"] == {"tiles": 1, "computed": 1, "from_store": 0}  # not version 1's entry
        v2 = health["model"]["cache_version"]
        entries = sorted(p.relative_to(store).parts[1] for p in store.glob(f"{MODEL_NAME}/*/*/LU000/2021/{FIRST_STEM}.npy"))
        assert entries == sorted([v1, v2])
        again = second.get("/predict_image", image=image).json()
        assert again["cache"]["from_store"] == 1 and again["areas"] == answer["areas"]
    finally:
        second.stop()
    assert api.get("/predict_image", image=image).json()["cache"]["from_store"] == 1  # v1 still reads its own

    # each entry is what its own model predicts
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tiny_models.tracking_uri)
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(tiny_models.tracking_uri)
        try:
            model = load_model(f"models:/{MODEL_NAME}/2")
        finally:
            mlflow.set_tracking_uri(previous)
    expected = predict(str(tiny_data.image("LU000", 2021, FIRST_STEM)), model)["mask"]
    found = PredictionStore(store).load(model, "LU000", 2021, FIRST_STEM)
    np.testing.assert_array_equal(found.mask, expected)


# --- validation -------------------------------------------------------------------------------

TRAVERSALS = [
    "../../../etc/passwd",
    "LU000/2018/../../../labels/LU000/2018/4042000_2951690_0_637.tif",
    "/etc/passwd.tif",
    "LU000/2018/%2e%2e/4042000_2951690_0_637.tif",  # sent as %252e: a second layer of encoding
    "LU000\\2018\\4042000_2951690_0_637.tif",
    "file:///etc/passwd.tif",
    "s3://bucket/LU000/2018/4042000_2951690_0_637.tif",
    "LU000/2018/4042000_2951690_0_637.npy",
    "LU000/2018/4042000_2951690_0_637.TIF",
    "LU000/2018/filename2bbox.parquet",
    "images/LU000/2018/4042000_2951690_0_637.tif",
    "LU000/2018/4042000_2951690_0_637.tif/",
    "LU000//2018/4042000_2951690_0_637.tif",
    "~/4042000_2951690_0_637.tif",
    "LU000/2018/4042000_2951690_0_637.tif\x00.png",
    "",
    "x" * 300,
]


@pytest.mark.parametrize("image", TRAVERSALS)
def test_image_paths_outside_the_images_folder_are_refused(api, image):
    answer = api.get("/predict_image", image=image)
    assert answer.status_code == 422, answer.text
    message = json.dumps(answer.json()["detail"])
    assert "image" in message


@pytest.mark.parametrize("raw", [
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/LU000/2018/4042000_2951690_0_637.tif",
    "LU000%2F2018%2F%2E%2E%2F%2E%2E%2Fnuts%2Fx.tif",
    "LU000/2018/..%5C..%5Cx.tif",
    "LU000/2018/%252e%252e/x.tif",
])
def test_url_encoded_traversals_are_refused(api, raw):
    answer = requests.get(f"{api.url}/predict_image?image={raw}", timeout=REQUEST_TIMEOUT)
    assert answer.status_code == 422, answer.text


def test_another_regions_prefix_is_a_404_without_reading(api, store):
    answer = api.get("/predict_image", image=f"BE100/2021/{FIRST_STEM}.tif")  # an LU000 tile under BE100
    assert answer.status_code == 404 and "no such tile in the index of BE100/2021" in answer.json()["detail"]
    assert not list(store.glob(f"*/*/BE100/2021/{FIRST_STEM}.npy"))
    unknown = api.get("/predict_image", image=f"FR101/2021/{FIRST_STEM}.tif")
    assert unknown.status_code == 404 and "regions with tiles: BE100, LU000" in unknown.json()["detail"]


@pytest.mark.parametrize(("path", "params", "status", "words"), [
    ("/find_nuts", {"lon": 6.1}, 422, "lat"),
    ("/find_nuts", {"lon": "six", "lat": 49.6}, 422, "lon"),
    ("/find_nuts", {"lon": 6.1, "lat": 91}, 422, "lat"),
    ("/find_nuts", {"lon": 181, "lat": 49.6}, 422, "lon"),
    ("/find_nuts", {"lon": "nan", "lat": 49.6}, 422, "lon"),
    ("/find_nuts", {"lon": "inf", "lat": 49.6}, 422, "lon"),
    ("/find_image", {"lon": 6.1, "lat": 49.6, "year": "20x4"}, 422, "year"),
    ("/find_image", {"lon": 6.1, "lat": 49.6}, 422, "year"),
    ("/predict_nuts", {"nuts": "LU-000", "year": 2021}, 422, "NUTS3 code"),
    ("/predict_nuts", {"nuts": "../LU000", "year": 2021}, 422, "NUTS3 code"),
    ("/predict_nuts", {"nuts": "XX999", "year": 2021}, 404, "no tiles for this region"),
    ("/predict_nuts", {"nuts": "BE100", "year": 2018}, 404, "available: 2021"),
    ("/predict_nuts", {"nuts": "LU000", "year": 2021, "crs": 4327}, 422, "crs"),
    ("/predict_nuts", {"nuts": "LU000", "year": 2021, "simplify": -1}, 422, "simplify"),
    ("/predict_nuts", {"year": 2021}, 422, "nuts"),
    ("/predict_image", {"image": f"LU000/2018/{FIRST_STEM}.tif", "polygons": "maybe"}, 422, "polygons"),
    ("/predict_image", {}, 422, "image"),
])
def test_malformed_parameters_get_a_clear_4xx(api, path, params, status, words):
    answer = api.get(path, **params)
    assert answer.status_code == status, answer.text
    assert words in json.dumps(answer.json()["detail"])


def test_image_paths_are_checked_before_any_storage_is_touched():
    assert parse_image("LU000/2024/4042000_2951690_0_637.tif") == ("LU000", 2024, "4042000_2951690_0_637")
    for bad in TRAVERSALS:
        with pytest.raises(ParameterError) as caught:
            parse_image(bad)
        assert caught.value.parameter == "image"


# --- the real pre-trained model -----------------------------------------------------------------


def test_the_pre_trained_model_serves_the_synthetic_data(synthetic_dir, tmp_path):
    if not (synthetic_dir / "mlflow-artifacts").is_dir():
        pytest.skip("the pre-trained model is not published: run `make model`")
    server = start_api(synthetic_dir, str(synthetic_dir), tmp_path / "store", tmp_path / "api.log")
    try:
        health = server.get("/health").json()
        assert health["model"]["name"] == MODEL_NAME and health["model"]["tiles_size"] == 250
        found = server.get("/find_image", lon=6.13, lat=49.61, year=2024)
        assert found.status_code == 200 and found.json()["nuts"] == "LU000"
        predicted = server.get("/predict_image", image=found.json()["image"], polygons="true").json()
        assert predicted["areas"]["classified_km2"] == pytest.approx(TILE_KM2)  # the synthetic tiles have no nodata
        assert predicted["polygons"]["features"]
        assert server.counts()["computed"] == 1
    finally:
        server.stop()


# --- settings: other stores, bad model ------------------------------------------------------------


def test_s3_data_and_an_s3_prediction_store(tiny_models, tiny_s3_root, s3_server, tmp_path):
    bucket = s3_server.create_bucket("api-predictions")
    server = start_api(tiny_s3_root, str(tiny_models.published_root), f"s3://{bucket}/store",
                       tmp_path / "api-s3.log", env=s3_server.env)
    try:
        health = server.get("/health").json()
        assert health["data_root"]["kind"] == "s3" and health["data_root"]["regions"] == ["BE100", "LU000"]
        assert health["prediction_store"] == {"kind": "s3", "location": f"s3://{bucket}/store",
                                              "tiles_computed": 0, "tiles_from_store": 0}
        image = f"LU000/2024/{FIRST_STEM}.tif"
        first = server.get("/predict_image", image=image)
        assert first.status_code == 200, first.text
        assert first.json()["cache"]["computed"] == 1
        assert server.get("/predict_image", image=image).json()["cache"]["from_store"] == 1
        key = (f"{bucket}/store/{MODEL_NAME}/{health['model']['cache_version']}/{CLOUD_RULES_VERSION}/"
               f"LU000/2024/{FIRST_STEM}.npy")
        assert s3_server.filesystem().exists(key)
    finally:
        server.stop()


def test_a_model_that_cannot_be_loaded_stops_the_server_at_start_up(tiny_data, tmp_path):
    missing = tmp_path / "no-model-here"
    with pytest.raises(AssertionError, match="exited") as caught:
        start_api(tiny_data.root, str(missing), tmp_path / "store", tmp_path / "api.log")
    assert str(missing) in str(caught.value)


def test_a_configured_api_address_is_used_instead_of_starting_one(monkeypatch):
    monkeypatch.setenv("LANDCOVER_API_URL", "https://landcover.example.org/api/")
    api = start_local_api()
    assert api.url == "https://landcover.example.org/api" and api.process is None and api.running
    api.stop()  # nothing to stop: a deployed API keeps running
