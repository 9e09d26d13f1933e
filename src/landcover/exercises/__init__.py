"""Exercise tools for the book: the ``___`` blank and ``check()``.

In a notebook::

    from landcover.exercises import ___, check

    rgb = ___  # TODO: the display-ready composite
    check("acq-rgb", rgb_data, rgb)

    catch_up("acq-rgb")  # stuck? go on with the reference answer, without seeing it

Importing the package installs the guard that stops a cell still holding
``___`` with a message naming the exercise, each blank and what goes there
(IPython), or the exception hook that prints that message without a
traceback (plain scripts).
"""

from landcover.exercises.blanks import (
    ExerciseBlankError,
    ___,
    find_blanks,
    install_script_hook,
    is_blank,
    register_ipython,
)
from landcover.exercises.catchup import CatchUpError, catch_up
from landcover.exercises.checks import (
    CheckResult,
    Hint,
    check,
    evaluate,
    exercise_check,
    expect_array,
    expect_classes,
    expect_crs,
    expect_finite,
    expect_range,
    registered,
)
from landcover.exercises.explain import LikelyError, likely_errors

__all__ = [
    "___",
    "check",
    "catch_up",
    "CatchUpError",
    "LikelyError",
    "likely_errors",
    "evaluate",
    "CheckResult",
    "Hint",
    "ExerciseBlankError",
    "exercise_check",
    "registered",
    "find_blanks",
    "is_blank",
    "expect_array",
    "expect_classes",
    "expect_crs",
    "expect_finite",
    "expect_range",
]

if not register_ipython():
    install_script_hook()
