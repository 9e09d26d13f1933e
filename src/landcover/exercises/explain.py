"""What usually causes an error in an exercise, said right after the error itself.

The commonest mistakes fail before ``check()`` can speak: a spatial join on two
CRSs ends in ``IndexError: single positional indexer is out-of-bounds``, swapped
longitude and latitude in "point outside every tile". Each chapter module
declares, next to an exercise's check, the errors that exercise usually meets
and what they mean (:class:`LikelyError`). In IPython, a custom exception handler
shows the original traceback unchanged, then, when the failing cell is an
exercise cell (it holds ``check("<id>", ...)``) and the error matches, one or two
sentences on the likely cause, never the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

#: Printed before an explanation, so a reader sees at once that the book speaks, not Python.
PREFIX = "💡 What usually causes this in exercise"


@dataclass(frozen=True)
class LikelyError:
    """An error an exercise often meets, and what usually causes it there.

    Parameters
    ----------
    kind
        The exception class (subclasses match too).
    explanation
        One or two sentences on the usual cause, in the exercise's words; never the answer.
    contains
        A regular expression the error message must match (case-insensitive); empty matches any.
    """

    kind: type[BaseException]
    explanation: str
    contains: str = ""

    def matches(self, error: BaseException) -> bool:
        """Whether ``error`` is this kind of error with a matching message."""
        if not isinstance(error, self.kind):
            return False
        return not self.contains or re.search(self.contains, str(error), re.IGNORECASE) is not None


_LIKELY: dict[str, tuple[LikelyError, ...]] = {}


def likely_errors(exercise: str, *errors: LikelyError) -> None:
    """Declare the errors ``exercise`` usually meets (in the chapter's check module)."""
    if errors:
        _LIKELY[exercise] = _LIKELY.get(exercise, ()) + tuple(errors)


def explanation_for(exercise: str, error: BaseException) -> str | None:
    """The explanation of the first declared error of ``exercise`` that ``error`` matches, if any."""
    from landcover.exercises.checks import registered

    registered()  # loads every chapter module, and with it their declarations
    for likely in _LIKELY.get(exercise, ()):
        if likely.matches(error):
            return f"{PREFIX} {exercise}: {likely.explanation}"
    return None


def declared() -> dict[str, tuple[LikelyError, ...]]:
    """Every declaration, by exercise id (for tests and the book's linter)."""
    from landcover.exercises.checks import registered

    registered()
    return dict(_LIKELY)


def exception_handler(
    exercise_of_cell: Callable[[], str | None],
) -> Callable[..., None]:
    """An IPython custom exception handler that adds the likely cause after the traceback.

    ``exercise_of_cell`` returns the exercise id of the cell that is running (or None).
    """

    def handle(
        shell: InteractiveShell,
        kind: type[BaseException],
        value: BaseException,
        traceback: TracebackType | None,
        tb_offset: int | None = None,
    ) -> None:
        shell.showtraceback((kind, value, traceback), tb_offset=tb_offset)
        exercise = exercise_of_cell()
        if exercise is None:
            return
        try:
            text = explanation_for(exercise, value)
        except Exception:  # noqa: BLE001 - explaining must never hide the original error
            return
        if text:
            print(text)

    return handle
