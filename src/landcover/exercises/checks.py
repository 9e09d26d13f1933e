"""Answer checks: ``check("<exercise id>", *values)`` says correct, wrong or not attempted.

A check never prints the answer.

Each chapter module (``acquisition.py``, ...) registers its checkers with
:func:`exercise_check`. A checker recomputes what it needs from the data and
raises :class:`Hint` with a specific, answer-free message when something is
off; returning normally means correct. The helpers below (``expect_*``) give
consistent hints for the usual suspects: type, shape, dtype, range, CRS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal

import numpy as np

from landcover.exercises.blanks import ExerciseBlankError, is_blank, is_undefined
from landcover.exercises.catchup import is_reference_value, is_running
from landcover.exercises.explain import LikelyError, likely_errors

#: Modules holding the checks, one per chapter; imported on the first check() call.
CHAPTER_MODULES = (
    "landcover.exercises.acquisition",
    "landcover.exercises.source_apis",
    "landcover.exercises.training",
    "landcover.exercises.inference",
    "landcover.exercises.statistics",
    "landcover.exercises.production",
)

Status = Literal["correct", "incorrect", "not attempted"]
_SYMBOL = {"correct": "✅", "incorrect": "❌", "not attempted": "⏳"}


class Hint(Exception):
    """Raised by a checker: what is wrong with the answer, without giving it away."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; ``passed`` is what tests assert."""

    exercise: str
    status: Status
    message: str

    @property
    def passed(self) -> bool:
        """True when the answer is correct."""
        return self.status == "correct"

    def __str__(self) -> str:
        return f"{_SYMBOL[self.status]} {self.exercise}: {self.status}. {self.message}".rstrip()

    def __repr__(self) -> str:
        return f"CheckResult(exercise={self.exercise!r}, status={self.status!r})"

    def _ipython_display_(self) -> None:
        """check() already printed the result; show nothing twice in a notebook."""


@dataclass(frozen=True)
class Checker:
    """A registered check: the exercise id, the names of the values it takes, the function."""

    exercise: str
    names: tuple[str, ...]
    function: Callable[..., str | None]
    success: str


_REGISTRY: dict[str, Checker] = {}


def exercise_check(
    exercise: str,
    *,
    names: Iterable[str],
    success: str = "",
    likely: Iterable[LikelyError] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``function`` as the check of ``exercise``.

    ``names`` are the variables the participant passes, in order (used in
    messages). The function raises :class:`Hint` when something is wrong; it may
    return a string to add to the success message. ``likely`` declares the errors
    the exercise usually meets before its check can run, each with what usually
    causes it there (see :mod:`landcover.exercises.explain`).
    """
    likely_errors(exercise, *likely)

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if exercise in _REGISTRY and _REGISTRY[exercise].function is not function:
            raise ValueError(f"exercise {exercise!r} already has a check ({_REGISTRY[exercise].function.__module__})")
        _REGISTRY[exercise] = Checker(exercise, tuple(names), function, success)
        return function

    return decorate


def _load_chapters() -> None:
    for module in CHAPTER_MODULES:
        importlib.import_module(module)


def registered() -> dict[str, Checker]:
    """All registered checks, by exercise id (loads every chapter module)."""
    _load_chapters()
    return dict(_REGISTRY)


def evaluate(exercise: str, *values: Any) -> CheckResult:
    """Run the check of ``exercise`` on ``values`` without printing."""
    checker = registered().get(exercise)
    if checker is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ValueError(f"no check for exercise {exercise!r}; known exercises: {known}")
    if len(values) != len(checker.names):
        expected = ", ".join(checker.names)
        raise TypeError(
            f"check({exercise!r}, ...) takes {len(checker.names)} value(s) after the id: {expected}; got {len(values)}"
        )
    if is_running(exercise):
        return CheckResult(exercise, "not attempted", "the reference answer is running (catch_up).")
    for name, value in zip(checker.names, values):
        if is_blank(value):
            return CheckResult(exercise, "not attempted", f"`{name}` is still ___: fill in the template first.")
        if is_undefined(value):
            return CheckResult(
                exercise, "not attempted", f"`{name}` is not defined yet: run your code that assigns `{name}`."
            )
    if all(is_reference_value(exercise, name, value) for name, value in zip(checker.names, values)):
        return CheckResult(
            exercise,
            "not attempted",
            f"these are the values catch_up({exercise!r}) set from the reference answer; "
            "assign your own and check again.",
        )
    try:
        extra = checker.function(*values)
    except Hint as hint:
        return CheckResult(exercise, "incorrect", str(hint))
    except ExerciseBlankError:
        return CheckResult(exercise, "not attempted", "a value still contains ___: fill in the template first.")
    except Exception as exc:  # a wrong kind of value can break the comparison itself
        return CheckResult(
            exercise,
            "incorrect",
            f"checking the answer failed with {type(exc).__name__}: {exc}. Is each value the kind the steps ask for?",
        )
    message = checker.success or "Well done."
    if extra:
        message = f"{message} {extra}"
    return CheckResult(exercise, "correct", message)


def check(exercise: str, *values: Any) -> CheckResult:
    """Check an exercise answer, print the verdict and return it (``.passed``)."""
    result = evaluate(exercise, *values)
    if is_running(exercise):
        return result
    text = str(result)
    try:
        print(text)
    except UnicodeEncodeError:  # a console that cannot show the symbol (e.g. cp1252)
        print(text.encode("ascii", "replace").decode("ascii"))
    return result


# --- helpers for checkers -------------------------------------------------------------------------


def expect_array(
    value: Any,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    kind: str | None = None,
) -> np.ndarray:
    """``value`` as an ndarray, or a Hint about its type, dimensions, shape or dtype kind.

    ``kind`` is a NumPy dtype kind string: ``"f"`` float, ``"iu"`` integers, ``"b"`` bool.
    """
    if not isinstance(value, np.ndarray):
        extra = " (a masked or xarray array? take its .values / .data)" if hasattr(value, "values") else ""
        raise Hint(f"`{name}` should be a NumPy array, but it is a {type(value).__name__}{extra}.")
    if ndim is not None and value.ndim != ndim:
        raise Hint(f"`{name}` has {value.ndim} dimension(s) {value.shape}; it should have {ndim}.")
    if shape is not None:
        if len(shape) != value.ndim or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise Hint(f"`{name}` has shape {value.shape}; it should have shape {wanted}.")
    if kind is not None and value.dtype.kind not in kind:
        names = {"f": "floating point", "i": "integer", "u": "unsigned integer", "b": "boolean"}
        wanted = " or ".join(names.get(k, k) for k in kind)
        raise Hint(f"`{name}` has dtype {value.dtype}; it should be {wanted}.")
    return value


def expect_finite(value: np.ndarray, name: str) -> None:
    """A Hint when ``value`` holds NaN or infinite values (often a division by zero)."""
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad:
        raise Hint(f"`{name}` holds {bad} NaN or infinite value(s): look for a division by zero.")


def expect_range(value: np.ndarray, name: str, low: float, high: float, *, tolerance: float = 1e-6) -> None:
    """A Hint when values fall outside [low, high]."""
    vmin, vmax = float(np.nanmin(value)), float(np.nanmax(value))
    if vmin < low - tolerance or vmax > high + tolerance:
        raise Hint(f"`{name}` ranges from {vmin:.3g} to {vmax:.3g}; every value should lie in [{low:g}, {high:g}].")


def expect_crs(value: Any, name: str, epsg: int) -> None:
    """A Hint when ``value`` is not the CRS ``EPSG:<epsg>`` (rasterio, pyproj or text)."""
    from pyproj import CRS

    try:
        crs = CRS.from_user_input(value)
    except Exception:
        raise Hint(f"`{name}` is not a coordinate reference system (got {type(value).__name__}).") from None
    if crs.to_epsg() != epsg:
        raise Hint(f"`{name}` is {crs.to_string()}; the data of this book are in EPSG:{epsg}.")


def expect_classes(value: np.ndarray, name: str, expected: Iterable[int]) -> None:
    """A Hint naming classes missing from, or unexpected in, ``value``."""
    present = set(np.unique(value).tolist())
    wanted = set(expected)
    missing, extra = sorted(wanted - present), sorted(present - wanted)
    if missing:
        raise Hint(f"`{name}` has no pixel of class(es) {missing}.")
    if extra:
        raise Hint(f"`{name}` holds unexpected value(s) {extra}.")
