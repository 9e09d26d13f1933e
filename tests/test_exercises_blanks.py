"""The ``___`` blank: a friendly stop naming the exercise, the blank and what goes
there, in plain Python and in a real Jupyter kernel; never a NameError."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import nbformat
import numpy as np
import pytest

from landcover.exercises import ExerciseBlankError, ___, find_blanks, is_blank

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

USES: dict[str, Callable[[Any], Any]] = {
    "attribute": lambda b: b.shape,
    "call": lambda b: b(1),
    "add": lambda b: b + 1,
    "radd": lambda b: 1 + b,
    "divide": lambda b: b / 2,
    "matmul": lambda b: b @ b,
    "negate": lambda b: -b,
    "compare": lambda b: b > 0,
    "bool": lambda b: bool(b),
    "if": lambda b: 1 if b else 0,
    "iterate": lambda b: list(b),
    "unpack": lambda b: [x for x, _ in [b]],
    "len": lambda b: len(b),
    "index": lambda b: b[0],
    "as index": lambda b: [1, 2][b],
    "int": lambda b: int(b),
    "float": lambda b: float(b),
    "format": lambda b: f"{b}",
    "str": lambda b: str(b),
    "path": lambda b: os.fspath(b),
    "np.asarray": lambda b: np.asarray(b),
    "np.transpose": lambda b: np.transpose(b, (1, 2, 0)),
    "np.percentile": lambda b: np.percentile(b, 98),
    "np.clip": lambda b: np.clip(b, 0, 1),
    "ufunc": lambda b: np.sqrt(b),
    "array of blanks": lambda b: np.array([b, 1.0]),
    "hash": lambda b: {b: 1},
}


@pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
def test_every_use_of_the_blank_stops(use: Callable[[Any], Any]) -> None:
    with pytest.raises(ExerciseBlankError) as info:
        use(___)
    message = str(info.value)
    assert "used a blank (___)" in message and "Replace each ___" in message


def test_the_blank_can_be_shown_and_recognised() -> None:
    assert repr(___) == "___ (a blank to fill in)"
    assert is_blank(___) and not is_blank(None)
    assert getattr(___, "__array_interface__", "absent") == "absent"  # protocol probes see nothing


def test_find_blanks_reads_todo_comments() -> None:
    source = textwrap.dedent(
        """\
        from landcover.exercises import ___, check
        name = "___ is not a blank here"  # nor in a string
        with open_raster(path) as src:
            data = ___  # TODO: the three bands
        rgb, p98 = ___, ___  # TODO: two values
        check("acq-rgb", data, rgb)
        """
    )
    sites = find_blanks(source)
    assert [(s.line, s.column) for s in sites] == [(4, 11), (5, 11), (5, 16)]
    assert sites[0].todo == "the three bands" and sites[0].target == "data"
    assert sites[0].code == "data = ___"
    assert sites[1].target == "rgb, p98"


SCRIPT = '''\
# %%
import numpy as np
from landcover.exercises import ___, check

# %%
rgb_data = ___  # TODO: the red, green and blue bands, shape (3, H, W)
rgb = np.transpose(rgb_data, (1, 2, 0))
check("acq-rgb", rgb_data, rgb)
'''


def test_script_prints_the_message_without_a_traceback(tmp_path: Path) -> None:
    script = tmp_path / "exercise.py"
    script.write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "NameError" not in result.stderr
    assert "Exercise acq-rgb is not finished: line 7 `rgb = np.transpose(rgb_data, (1, 2, 0))`" in result.stderr
    assert "line 6: `rgb_data = ___`  ->  the red, green and blue bands, shape (3, H, W)" in result.stderr


# --- in a real Jupyter kernel ----------------------------------------------------------------------

KERNEL_CELLS = {
    "setup": "from landcover.exercises import ___, check\nimport numpy as np",
    "template": (
        "# Exercise: acq-rgb\n"
        "rgb_data = ___  # TODO: the red, green and blue bands, shape (3, H, W)\n"
        "rgb = np.transpose(rgb_data, (1, 2, 0))\n"
        "p98 = ___  # TODO: the 98th percentile of rgb\n"
        'check("acq-rgb", rgb_data, rgb)'
    ),
    "state kept": "'rgb_data' in dir()",
    "outputs": "1\n",
    "more outputs": "2\n",
    "history blank": "x = ___  # TODO: anything\ncheck('acq-rgb', x, x)",
    "undefined": "check('acq-rgb', nothing_yet, np.zeros(3))",
    "blank value": "from landcover.exercises import ___ as blank\ncheck('acq-rgb', blank, blank)",
    "two blanks on a line": "x, y = ___, ___  # TODO: two things\ncheck('acq-rgb', x, y)",
    "mistake in an exercise": (
        "import pandas as pd\n"
        "joined = pd.DataFrame({'NUTS_ID': []})  # what a spatial join on two CRSs returns\n"
        "nuts_code = joined['NUTS_ID'].iloc[0]\n"
        "check('acq-find-region', 'Eurostat', None, nuts_code, None)"
    ),
    "same error elsewhere": "import pandas as pd\npd.Series([], dtype=float).iloc[0]",
    "catch up": (
        "from landcover.exercises import catch_up\n"
        "from landcover.exercises.catchup import _cells, reference_folder\n"
        "cells = {label: code for label, _, code in _cells(reference_folder() / '1-acquisition.py')}\n"
        "exec(cells['acq-setup'])\n"
        "catch_up('acq-rgb')"
    ),
    "check after catch up": "check('acq-rgb', rgb_data, rgb)",
    "own answer after catch up": "rgb = rgb.copy()\nrgb_data = rgb_data.copy()\ncheck('acq-rgb', rgb_data, rgb)",
}


@pytest.fixture(scope="module")
def kernel_run() -> dict[str, nbformat.NotebookNode]:
    from landcover.book.execute import execute_notebook

    cells = []
    for name, source in KERNEL_CELLS.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["raises-exception"]
        cell.metadata["name"] = name
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    _, failure = execute_notebook(nb, cwd=ROOT, name="blanks", progress=False)
    assert failure is None, failure
    return {cell.metadata["name"]: cell for cell in nb.cells}


def _errors(cell: nbformat.NotebookNode) -> list[Any]:
    return [o for o in cell.outputs if o.output_type == "error"]


def _text(cell: nbformat.NotebookNode) -> str:
    from landcover.book.execute import cell_text

    return cell_text(cell)


def test_kernel_untouched_template_gives_the_friendly_message(kernel_run: dict[str, Any]) -> None:
    errors = _errors(kernel_run["template"])
    assert len(errors) == 1
    error = errors[0]
    assert error.ename == "ExerciseBlankError"
    shown = ANSI.sub("", "\n".join(error.traceback))
    assert shown.splitlines() == [
        "Exercise acq-rgb is not finished: 2 blanks (___) are still to be filled in, so nothing was run.",
        "Fill in:",
        "  line 2: `rgb_data = ___`  ->  the red, green and blue bands, shape (3, H, W)",
        "  line 4: `p98 = ___`  ->  the 98th percentile of rgb",
        "Replace each ___ with your code, then run it again. Stuck? Open the Hints of the exercise.",
    ]
    assert "NameError" not in shown and "Traceback" not in shown and "site-packages" not in shown


def test_kernel_rejected_cell_runs_nothing(kernel_run: dict[str, Any]) -> None:
    assert "False" in _text(kernel_run["state kept"])


def test_kernel_blank_is_caught_even_after_ipython_rebinds_it(kernel_run: dict[str, Any]) -> None:
    # IPython stores outputs in _, __ and ___; the guard does not depend on the binding.
    errors = _errors(kernel_run["history blank"])
    assert [e.ename for e in errors] == ["ExerciseBlankError"]
    assert "Exercise acq-rgb" in errors[0].evalue and "line 1: `x = ___`  ->  anything" in errors[0].evalue


def test_kernel_check_says_not_attempted(kernel_run: dict[str, Any]) -> None:
    assert _errors(kernel_run["undefined"]) == []
    assert "⏳ acq-rgb: not attempted. `rgb_data` is not defined yet" in _text(kernel_run["undefined"])
    assert "⏳ acq-rgb: not attempted. `rgb_data` is still ___" in _text(kernel_run["blank value"])


def test_kernel_lists_a_line_with_two_blanks_once(kernel_run: dict[str, Any]) -> None:
    (error,) = _errors(kernel_run["two blanks on a line"])
    shown = ANSI.sub("", "\n".join(error.traceback))
    assert "2 blanks (___) are still to be filled in" in shown
    assert shown.count("line 1: `x, y = ___, ___`") == 1


def test_kernel_error_in_an_exercise_is_followed_by_its_likely_cause(kernel_run: dict[str, Any]) -> None:
    cell = kernel_run["mistake in an exercise"]
    (error,) = _errors(cell)
    assert error.ename == "IndexError" and "out-of-bounds" in error.evalue  # the original error, unchanged
    text = _text(cell)
    assert "💡 What usually causes this in exercise acq-find-region" in text
    assert "longitude and latitude swapped" in text and "EPSG:3035" in text
    # The explanation comes after the traceback.
    kinds = [o.output_type for o in cell.outputs]
    assert kinds.index("error") < max(i for i, o in enumerate(cell.outputs) if o.output_type == "stream")


def test_kernel_the_same_error_outside_an_exercise_gets_no_explanation(kernel_run: dict[str, Any]) -> None:
    cell = kernel_run["same error elsewhere"]
    assert [e.ename for e in _errors(cell)] == ["IndexError"]
    assert "💡" not in _text(cell)


def test_kernel_catch_up_lets_a_participant_go_on(kernel_run: dict[str, Any], synthetic_dir: Path) -> None:
    caught_up = kernel_run["catch up"]
    assert _errors(caught_up) == []
    assert "⏭ acq-rgb: continued with the reference answer" in _text(caught_up)
    assert "np.percentile" not in _text(caught_up)
    assert "⏳ acq-rgb: not attempted" in _text(kernel_run["check after catch up"])
    assert "✅ acq-rgb: correct" in _text(kernel_run["own answer after catch up"])
