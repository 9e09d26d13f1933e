"""``catch_up``: a participant who skips an exercise goes on with its reference answer.

Runs the chapter 1 reference answers (``final_solution/1-acquisition.py``) on the
synthetic data: the results land in the namespace, their check says "not attempted",
and a missing earlier result is named with the exercise to catch up first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landcover.exercises import evaluate
from landcover.exercises.catchup import CatchUpError, _cells, catch_up, reference_cell, reference_folder

CHAPTER_1 = reference_folder() / "1-acquisition.py"


def _namespace_after(*labels: str) -> dict[str, object]:
    """A fresh namespace that ran the named cells of chapter 1's reference file, in order."""
    cells = {label: code for label, _, code in _cells(CHAPTER_1)}
    namespace: dict[str, object] = {"__name__": "__main__"}
    for label in labels:
        exec(compile(cells[label], f"<{label}>", "exec"), namespace)  # noqa: S102
    return namespace


def test_the_reference_cell_is_the_solution_of_the_exercise() -> None:
    cell = reference_cell("acq-rgb")
    assert cell.file == CHAPTER_1
    assert 'check("acq-rgb", rgb_data, rgb)' in cell.code
    assert "# %%" not in cell.code and "**Exercise" not in cell.code  # one cell, no markdown after it
    assert CHAPTER_1.read_text().splitlines()[cell.line - 1] == cell.code.splitlines()[0]


def test_catch_up_defines_the_results_and_their_check_says_not_attempted(
    synthetic_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = _namespace_after("set-up", "acq-setup")
    capsys.readouterr()
    defined = catch_up("acq-rgb", namespace)

    assert {"rgb", "rgb_data"} <= set(defined)
    out = capsys.readouterr().out
    assert "⏭ acq-rgb" in out and "`rgb_data`, `rgb`" in out
    assert "correct" not in out.replace("not attempted", "")  # the solution's own check stayed silent
    assert "np.percentile" not in out  # the code is not shown
    result = evaluate("acq-rgb", namespace["rgb_data"], namespace["rgb"])
    assert result.status == "not attempted" and "catch_up" in result.message
    # The participant's own answer (new objects with the same values) is checked as usual.
    own = evaluate("acq-rgb", np.array(namespace["rgb_data"]), np.array(namespace["rgb"]))
    assert own.status == "correct"


def test_a_missing_earlier_result_names_the_exercise_to_catch_up_first(synthetic_dir: Path) -> None:
    namespace = _namespace_after("set-up", "acq-setup")
    with pytest.raises(CatchUpError, match=r'needs `LABEL_YEAR`.*acq-label-solution.*catch_up\("acq-label"\)'):
        catch_up("acq-pair", namespace)


def test_an_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(CatchUpError, match=r"no exercise 'acq-nope'.*acq-rgb.*acq-ndvi"):
        reference_cell("acq-nope")


def test_without_reference_answers_it_says_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(CatchUpError, match="make notebooks"):
        reference_cell("acq-rgb", folder=tmp_path / "final_solution")
