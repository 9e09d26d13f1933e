"""What the API does, without HTTP: look-ups, cached predictions, areas and polygons.

:class:`LandcoverService` holds what is loaded once (the model, the NUTS3
outlines, the prediction store) and answers each endpoint with plain Python
values, so it can be tested and reused outside FastAPI. Its methods block
(reading tiles, running the model); the app runs them in threads.

Predictions go through the prediction store
(:class:`landcover.inference.cache.PredictionStore`), keyed by the model's
name and version and the image; concurrent requests for one image wait for
the first one, so each tile is predicted once per model version. The
service counts the tiles it predicted and the ones it read from the store
(:meth:`LandcoverService.counts`), which ``/health`` reports.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
from affine import Affine

from landcover.api.schemas import (
    AreaSummary,
    Bounds,
    CacheInfo,
    ClassArea,
    DataRootInfo,
    Health,
    ImageMatch,
    ImagePredictionResponse,
    ModelInfo,
    NutsRegion,
    PredictedModel,
    RegionPredictionResponse,
    StoreInfo,
)
from landcover.api.settings import ApiSettings
from landcover.api.validation import ImageKey, NotFoundError, check_nuts, parse_image
from landcover.classes import CLASSES, NODATA
from landcover.data.paths import image_path
from landcover.data.regions import available_years, list_regions, load_nuts3, nuts3_at
from landcover.data.tile_index import find_tile_at, load_tile_index
from landcover.data.tiles import get_satellite_image
from landcover.errors import DataFileError
from landcover.inference.cache import PredictionStore, model_key
from landcover.inference.loading import LoadedModel, published_model_location
from landcover.inference.model import load_model
from landcover.inference.polygons import (
    class_polygons_for_region,
    create_geojson_from_mask,
    sieve_mask,
    to_geojson,
)
from landcover.inference.prediction import predict
from landcover.inference.regions import predict_region
from landcover.storage import scheme_of

#: Square metres in a square kilometre.
M2_PER_KM2 = 1_000_000.0
#: CRS of the tiles and of every mask the model predicts.
MASK_CRS = "EPSG:3035"
#: CRS codes a client may ask polygons in.
POLYGON_CRS = {4326: "EPSG:4326", 3035: "EPSG:3035"}


def load_service_model(settings: ApiSettings) -> LoadedModel:
    """The model the settings name: ``settings.model``, else the one published under the data root.

    Raises
    ------
    FileNotFoundError, LookupError, ValueError
        From :func:`landcover.inference.model.load_model`, naming the source.
    """
    if settings.model:
        return load_model(settings.model)
    return load_model(published_model_location(settings.data_root))


def area_summary(mask: np.ndarray, pixel_area_m2: float) -> AreaSummary:
    """Per-class pixel counts, areas (km²) and shares of the classified area of a class mask."""
    counts = np.bincount(np.asarray(mask, dtype=np.uint8).ravel(), minlength=len(CLASSES) + 1)
    classified = int(counts[1:].sum())
    km2 = pixel_area_m2 / M2_PER_KM2
    classes = [
        ClassArea(
            id=c.id, name=c.name, pixels=int(counts[c.id]), area_km2=round(float(counts[c.id]) * km2, 6),
            share=round(float(counts[c.id]) / classified, 6) if classified else 0.0,
        )
        for c in CLASSES
    ]
    return AreaSummary(
        classes=classes, classified_km2=round(classified * km2, 6),
        nodata_km2=round(float(counts[NODATA]) * km2, 6), pixel_area_m2=float(pixel_area_m2),
    )


def _json_with_polygons(summary: dict[str, Any], polygons: str) -> str:
    """``summary`` as JSON with a ``polygons`` member holding already-serialised JSON (no re-encoding)."""
    head = json.dumps(summary, separators=(",", ":"))
    return head[:-1] + ',"polygons":' + polygons + "}"


class _Locks:
    """One lock per key, made on first use (for the few region answers being built at once)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Any, threading.Lock] = {}

    @contextmanager
    def hold(self, key: Any) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


class AnswerCache:
    """Finished JSON answers by key, least recently used dropped first beyond ``max_chars`` or ``max_entries``.

    Thread-safe, and a look-up is a dictionary access under a lock, so the
    event loop can answer from it directly: under many clients, a cached answer
    that waits for a free worker thread behind other requests is what makes
    the slowest answers slow. ``None``: no bound of that kind; 0 keeps nothing.
    """

    def __init__(self, max_chars: int | None = None, *, max_entries: int | None = None) -> None:
        self.max_chars = None if max_chars is None else max(0, int(max_chars))
        self.max_entries = None if max_entries is None else max(0, int(max_entries))
        self._answers: OrderedDict[Any, str] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> str | None:
        """The answer kept under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def _over(self) -> bool:
        return (self.max_chars is not None and self._chars > self.max_chars) or (
            self.max_entries is not None and len(self._answers) > self.max_entries
        )

    def put(self, key: Any, answer: str) -> None:
        """Keep ``answer`` under ``key``; one larger than the whole budget is not kept."""
        if (self.max_chars is not None and len(answer) > self.max_chars) or self.max_entries == 0:
            return
        with self._lock:
            previous = self._answers.pop(key, None)
            if previous is not None:
                self._chars -= len(previous)
            self._answers[key] = answer
            self._chars += len(answer)
            while self._over():
                _, dropped = self._answers.popitem(last=False)
                self._chars -= len(dropped)

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)


class LandcoverService:
    """The API's state and answers; see the module docstring.

    Parameters
    ----------
    settings : ApiSettings
        Data root, model source, prediction store, worker threads.
    model : LoadedModel, optional
        An already loaded model (default: loaded from ``settings``, once).
    """

    def __init__(self, settings: ApiSettings, model: LoadedModel | None = None) -> None:
        self.settings = settings
        self.root = settings.data_root
        self.model = model if model is not None else load_service_model(settings)
        self.model_key = model_key(self.model)
        self.store = PredictionStore(settings.prediction_store, root=self.root)
        self.executor = ThreadPoolExecutor(settings.prediction_workers, thread_name_prefix="landcover-predict")
        self._counts = {"computed": 0, "from_store": 0}
        self._counts_lock = threading.Lock()
        self._outlines: gpd.GeoDataFrame | None = None
        self._outlines_lock = threading.Lock()
        self._years: dict[str, list[int]] = {}
        self._regions: list[str] | None = None
        self._region_answers = AnswerCache(max_entries=settings.region_cache_size)
        self._region_locks = _Locks()
        self._image_answers = AnswerCache(settings.answer_cache_mb * 1_000_000)

    def close(self) -> None:
        """Stop the prediction threads (running predictions finish first)."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    # --- counters ----------------------------------------------------------------------

    def _count(self, computed: int = 0, from_store: int = 0) -> None:
        with self._counts_lock:
            self._counts["computed"] += computed
            self._counts["from_store"] += from_store

    def counts(self) -> dict[str, int]:
        """Tiles predicted (``computed``) and read from the store (``from_store``) since start-up."""
        with self._counts_lock:
            return dict(self._counts)

    # --- data look-ups -----------------------------------------------------------------

    def outlines(self) -> gpd.GeoDataFrame:
        """The NUTS3 outlines (EPSG:3035), loaded on first use and kept."""
        with self._outlines_lock:
            if self._outlines is None:
                self._outlines = load_nuts3(root=self.root)
            return self._outlines

    def regions(self) -> list[str]:
        """NUTS3 codes with tiles under the data root (listed once)."""
        if self._regions is None:
            self._regions = list_regions(self.root)
        return self._regions

    def years(self, nuts: str) -> list[int]:
        """Years with tiles for a region (listed once per region; empty for a region without tiles).

        Only regions of :meth:`regions` are looked up, so any number of
        unknown codes costs neither storage requests nor memory.
        """
        if nuts not in self.regions():
            return []
        if nuts not in self._years:
            self._years[nuts] = available_years(nuts, self.root)
        return self._years[nuts]

    def check_region_year(self, nuts: str, year: int) -> None:
        """Raise :class:`NotFoundError` unless the data holds tiles of ``nuts`` for ``year``."""
        years = self.years(nuts)
        if not years:
            known = ", ".join(self.regions()) or "none"
            raise NotFoundError(f"nuts={nuts!r}: no tiles for this region in the data (regions with tiles: {known})")
        if year not in years:
            raise NotFoundError(
                f"year={year}: no tiles of {nuts} for this year (available: {', '.join(map(str, years))})"
            )

    def tile_box(self, key: ImageKey) -> tuple[float, float, float, float]:
        """The box (EPSG:3035 m) of a tile listed in its region-year's index, or :class:`NotFoundError`."""
        self.check_region_year(key.nuts, key.year)
        index = load_tile_index(key.nuts, key.year, self.root)
        rows = index.index[index["filename"] == f"{key.stem}.tif"]
        if len(rows) == 0:
            raise NotFoundError(
                f"image={key.relative_path!r}: no such tile in the index of {key.nuts}/{key.year} "
                "(find one with /find_image)"
            )
        return tuple(float(v) for v in index.loc[rows[0], "bbox"])  # type: ignore[return-value]

    # --- endpoints ---------------------------------------------------------------------

    def health(self) -> Health:
        """The model, data root and store this server uses, and its prediction counts."""
        params = self.model.params
        kind = scheme_of(self.root)
        store_kind = scheme_of(self.store.location)
        counts = self.counts()
        return Health(
            status="ok",
            model=ModelInfo(
                name=self.model.name, version=self.model.version, cache_version=self.model_key.version,
                run_id=self.model.run_id, module_name=str(params.get("module_name", "unknown")),
                tiles_size=int(params["tiles_size"]),
            ),
            data_root=DataRootInfo(kind="local" if kind == "file" else kind, location=self.root,  # type: ignore[arg-type]
                                   regions=self.regions()),
            prediction_store=StoreInfo(
                kind="local" if store_kind == "file" else store_kind,  # type: ignore[arg-type]
                location=self.store.location, tiles_computed=counts["computed"],
                tiles_from_store=counts["from_store"],
            ),
        )

    def find_nuts(self, lon: float, lat: float) -> NutsRegion:
        """The NUTS3 region holding a WGS84 point, with the years the data has for it.

        Raises
        ------
        landcover.errors.RegionNotFoundError
            When no region of the outlines holds the point.
        """
        outlines = self.outlines()
        nuts = nuts3_at(lon, lat, nuts=outlines)
        row = outlines.loc[outlines["NUTS_ID"] == nuts].iloc[0]
        name = row.get("NUTS_NAME") or row.get("NAME_LATN") or nuts
        country = row.get("CNTR_CODE")
        return NutsRegion(nuts=nuts, name=str(name), country=str(country) if country else None,
                          years=self.years(nuts))

    def find_image(self, lon: float, lat: float, year: int) -> ImageMatch:
        """The tile of ``year`` under a WGS84 point, its path relative to ``images/`` and its box.

        Raises
        ------
        landcover.errors.RegionNotFoundError, NotFoundError, landcover.errors.PointOutsideTilesError
            When no region holds the point, the region has no tiles for
            ``year``, or no tile holds the point.
        """
        region = self.find_nuts(lon, lat)
        self.check_region_year(region.nuts, year)
        match = find_tile_at(lon, lat, region.nuts, year, crs="EPSG:4326", root=self.root)
        xmin, ymin, xmax, ymax = match.bbox
        return ImageMatch(nuts=region.nuts, year=year, image=f"{region.nuts}/{year}/{match.filename}",
                          bounds=Bounds(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax))

    def tile_mask(self, key: ImageKey) -> tuple[np.ndarray, bool]:
        """The class mask of a tile, from the store or predicted (and stored); and whether it was predicted.

        Concurrent calls for one tile predict it once: the others wait and read it.
        """
        n_bands = int(self.model.params["n_bands"])

        def compute() -> dict[str, Any]:
            image = get_satellite_image(image_path(key.nuts, key.year, key.stem, self.root), n_bands=n_bands)
            return predict(image, self.model, batch_size=self.settings.batch_size)  # type: ignore[return-value]

        found, computed = self.store.get_or_compute(self.model, key.nuts, key.year, key.stem, compute)
        self._count(computed=int(computed), from_store=int(not computed))
        return found.mask, computed

    def predict_image(self, image: str, polygons: bool = False, crs: int = 4326) -> str:
        """``/predict_image`` as JSON text: class areas of one tile and, when asked, its polygons.

        Raises
        ------
        landcover.api.validation.ParameterError
            When ``image`` is not ``{NUTS3}/{year}/{stem}.tif``.
        NotFoundError
            When the data holds no such tile.
        """
        key = parse_image(image)
        remembered = self._remembered_image_answer(key, polygons, crs)
        if remembered is not None:
            return remembered
        xmin, ymin, xmax, ymax = self.tile_box(key)
        mask, computed = self.tile_mask(key)
        rows, cols = mask.shape
        pixel_x, pixel_y = (xmax - xmin) / cols, (ymax - ymin) / rows
        if not np.isclose(pixel_x, pixel_y, rtol=1e-3):
            raise DataFileError(f"{key.relative_path}: the index box and the {rows} x {cols} prediction disagree")
        response = ImagePredictionResponse(
            image=key.relative_path, nuts=key.nuts, year=key.year,
            model=PredictedModel(name=self.model.name, version=self.model.version),
            bounds=Bounds(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax),
            areas=area_summary(mask, pixel_x * pixel_y),
            cache=CacheInfo(tiles=1, computed=int(computed), from_store=int(not computed)),
            crs=POLYGON_CRS[crs], polygons=None,  # type: ignore[arg-type]
        )
        summary = response.model_dump(mode="json", exclude={"polygons"})
        if polygons:
            grid = {"array": mask, "transform": Affine(pixel_x, 0.0, xmin, 0.0, -pixel_y, ymax), "crs": MASK_CRS}
            patches = create_geojson_from_mask(grid, mask)
            shapes = json.dumps(to_geojson(patches, POLYGON_CRS[crs]), separators=(",", ":"))
        else:
            shapes = "null"
        # Kept as a later request will get it: read, not predicted.
        again = {**summary, "cache": {"tiles": 1, "computed": 0, "from_store": 1}}
        self._image_answers.put(self._image_answer_key(key, polygons, crs), _json_with_polygons(again, shapes))
        return _json_with_polygons(summary, shapes)

    def remembered_image_answer(self, image: str, polygons: bool = False, crs: int = 4326) -> str | None:
        """``/predict_image``'s answer when this server gave it before (kept in memory), else ``None``.

        A dictionary look-up, so the app calls it on the event loop and only
        sends the other requests to the prediction threads. The answer says
        the tile came from the store, and counts as such in ``/health``.

        Raises
        ------
        landcover.api.validation.ParameterError
            When ``image`` is not ``{NUTS3}/{year}/{stem}.tif``.
        """
        return self._remembered_image_answer(parse_image(image), polygons, crs)

    def _remembered_image_answer(self, key: ImageKey, polygons: bool, crs: int) -> str | None:
        answer = self._image_answers.get(self._image_answer_key(key, polygons, crs))
        if answer is not None:
            self._count(from_store=1)
        return answer

    def _image_answer_key(self, key: ImageKey, polygons: bool, crs: int) -> tuple[Any, ...]:
        """Where an image's answer is remembered: model, tile and the form asked (polygons, CRS)."""
        return (self.model_key, key.relative_path, bool(polygons), int(crs))

    def predict_nuts(
        self, nuts: str, year: int, crs: int = 4326, simplify: float = 10.0, min_patch: int = 0
    ) -> str:
        """``/predict_nuts`` as JSON text: class areas over a region's tiles and its class polygons.

        Each tile comes from the store or is predicted (and stored); the
        mosaic's polygons are dissolved per class and simplified with a
        tolerance of ``simplify`` metres in EPSG:3035, then reprojected;
        patches under ``min_patch`` pixels are first merged into their
        neighbours (a minimum mapping unit for maps; the areas stay those of
        the unsieved mask). The
        finished answer is kept in memory for the same model, region, year
        and options, so a repeated request is served without recomputing
        the polygons.

        Raises
        ------
        landcover.api.validation.ParameterError
            When ``nuts`` is not a NUTS3 code.
        NotFoundError
            When the data holds no tiles of ``nuts`` for ``year``.
        """
        nuts = check_nuts(nuts)
        self.check_region_year(nuts, year)
        key = (self.model_key, nuts, year, crs, float(simplify), int(min_patch))
        with self._region_locks.hold(key):
            cached = self._region_answers.get(key)
            if cached is not None:
                return cached
            summary, polygons = self._region_answer(nuts, year, crs, simplify, min_patch)
            tiles = summary["cache"]["tiles"]
            again = {**summary, "cache": {"tiles": tiles, "computed": 0, "from_store": tiles}}
            self._region_answers.put(key, _json_with_polygons(again, polygons))
            return _json_with_polygons(summary, polygons)

    def _region_answer(
        self, nuts: str, year: int, crs: int, simplify: float, min_patch: int = 0
    ) -> tuple[dict[str, Any], str]:
        """The summary (without polygons) and the polygons' JSON of a region, predicted or from the store."""
        region = predict_region(nuts, year, self.model, cache=self.store, batch_size=self.settings.batch_size,
                                progress=False, root=self.root)
        tiles = len(region["tiles"])
        from_store = sum(1 for tile in region["tiles"] if tile["cached"])
        self._count(computed=tiles - from_store, from_store=from_store)
        transform: Affine = region["transform"]
        xmin, ymin, xmax, ymax = region["bounds"]
        response = RegionPredictionResponse(
            nuts=nuts, year=year, model=PredictedModel(name=self.model.name, version=self.model.version),
            bounds=Bounds(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax),
            areas=area_summary(region["mask"], abs(transform.a * transform.e)),
            cache=CacheInfo(tiles=tiles, computed=tiles - from_store, from_store=from_store),
            crs=POLYGON_CRS[crs], simplify_m=float(simplify), min_patch_px=int(min_patch),  # type: ignore[arg-type]
            polygons={"type": "FeatureCollection", "features": []},  # type: ignore[arg-type]
        )
        grid = {"array": region["mask"], "transform": transform, "crs": MASK_CRS}
        # One MultiPolygon per class (multi=True): one geometry type for clients, whatever the region.
        shown = sieve_mask(region["mask"], min_patch) if min_patch > 1 else region["mask"]
        classes = class_polygons_for_region(create_geojson_from_mask(grid, shown), simplify, multi=True)
        polygons = json.dumps(to_geojson(classes, POLYGON_CRS[crs]), separators=(",", ":"))
        return response.model_dump(mode="json", exclude={"polygons"}), polygons
