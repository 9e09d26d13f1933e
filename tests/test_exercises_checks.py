"""check(): correct, a specific hint about what is wrong, or not attempted; never the answer.

Runs on the tiny dataset (it holds the chapter-1 tile), so it needs no synthetic data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from landcover.book.project import load_book
from landcover.book.qmd import exercises
from landcover.exercises import CheckResult, Hint, ___, check, evaluate, exercise_check, registered
from landcover.exercises.blanks import value_or_undefined

ROOT = Path(__file__).resolve().parents[1]
STEM = "4042000_2951690_0_637"


@pytest.fixture
def tile(tiny_data: Any, use_data_root: Callable[[Any], str]) -> np.ndarray:
    use_data_root(tiny_data.root)
    from landcover.data import read_tile

    return read_tile("LU000", 2024, STEM)["array"]


def stretch(chw: np.ndarray, q: float = 98) -> np.ndarray:
    hwc = np.transpose(chw, (1, 2, 0)).astype(np.float32)
    return np.clip(hwc / np.percentile(hwc, q), 0, 1)


def rgb_of(tile: np.ndarray) -> np.ndarray:
    return tile[[3, 2, 1]]


def test_correct_answer(tile: np.ndarray, capsys: pytest.CaptureFixture[str]) -> None:
    result = check("acq-rgb", rgb_of(tile), stretch(rgb_of(tile)))
    assert isinstance(result, CheckResult) and result.passed
    assert capsys.readouterr().out.startswith("✅ acq-rgb: correct.")


def test_float64_and_equivalent_code_also_pass(tile: np.ndarray) -> None:
    data = rgb_of(tile)
    rgb = np.moveaxis(data, 0, -1)
    rgb = np.minimum(rgb / np.percentile(rgb, 98), 1.0)
    assert evaluate("acq-rgb", data, rgb).passed


def wrong_answers(tile: np.ndarray) -> dict[str, tuple[Any, Any, str]]:
    data = rgb_of(tile)
    good = stretch(data)
    hwc = np.transpose(data, (1, 2, 0))
    per_band = np.stack([np.clip(hwc[..., k] / np.percentile(hwc[..., k], 98), 0, 1) for k in range(3)], -1)
    with_nan = good.copy()
    with_nan[0, 0, 0] = np.nan
    return {
        "a list": (data.tolist(), good, "should be a NumPy array, but it is a list"),
        "all 14 channels": (tile, good, "holds all 14 channels"),
        "already HWC": (hwc, good, "is already (H, W, 3)"),
        "two bands": (data[:2], good, "holds 2 bands"),
        "reversed order": (data[::-1], good, "holds B2, B3, B4: the right bands in the wrong order"),
        "off by one": (tile[[2, 1, 0]], good, "holds B3, B2, B1 (rasterio indexes 3, 2, 1)"),
        "rescaled data": (data * 2, good, "does not match the bands of the chapter tile"),
        "rgb still CHW": (data, np.clip(data / np.percentile(data, 98), 0, 1), "still bands-first (3, H, W)"),
        "rgb wrong size": (data, good[:100], "should be (250, 250, 3)"),
        "raw reflectance": (data, hwc, "holds the raw reflectance"),
        "not clipped": (data, hwc / np.percentile(hwc, 98), "clip to [0, 1]"),
        "per band": (data, per_band, "stretched band by band"),
        "95th percentile": (data, stretch(data, 95), "about the 95th percentile"),
        "NaN": (data, with_nan, "NaN or infinite"),
        "something else": (data, good[::-1], "differs from the stretch described in the steps"),
    }


CASES = [
    "a list", "all 14 channels", "already HWC", "two bands", "reversed order", "off by one", "rescaled data",
    "rgb still CHW", "rgb wrong size", "raw reflectance", "not clipped", "per band", "95th percentile", "NaN",
    "something else",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_specific_hints(tile: np.ndarray, case: str) -> None:
    data, rgb, expected = wrong_answers(tile)[case]
    result = evaluate("acq-rgb", data, rgb)
    assert result.status == "incorrect"
    assert expected in result.message, result.message
    # The hint never gives the code of the answer.
    for answer in ("[4, 3, 2]", "read([4", "np.transpose(", "np.percentile(", "(1, 2, 0)"):
        assert answer not in result.message


def test_not_attempted(tile: np.ndarray) -> None:
    assert evaluate("acq-rgb", ___, ___).status == "not attempted"
    assert "`rgb_data` is still ___" in evaluate("acq-rgb", ___, ___).message
    undefined = value_or_undefined(lambda: undefined_name, "rgb")  # noqa: F821
    result = evaluate("acq-rgb", rgb_of(tile), undefined)
    assert result.status == "not attempted" and "`rgb` is not defined yet" in result.message


def test_misuse_is_an_error_for_the_author() -> None:
    with pytest.raises(ValueError, match="no check for exercise 'acq-nothing'"):
        check("acq-nothing", 1)
    with pytest.raises(TypeError, match="takes 2 value"):
        check("acq-rgb", 1)


def test_registration_and_failures_inside_a_checker() -> None:
    @exercise_check("test-probe", names=("value",), success="Fine.")
    def probe(value: Any) -> None:
        if value == "hint":
            raise Hint("`value` is a hint")
        if value == "boom":
            raise ZeroDivisionError("division by zero")

    try:
        assert evaluate("test-probe", 1) == CheckResult("test-probe", "correct", "Fine.")
        assert evaluate("test-probe", "hint").message == "`value` is a hint"
        broken = evaluate("test-probe", "boom")
        assert broken.status == "incorrect" and "ZeroDivisionError" in broken.message
        with pytest.raises(ValueError, match="already has a check"):
            exercise_check("test-probe", names=("v",))(lambda v: None)
    finally:
        from landcover.exercises import checks

        checks._REGISTRY.pop("test-probe", None)


def test_every_exercise_of_the_book_has_a_check() -> None:
    book = load_book(ROOT)
    ids = {ex.id for doc in book.documents for ex in exercises(doc)[0]}
    assert ids, "the book has exercises"
    assert ids <= set(registered())


def test_likely_errors_name_real_exercises_and_say_it_briefly() -> None:
    import re

    from landcover.exercises import registered
    from landcover.exercises.explain import declared

    checks = registered()
    for exercise, errors in declared().items():
        assert exercise in checks, f"likely errors declared for unknown exercise {exercise!r}"
        for error in errors:
            re.compile(error.contains)
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", error.explanation.strip()) if s]
            assert 1 <= len(sentences) <= 2, (exercise, error.explanation)
    # The mistakes the book's readers made most often are covered.
    from landcover.exercises.explain import explanation_for

    assert explanation_for("acq-tile-nuts", IndexError("single positional indexer is out-of-bounds"))
    assert explanation_for("api-odata", ValueError("min() arg is an empty sequence"))
    assert explanation_for("api-write-label", TypeError("memoryview: a bytes-like object is required, not '_io.BytesIO'"))
    assert explanation_for("acq-ndvi", TypeError("Cannot cast ufunc 'divide' output from dtype('float64')"))
    assert explanation_for("acq-find-region", KeyError("NUTS")) and not explanation_for("acq-find-region", OSError("x"))
