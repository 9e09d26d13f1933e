"""Going on without solving an exercise: ``catch_up("<id>")`` runs its reference answer.

The participant notebooks hold no solution code, yet later cells use what each
exercise defines. ``catch_up`` reads the exercise's solution cell from
``final_solution/`` (derived from the chapters: the one copy of the answers in
the repository), runs it in the caller's namespace without showing the code, and
remembers the values it defined. ``check()`` on exactly those values then says
"not attempted", so a participant never reads "correct" for work they did not do;
their own answer, once assigned, is checked as usual.
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from landcover.config import project_root

#: Where the reference answers are, relative to the project root.
REFERENCE_FOLDER = "final_solution"
_CELL_RE = re.compile(r"^# %%(?: (?P<label>[\w-]+)[ \t]*$|.*$)", re.MULTILINE)


class CatchUpError(RuntimeError):
    """The reference answer could not be run here; the message says what to run first."""


@dataclass(frozen=True)
class ReferenceCell:
    """The solution cell of one exercise, as ``final_solution/`` holds it."""

    exercise: str
    code: str
    file: Path
    line: int  # 1-based line of the cell's first code line in ``file``


#: Exercise id -> {value name: id() of the object the reference answer bound to it}.
_REFERENCE_VALUES: dict[str, dict[str, int]] = {}
#: Exercises whose reference answer is running now (their checks stay silent).
_RUNNING: set[str] = set()


def reference_folder() -> Path:
    """The folder of reference answers (``final_solution/`` in the project)."""
    return project_root() / REFERENCE_FOLDER


def _cells(file: Path) -> list[tuple[str, int, str]]:
    """``(label, first code line, code)`` of every labelled ``# %%`` cell of a reference file.

    A cell runs to the next ``# %%`` line of any kind (markdown cells have no label).
    """
    text = file.read_text(encoding="utf-8")
    markers = list(_CELL_RE.finditer(text))
    cells = []
    for marker, following in zip(markers, [*markers[1:], None]):
        if marker.group("label") is None:
            continue
        end = following.start() if following else len(text)
        code = text[marker.end() : end].strip("\n")
        first_line = text.count("\n", 0, marker.end()) + 2
        cells.append((marker.group("label"), first_line, code))
    return cells


def reference_cell(exercise: str, folder: Path | None = None) -> ReferenceCell:
    """The reference answer of ``exercise`` (the cell labelled ``<exercise>-solution``).

    Raises
    ------
    CatchUpError
        When the folder of reference answers is missing (run ``make notebooks``) or no
        file in it holds that exercise (the message lists the exercises it knows).
    """
    folder = reference_folder() if folder is None else folder
    files = sorted(folder.glob("*.py")) if folder.is_dir() else []
    if not files:
        raise CatchUpError(f"no reference answers in {folder}: run `make notebooks` in the project folder")
    known = []
    for file in files:
        for label, line, code in _cells(file):
            if label == f"{exercise}-solution":
                return ReferenceCell(exercise, code, file, line)
            if label.endswith("-solution"):
                known.append(label.removesuffix("-solution"))
    raise CatchUpError(f"no exercise {exercise!r} in {folder}; exercises: {', '.join(known)}")


def _assigned_names(code: str) -> set[str]:
    """Names a piece of code binds at its top level (assignments, imports, defs, loops)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _defined_before(cell: ReferenceCell, name: str) -> str | None:
    """The label of the last cell before ``cell`` in its file that binds ``name``, if any."""
    found = None
    for label, line, code in _cells(cell.file):
        if line >= cell.line:
            break
        if name in _assigned_names(code):
            found = label
    return found


@contextlib.contextmanager
def _running(exercise: str) -> Iterator[None]:
    _RUNNING.add(exercise)
    try:
        yield
    finally:
        _RUNNING.discard(exercise)


def is_running(exercise: str) -> bool:
    """True while ``catch_up`` runs the reference answer of ``exercise`` (its check stays silent)."""
    return exercise in _RUNNING


def is_reference_value(exercise: str, name: str, value: object) -> bool:
    """True when ``value`` is the very object the reference answer of ``exercise`` bound to ``name``."""
    return _REFERENCE_VALUES.get(exercise, {}).get(name) == id(value)


def catch_up(exercise: str, namespace: dict[str, object] | None = None) -> list[str]:
    """Run the reference answer of ``exercise`` so that the cells after it work.

    The code is not shown. The values it defines land in ``namespace`` (by
    default the caller's globals: the notebook's). ``check()`` on those exact
    values says "not attempted"; your own answer, once assigned, is checked as usual.

    Parameters
    ----------
    exercise
        The exercise id, as in its ``check("<id>", ...)`` line.
    namespace
        Where to define the results (default: the calling module's or notebook's globals).

    Returns
    -------
    list of str
        The names the reference answer defined or changed.

    Raises
    ------
    CatchUpError
        When the answer needs a value from an earlier cell that has not been run (the
        message names that cell), or the reference answers are missing.
    """
    from landcover.exercises.checks import registered

    cell = reference_cell(exercise)
    target = sys._getframe(1).f_globals if namespace is None else namespace
    before = {name: id(value) for name, value in target.items()}
    with _running(exercise):
        try:
            exec(compile(cell.code, f"<reference answer of {exercise}>", "exec"), target)  # noqa: S102
        except NameError as exc:
            name = exc.name or str(exc)
            earlier = _defined_before(cell, name)
            where = f" (cell `{earlier}` of {cell.file.name})" if earlier else ""
            advice = (
                f'catch_up("{earlier.removesuffix("-solution")}")'
                if earlier and earlier.endswith("-solution")
                else "run the cells above it first"
            )
            raise CatchUpError(
                f"the reference answer of {exercise} needs `{name}`, defined in an earlier cell{where}: "
                f"{advice}, then catch_up({exercise!r}) again."
            ) from None
    defined = [n for n, v in target.items() if not n.startswith("_") and before.get(n) != id(v)]
    checker = registered().get(exercise)
    names = checker.names if checker else tuple(defined)
    _REFERENCE_VALUES[exercise] = {n: id(target[n]) for n in names if n in target}
    shown = ", ".join(f"`{n}`" for n in (checker.names if checker else defined)) or "nothing new"
    print(
        f"⏭ {exercise}: continued with the reference answer, which defined {shown}. The cells below "
        f'can use them; check("{exercise}", ...) says "not attempted" until your own answer replaces them.'
    )
    return defined
