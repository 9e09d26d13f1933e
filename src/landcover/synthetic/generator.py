"""Generate all the synthetic data: simulate windows, render tiles in a process pool, write index files.

Order of work: remove the old manifest and leftovers, simulate each window's
landscape (one task per window), render every cell (one task per cell, all
years), then write the per-folder index files, the NUTS file, the class table,
the README and the mosaics, prune files that no longer belong, and write the
completion manifest last.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from landcover.classes import CLASSES, class_table
from landcover.synthetic.landscape import simulate_window
from landcover.synthetic.manifest import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    NUTS_RELPATH,
    config_key,
    read_manifest,
    synthetic_status,
)
from landcover.synthetic.noise import SEED
from landcover.synthetic.readme import synthetic_readme
from landcover.synthetic.regions import (
    LABEL_YEARS,
    MOSAIC_REGIONS,
    SYNTHETIC_REGIONS,
    YEARS,
    Cell,
    SyntheticRegion,
    region_by_id,
)
from landcover.synthetic.scenarios import recipe_for
from landcover.synthetic.tiles import TileResult, jobs_for_window, render_tile
from landcover.synthetic.writer import (
    TILE_LAYOUTS,
    remove_partials,
    write_index,
    write_json,
    write_normalization,
    write_nuts,
    write_text,
)

#: Sub-folders the generator owns (and prunes); anything else under the root is left alone.
OWNED_FOLDERS = ("images", "labels", "nuts")
README_MARKER = "SYNTHETIC dataset"


class SyntheticDataError(RuntimeError):
    """The synthetic data cannot be generated where asked (bad folder, not writable...)."""


@dataclass
class GenerationReport:
    """What a call to :func:`generate_synthetic` did."""

    root: Path
    skipped: bool
    reason: str
    seconds: float = 0.0
    n_tiles: int = 0
    files: list[tuple[str, int]] = field(default_factory=list)
    class_counts: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (nuts, year) -> (11,)
    cloudy_tiles: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        """Size of every file written, in bytes."""
        return sum(size for _, size in self.files)

    def class_shares(self, nuts_id: str, year: int) -> dict[int, float]:
        """Share of each class among the labelled (non-zero) pixels of a region-year."""
        counts = self.class_counts.get((nuts_id, year))
        if counts is None or counts[1:].sum() == 0:
            return {}
        total = counts[1:].sum()
        return {k: float(counts[k] / total) for k in range(1, 11)}


def generate_synthetic(
    out: str | os.PathLike,
    *,
    regions: Sequence[SyntheticRegion | str] = SYNTHETIC_REGIONS,
    workers: int = 2,
    force: bool = False,
    progress: bool = True,
    mosaic_regions: tuple[str, ...] | None = None,
    layout: str = "compact",
) -> GenerationReport:
    """Write the synthetic data under ``out``; skip when complete synthetic data of this version is there.

    ``regions`` selects what to generate (synthetic regions or their NUTS ids; tests
    pass a tiny configuration such as :data:`~landcover.synthetic.regions.SMALL_REGIONS`);
    ``workers`` processes share the work (1 runs everything in this process; the
    bytes are the same either way); ``force`` regenerates even complete synthetic data;
    ``mosaic_regions`` get a ``mosaic.vrt`` per year (default: BE100 when generated).
    """
    started = time.perf_counter()
    regions = tuple(region_by_id(r) if isinstance(r, str) else r for r in regions)
    root = _prepare_root(out)
    if layout not in TILE_LAYOUTS:
        raise ValueError(f"layout={layout!r}: choose one of {sorted(TILE_LAYOUTS)}")
    key = config_key(regions, SEED, layout)
    ids = [r.nuts_id for r in regions]
    if mosaic_regions is None:
        mosaic_regions = tuple(r for r in MOSAIC_REGIONS if r in ids)
    unknown = sorted(set(mosaic_regions) - set(ids))
    if unknown:
        raise ValueError(f"mosaic_regions {unknown} are not among the generated regions {ids}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")

    status = synthetic_status(root, key)
    if status.complete and not force:
        return GenerationReport(root, skipped=True, reason="synthetic data complete, nothing to do")
    _check_ours(root)
    (root / MANIFEST_NAME).unlink(missing_ok=True)  # from now on the folder is "incomplete"
    remove_partials(root)
    write_text(
        root / "README.md", f"# {README_MARKER} — generation in progress\n\nNot real satellite data.\n"
    )

    results = _render_all(root, regions, workers, progress, layout)
    report = GenerationReport(root, skipped=False, reason="force" if force else status.reason)
    report.n_tiles = len(results)
    for result in results:
        report.files.extend(result.files)
        for year, counts in result.class_counts.items():
            key_ = (result.cell.nuts_id, year)
            report.class_counts[key_] = report.class_counts.get(key_, np.zeros(11, np.int64)) + counts
        if result.cloud_share > 0:
            report.cloudy_tiles[result.cell.nuts_id] = report.cloudy_tiles.get(result.cell.nuts_id, 0) + 1

    report.files.extend(_write_indexes(root, results))
    report.files.extend(_write_extras(root, regions, report, mosaic_regions))
    _prune(root, {path for path, _ in report.files})
    report.files.sort()
    write_json(
        root / MANIFEST_NAME,
        {
            "generator": "landcover.synthetic",
            "version": GENERATOR_VERSION,
            "seed": SEED,
            "config": key,
            "regions": ids,
            "years": list(YEARS),
            "n_tiles": report.n_tiles,
            "total_bytes": report.total_bytes,
            "files": [{"path": path, "size": size} for path, size in report.files],
            "synthetic": True,
            "layout": layout,
        },
    )
    report.seconds = time.perf_counter() - started
    return report


def _prepare_root(out: str | os.PathLike) -> Path:
    """Create the output folder (or explain why it cannot be used)."""
    root = Path(out).expanduser()
    if root.exists() and not root.is_dir():
        raise SyntheticDataError(f"--out {root} exists and is not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SyntheticDataError(f"cannot create the output folder {root}: {exc.strerror or exc}") from exc
    if not os.access(root, os.W_OK | os.X_OK):
        raise SyntheticDataError(f"the output folder {root} is not writable")
    return root.resolve()


def _check_ours(root: Path) -> None:
    """Refuse to write into a folder that holds data but was not made by this generator (a bucket copy, say)."""
    manifest = read_manifest(root)
    if manifest is not None and manifest.get("generator") == "landcover.synthetic":
        return
    readme = root / "README.md"
    if readme.exists() and README_MARKER in readme.read_text(encoding="utf-8", errors="replace"):
        return
    held = [name for name in (*OWNED_FOLDERS, "README.md") if (root / name).exists()]
    if held:
        raise SyntheticDataError(
            f"{root} already holds {', '.join(held)} but was not made by this generator "
            "(no synthetic-data manifest or README); choose an empty folder or move its contents away"
        )


def _windows(regions: tuple[SyntheticRegion, ...]) -> Iterator[tuple[SyntheticRegion, str, list[Cell]]]:
    """``(region, window name, cells of that window)`` for every simulated window, in region order."""
    for region in regions:
        names = list(dict.fromkeys(cell.window for cell in region.cells))
        for name in names:
            yield region, name, [cell for cell in region.cells if cell.window == name]


def _render_all(
    root: Path, regions: tuple[SyntheticRegion, ...], workers: int, progress: bool, layout: str = "compact"
) -> list[TileResult]:
    windows = list(_windows(regions))
    n_cells = sum(len(cells) for _, _, cells in windows)

    def bars() -> tuple[tqdm, tqdm]:
        """Progress bars of the simulated windows and of the rendered tiles."""
        return (
            tqdm(total=len(windows), desc="landscapes", unit="window", disable=not progress, leave=False),
            tqdm(total=n_cells, desc="tiles (3 years each)", unit="tile", disable=not progress),
        )

    if workers == 1:
        bar_windows, bar_tiles = bars()
        results = []
        try:
            for region, name, cells in windows:
                scenes = simulate_window(region, name, cells, recipe_for(region.nuts_id, name))
                bar_windows.update()
                for job in jobs_for_window(scenes, cells, str(root), GENERATOR_VERSION, SEED, layout):
                    results.append(render_tile(job))
                    bar_tiles.update()
        finally:
            bar_windows.close()
            bar_tiles.close()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # Submit first: the workers start (fork) before the progress bars start their thread.
            simulations: dict[Future, list[Cell]] = {
                pool.submit(simulate_window, region, name, cells, recipe_for(region.nuts_id, name)): cells
                for region, name, cells in windows
            }
            bar_windows, bar_tiles = bars()
            try:
                results = _collect(pool, root, simulations, bar_windows, bar_tiles, layout)
            finally:
                bar_windows.close()
                bar_tiles.close()
    return sorted(results, key=lambda r: (r.cell.nuts_id, r.cell.tile_id))


def _collect(
    pool: Executor,
    root: Path,
    simulations: dict[Future, list[Cell]],
    bar_windows: tqdm,
    bar_tiles: tqdm,
    layout: str = "compact",
) -> list[TileResult]:
    """Turn each finished window into tile jobs as soon as it is ready; gather the tiles."""
    renders: list[Future] = []
    for future in as_completed(simulations):
        scenes = future.result()
        bar_windows.update()
        for job in jobs_for_window(scenes, simulations[future], str(root), GENERATOR_VERSION, SEED, layout):
            renders.append(pool.submit(render_tile, job))
        del scenes
    results = []
    for future in as_completed(renders):
        results.append(future.result())
        bar_tiles.update()
    return results


def _write_indexes(root: Path, results: list[TileResult]) -> list[tuple[str, int]]:
    """filename2bbox.parquet and metrics-normalization.yaml for every region-year folder."""
    written = []
    by_region: dict[str, list[TileResult]] = defaultdict(list)
    for result in results:
        by_region[result.cell.nuts_id].append(result)
    for nuts_id, group in sorted(by_region.items()):
        group.sort(key=lambda r: r.cell.tile_id)
        for year in YEARS:
            folder = root / "images" / nuts_id / str(year)
            rows = [(f"{r.cell.stem}.tif", r.cell.bounds) for r in group]
            write_index(folder / "filename2bbox.parquet", rows)
            n = sum(r.n_pixels for r in group)
            total = np.sum([r.band_sum[year] for r in group], axis=0)
            total_sq = np.sum([r.band_sumsq[year] for r in group], axis=0)
            mean = total / n
            std = np.sqrt(np.maximum(total_sq / n - mean**2, 0.0))
            write_normalization(folder / "metrics-normalization.yaml", mean, std, len(group))
            for name in ("filename2bbox.parquet", "metrics-normalization.yaml"):
                rel = f"images/{nuts_id}/{year}/{name}"
                written.append((rel, (root / rel).stat().st_size))
    return written


def _write_extras(
    root: Path, regions: tuple[SyntheticRegion, ...], report: GenerationReport, mosaic_regions: tuple[str, ...]
) -> list[tuple[str, int]]:
    """NUTS outlines, class table, README and mosaics."""
    from landcover.data.mosaic import build_mosaic_vrt

    records = [
        {"NUTS_ID": r.nuts_id, "NUTS_NAME": r.name, "CNTR_CODE": r.country, "LEVL_CODE": 3} for r in regions
    ]
    write_nuts(root / NUTS_RELPATH, records, [r.outline for r in regions])
    write_text(root / "classes.csv", class_table().to_csv(index=False))
    labelled = sum(int(c.sum()) for c in report.class_counts.values())
    gaps = sum(int(c[0]) for c in report.class_counts.values())
    shares = {r.nuts_id: report.class_shares(r.nuts_id, LABEL_YEARS[-1]) for r in regions}
    names = {c.id: c.short_name for c in CLASSES}
    named_shares = {k: {names[c]: s for c, s in v.items()} for k, v in shares.items()}
    write_text(
        root / "README.md",
        synthetic_readme(
            regions,
            GENERATOR_VERSION,
            SEED,
            named_shares,
            report.cloudy_tiles,
            gaps / max(labelled, 1),
            mosaic_regions,
        ),
    )
    written = [NUTS_RELPATH, "classes.csv", "README.md"]
    for nuts_id in mosaic_regions:
        for year in YEARS:
            path = Path(build_mosaic_vrt(nuts_id, year, root=str(root)))
            written.append(path.relative_to(root).as_posix())
    return [(rel, (root / rel).stat().st_size) for rel in written]


def _prune(root: Path, keep: set[str]) -> None:
    """Delete files in the generator's folders that this run did not write (stale tiles, old regions)."""
    for folder in OWNED_FOLDERS:
        base = root / folder
        if not base.exists():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
