"""A participant who skips every exercise can still run each notebook to the end.

The derived notebooks hold no solution code. Here each one is executed as a
participant who gives up on every exercise would: they run the untouched template
(it stops with the blank message and changes nothing), then ``catch_up("<id>")``,
and go on. Every later cell must then work: no NameError, no other error.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from landcover.book.derive import write_derived
from landcover.book.execute import cell_text, execute_notebook
from landcover.book.project import load_book
from tests.conftest import PROJECT_DIR

CHECK_RE = re.compile(r"""check\(\s*["']([\w-]+)["']""")


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("derived")
    write_derived(load_book(PROJECT_DIR), out, quiet=True)
    return out / "notebooks"


def _skipping_every_exercise(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook as run by a participant who runs each template unfilled, then catches up."""
    cells, skipped = [], []
    for cell in nb.cells:
        cells.append(cell)
        if "exercise-template" in cell.metadata.get("tags", []):
            exercise = CHECK_RE.findall(cell.source)[-1]
            cell.metadata["tags"] = [*cell.metadata["tags"], "raises-exception"]
            catch_up = nbformat.v4.new_code_cell(f'catch_up("{exercise}")')
            catch_up.metadata["name"] = exercise
            cells.append(catch_up)
            skipped.append(exercise)
    nb.cells = cells
    return nb, skipped


def _chapters_with_exercises() -> list[str]:
    from landcover.book.execute import executable_documents
    from landcover.book.qmd import exercises

    book = load_book(PROJECT_DIR)
    return [doc.name for doc in executable_documents(book) if exercises(doc)[0]]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", _chapters_with_exercises())
def test_a_participant_who_skips_every_exercise_reaches_the_end(
    chapter: str, notebooks: Path, synthetic_dir: Path, tmp_path: Path
) -> None:
    nb = nbformat.read(notebooks / f"{chapter}.ipynb", as_version=4)
    nb, skipped = _skipping_every_exercise(nb)
    assert skipped, f"{chapter} has no exercise"
    env = {
        "LANDCOVER_DATA_ROOT": str(synthetic_dir),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    _, failure = execute_notebook(nb, cwd=PROJECT_DIR, name=chapter, offline=True, progress=False, env=env)
    assert failure is None, str(failure)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "exercise-template" in cell.metadata.get("tags", []):
            assert [e.ename for e in errors] == ["ExerciseBlankError"], cell.source[:200]
        else:
            assert not errors, f"{chapter}: {cell.source[:200]}\n{errors[0].ename}: {errors[0].evalue}"
        if cell.metadata.get("name") in skipped:
            assert f"⏭ {cell.metadata['name']}: continued with the reference answer" in cell_text(cell)
