"""Chapter 2 runs end to end in a real Jupyter kernel, offline, on the synthetic data.

The session's one execution of the book (``book_runs``), with its exercise templates inserted
and MLflow pointed at a temporary SQLite store, so the project's own store is left
alone. Every solution passes its check, every untouched template stops with the
friendly message, the run lands in that store with the ``params.json`` contract and a
registered model version, and the figures and tables are drawn. The chapter compares
its model with the pre-trained model, so ``make model`` must have published
it under the synthetic data (the tests skip otherwise).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from landcover.book.execute import ChapterRun, cell_text
from landcover.book.project import load_book
from landcover.book.qmd import exercises
from landcover.exercises import find_blanks

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "2-training"
EXERCISES = ("trn-shapes", "trn-dataset", "trn-augment", "trn-weights", "trn-step", "trn-fit", "trn-evaluate",
             "trn-mlflow", "trn-load")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chapter_run(synthetic_dir: Path, book_runs) -> tuple[ChapterRun, str]:
    """Chapter 2 from the session's one execution of the book, and its MLflow store."""
    from landcover.inference.loading import published_model_location

    try:
        published_model_location(str(synthetic_dir))
    except FileNotFoundError:
        pytest.skip("no pre-trained model under the synthetic data: run `make model`")
    return book_runs.runs[CHAPTER], book_runs.tracking_uri


def test_chapter_runs_and_every_solution_passes(chapter_run: tuple[ChapterRun, str]) -> None:
    run, _ = chapter_run
    assert run.ok, run.failure
    cells = run.cells_by_label()
    found = [ex.id for ex in exercises(load_book(ROOT).find_chapter(CHAPTER))[0]]
    assert found == list(EXERCISES)
    for exercise in EXERCISES:
        assert f"✅ {exercise}: correct." in cell_text(cells[f"{exercise}-solution"]), exercise
    assert "synthetic data" in cell_text(cells["trn-setup"])


def test_untouched_templates_stop_with_the_friendly_message(chapter_run: tuple[ChapterRun, str]) -> None:
    run, _ = chapter_run
    cells = run.cells_by_label()
    for ex in exercises(load_book(ROOT).find_chapter(CHAPTER))[0]:
        cell = cells[f"{ex.id}-template"]
        errors = [o.ename for o in cell.outputs if o.output_type == "error"]
        assert errors == ["ExerciseBlankError"], cell_text(cell)
        shown = cell_text(cell)
        assert f"Exercise {ex.id} is not finished" in shown
        assert len(find_blanks(ex.template.source)) >= 1
        assert "Traceback" not in shown


def test_the_run_is_logged_and_registered_in_the_configured_store(chapter_run: tuple[ChapterRun, str]) -> None:
    from mlflow import MlflowClient

    from landcover.inference.params import parse_params
    from landcover.training.tracking import CHAPTER_MODEL_NAME, MODEL_NAME

    run, store = chapter_run
    assert store in cell_text(run.cells_by_label()["trn-setup"])
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("landcover-chapter-2")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    logged = runs[0]
    params = parse_params(logged.data.params)  # the params.json contract, readable as run parameters
    assert params["n_bands"] == 14 and params["tiles_size"] == params["augment_size"] == 250
    assert logged.data.params["epochs"] == "8" and logged.data.params["crop_size"] == "128"
    history = client.get_metric_history(logged.info.run_id, "val_miou")
    assert sorted(m.step for m in history) == list(range(1, 9))
    assert 0 < logged.data.metrics["best_val_miou"] <= 1
    versions = client.search_model_versions(f"name = '{CHAPTER_MODEL_NAME}'")
    assert [(str(v.version), v.run_id) for v in versions] == [("1", logged.info.run_id)]
    # the short run stays out of the pre-trained model's name, which chapter 3 loads
    assert client.search_model_versions(f"name = '{MODEL_NAME}'") == []
    assert "confusion_matrix.png" in [a.path for a in client.list_artifacts(logged.info.run_id)]


def _images(cell: Any) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.outputs)


def test_figures_and_tables_are_drawn(chapter_run: tuple[ChapterRun, str]) -> None:
    run, _ = chapter_run
    doc = load_book(ROOT).find_chapter(CHAPTER)
    cells = run.cells_by_label()
    figures = [c for c in doc.cells if c.label.startswith("fig-") and c.lang == "python"]
    assert len(figures) >= 8
    for figure in figures:
        assert _images(cells[figure.label]) == 1, figure.label
        assert "Synthetic data" in figure.options["fig-cap"], figure.label
        assert "DATA_NOTE" in figure.source, figure.label  # the title says "synthetic data" on the synthetic data
    for table in (c for c in doc.cells if c.label.startswith("tbl-")):
        assert any("text/html" in o.get("data", {}) for o in cells[table.label].outputs), table.label


def test_the_pretrained_model_is_compared_on_the_same_tiles(chapter_run: tuple[ChapterRun, str]) -> None:
    run, _ = chapter_run
    cells = run.cells_by_label()
    # A fresh store does not hold the pre-trained model's run: the chapter says so and still compares.
    assert "not in this tracking store" in cell_text(cells["trn-pretrained-model"])
    tiles = re.search(r"(\d+) validation tiles", cell_text(cells["trn-subset"]))
    assert tiles, cell_text(cells["trn-subset"])
    table = "".join(o.get("data", {}).get("text/html", "") for o in cells["tbl-trn-compare"].outputs)
    assert f"short run, {tiles.group(1)} held-out tiles" in table
    assert f"pre-trained model, same {tiles.group(1)} tiles" in table
    found = re.search(r"mIoU (\d\.\d+) \(short run\) against (\d\.\d+) \(pre-trained model\)", cell_text(cells["trn-gap"]))
    assert found, cell_text(cells["trn-gap"])
    short, pretrained = (float(v) for v in found.groups())
    assert short < pretrained  # what the chapter's closing note says
