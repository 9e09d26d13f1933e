"""The ``___`` blank of exercise templates, and the friendly stop when one is left.

A participant who runs a template before filling it in should read which
exercise, which blank and what goes there, not a ``NameError`` or a traceback
into NumPy. Two mechanisms give that message:

* In IPython/Jupyter, importing :mod:`landcover.exercises` registers an AST
  transformer. Before a cell runs it looks for the name ``___``; if present,
  the cell is rejected (nothing runs, nothing changes) with the message. This
  matters because IPython itself binds ``___`` to the third-last output, so
  without the check a template could run on an unrelated value.
* Elsewhere (a plain script), ``___`` is an object whose every use (attribute,
  call, arithmetic, truth value, iteration, NumPy conversion...) raises
  :class:`ExerciseBlankError`, and an exception hook prints only the message.
"""

from __future__ import annotations

import ast
import io
import linecache
import re
import sys
import sysconfig
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

BLANK_NAME = "___"
_TODO_RE = re.compile(r"#\s*TODO\s*:?\s*(?P<text>.*)$")
_EXERCISE_COMMENT_RE = re.compile(r"#\s*Exercise\s*:\s*(?P<id>[\w-]+)", re.IGNORECASE)
_CHECK_RE = re.compile(r"""\bcheck\(\s*["'](?P<id>[^"']+)["']""")
_CELL_MARKER_RE = re.compile(r"^\s*#\s*%%")


@dataclass(frozen=True)
class BlankSite:
    """One ``___`` left in the code: where it is and what the template says goes there."""

    line: int  # 1-based, within the cell (or file)
    column: int  # 0-based
    code: str  # the line, without its comment
    todo: str  # the ``# TODO:`` text on that line ("" when there is none)
    target: str  # the name being assigned on that line ("" when none)

    def describe(self) -> str:
        """One line of the stop message: where the blank is and what goes there."""
        what = self.todo or (f"the value of `{self.target}`" if self.target else "see the exercise steps")
        return f"line {self.line}: `{self.code}`  ->  {what}"


class ExerciseBlankError(Exception):
    """A template still holds ``___`` blanks; the message says which and what goes there."""

    def __init__(self, exercise: str | None, blanks: list[BlankSite], used_at: str | None = None) -> None:
        self.exercise = exercise
        self.blanks = list(blanks)
        self.used_at = used_at
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The text the participant reads: which exercise, which blanks, what to do next."""
        name = f"Exercise {self.exercise}" if self.exercise else "This exercise"
        count = len(self.blanks)
        lines = []
        if self.used_at:
            lines.append(f"{name} is not finished: {self.used_at} used a blank (___) that was never filled in.")
        else:
            plural = "blank (___) is" if count == 1 else "blanks (___) are"
            lines.append(f"{name} is not finished: {count} {plural} still to be filled in, so nothing was run.")
        if self.blanks:
            lines.append("Fill in:" if not self.used_at else "Blanks left in this code:")
            described = dict.fromkeys(site.describe() for site in self.blanks)  # a line with two blanks: once
            lines.extend(f"  {text}" for text in described)
        lines.append("Replace each ___ with your code, then run it again. Stuck? Open the Hints of the exercise.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:
        """IPython prints these lines instead of a traceback."""
        return self.message.splitlines()


# --- reading blanks from source ------------------------------------------------------------------


def find_blanks(source: str) -> list[BlankSite]:
    """Every ``___`` name in ``source`` (not in strings or comments), with its TODO text."""
    lines = source.splitlines()
    sites: list[BlankSite] = []
    comments: dict[int, tuple[int, str]] = {}
    positions: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and tok.string == BLANK_NAME:
                positions.append(tok.start)
            elif tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = (tok.start[1], tok.string)
        try:  # only uses of the name count, not `from landcover.exercises import ___`
            tree = ast.parse(source)
            positions = sorted(
                (node.lineno, node.col_offset)
                for node in ast.walk(tree)
                if isinstance(node, ast.Name) and node.id == BLANK_NAME
            )
        except SyntaxError:
            pass
    except (tokenize.TokenError, IndentationError, SyntaxError):
        positions = [
            (number, match.start())
            for number, line in enumerate(lines, start=1)
            for match in re.finditer(r"(?<!\w)___(?!\w)", line.split("#", 1)[0])
        ]
    for number, column in positions:
        line = lines[number - 1] if number - 1 < len(lines) else ""
        code = line
        todo = ""
        if number in comments:
            start, text = comments[number]
            code = line[:start]
            match = _TODO_RE.search(text)
            todo = match.group("text").strip() if match else text.lstrip("# ").strip()
        target = ""
        assign = re.match(r"^\s*([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=(?!=)", code)
        if assign and BLANK_NAME not in assign.group(1):
            target = assign.group(1).strip()
        sites.append(BlankSite(number, column, code.strip(), todo, target))
    return sites


def exercise_id_in(source: str) -> str | None:
    """The exercise a piece of code belongs to: ``# Exercise: <id>`` or ``check("<id>", ...)``."""
    match = _EXERCISE_COMMENT_RE.search(source) or _CHECK_RE.search(source)
    return match.group("id") if match else None


def _cell_around(lines: list[str], line: int) -> tuple[int, int]:
    """The ``# %%`` cell of a script that holds ``line`` (1-based): (first, last) lines."""
    first, last = 1, len(lines)
    for number in range(line, 0, -1):
        if _CELL_MARKER_RE.match(lines[number - 1]):
            first = number + 1
            break
    for number in range(line + 1, len(lines) + 1):
        if _CELL_MARKER_RE.match(lines[number - 1]):
            last = number - 1
            break
    return first, last


# --- the ___ object (outside IPython) --------------------------------------------------------------

_SKIP_PREFIXES = tuple(
    {str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))}
)
_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def _user_frame() -> FrameType | None:
    """The innermost frame of the participant's code (not this package, not a library)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        try:
            resolved = str(Path(filename).resolve()) if not filename.startswith("<") else filename
        except OSError:
            resolved = filename
        if not resolved.startswith(_PACKAGE_DIR) and not resolved.startswith(_SKIP_PREFIXES) and not filename.startswith("<frozen"):
            return frame
        frame = frame.f_back
    return None


def _raise_for_use(action: str) -> NoReturn:
    frame = _user_frame()
    if frame is None:
        raise ExerciseBlankError(None, [], used_at=action)
    filename, line = frame.f_code.co_filename, frame.f_lineno
    lines = [text.rstrip("\n") for text in linecache.getlines(filename, frame.f_globals)]
    if not lines:
        raise ExerciseBlankError(None, [], used_at=f"line {line} ({action})")
    first, last = _cell_around(lines, line)
    chunk = "\n".join(lines[first - 1 : last])
    sites = [
        BlankSite(site.line + first - 1, site.column, site.code, site.todo, site.target) for site in find_blanks(chunk)
    ]
    code = lines[line - 1].split("#", 1)[0].strip() if line - 1 < len(lines) else ""
    where = f"line {line} `{code}` ({action})" if code else f"line {line} ({action})"
    raise ExerciseBlankError(exercise_id_in(chunk), sites, used_at=where)


class _Blank:
    """The value of ``___``: any use of it stops with :class:`ExerciseBlankError`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "___ (a blank to fill in)"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            # Protocol probes (__array_interface__, _repr_html_...) must look absent.
            raise AttributeError(name)
        _raise_for_use(f"reading .{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        _raise_for_use(f"setting .{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _raise_for_use("calling it")

    def __bool__(self) -> bool:
        _raise_for_use("testing it as true/false")

    def __iter__(self) -> NoReturn:
        _raise_for_use("iterating over it")

    def __len__(self) -> int:
        _raise_for_use("taking its length")

    def __getitem__(self, key: Any) -> NoReturn:
        _raise_for_use("indexing it")

    def __setitem__(self, key: Any, value: Any) -> NoReturn:
        _raise_for_use("assigning into it")

    def __contains__(self, item: Any) -> bool:
        _raise_for_use("testing membership")

    def __array__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _raise_for_use("converting it to a NumPy array")

    def __array_ufunc__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _raise_for_use("using it in a NumPy operation")

    def __array_function__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _raise_for_use("passing it to a NumPy function")

    def __index__(self) -> int:
        _raise_for_use("using it as an index")

    def __int__(self) -> int:
        _raise_for_use("converting it to int")

    def __float__(self) -> float:
        _raise_for_use("converting it to float")

    def __complex__(self) -> complex:
        _raise_for_use("converting it to complex")

    def __str__(self) -> str:
        _raise_for_use("converting it to text")

    def __format__(self, spec: str) -> str:
        _raise_for_use("formatting it")

    def __fspath__(self) -> str:
        _raise_for_use("using it as a path")

    def __enter__(self) -> NoReturn:
        _raise_for_use("using it in a with statement")

    def __exit__(self, *args: Any) -> NoReturn:
        _raise_for_use("using it in a with statement")

    def __hash__(self) -> int:
        _raise_for_use("hashing it")

    def __eq__(self, other: object) -> bool:
        _raise_for_use("comparing it")

    def __ne__(self, other: object) -> bool:
        _raise_for_use("comparing it")

    def __lt__(self, other: object) -> bool:
        _raise_for_use("comparing it")

    def __le__(self, other: object) -> bool:
        _raise_for_use("comparing it")

    def __gt__(self, other: object) -> bool:
        _raise_for_use("comparing it")

    def __ge__(self, other: object) -> bool:
        _raise_for_use("comparing it")


def _arith(name: str) -> Any:
    def method(self: _Blank, *args: Any) -> NoReturn:
        _raise_for_use("computing with it")

    method.__name__ = name
    return method


for _name in (
    "add sub mul matmul truediv floordiv mod divmod pow lshift rshift and xor or "
    "radd rsub rmul rmatmul rtruediv rfloordiv rmod rdivmod rpow rlshift rrshift rand rxor ror "
    "iadd isub imul imatmul itruediv ifloordiv imod ipow ilshift irshift iand ixor ior "
    "neg pos abs invert round trunc floor ceil"
).split():
    setattr(_Blank, f"__{_name}__", _arith(f"__{_name}__"))

#: The blank placeholder of exercise templates.
___ = _Blank()


def is_blank(value: object) -> bool:
    """True for the ``___`` placeholder (without touching it)."""
    return type(value) is _Blank


# --- IPython: reject cells that still hold blanks ---------------------------------------------------


class _Undefined:
    """Stands for a name that was never assigned, so :func:`check` can say "not attempted"."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"


def value_or_undefined(getter: Callable[[], Any], name: str) -> Any:
    """``getter()``, or a marker when the name it reads is not defined."""
    try:
        return getter()
    except NameError:
        return _Undefined(name)


def is_undefined(value: object) -> bool:
    """True for the marker of a name that was never assigned (see :func:`value_or_undefined`)."""
    return type(value) is _Undefined


_HELPER = "_landcover_value_or_undefined"


class _CellGuard:
    """Records the source IPython is about to parse (an input transformer)."""

    def __init__(self) -> None:
        self.source = ""

    def __call__(self, lines: list[str]) -> list[str]:
        self.source = "".join(lines)
        return lines


class BlankGuard(ast.NodeTransformer):
    """IPython AST transformer: stop cells with ``___``; let check() see undefined names."""

    def __init__(self, recorder: _CellGuard) -> None:
        self.recorder = recorder

    def visit(self, node: ast.AST) -> ast.AST:
        """The cell's module, with the names passed to ``check()`` wrapped; raises when it holds ``___``."""
        if not isinstance(node, ast.Module):
            return node
        names = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == BLANK_NAME]
        if names:
            source = self.recorder.source
            sites = find_blanks(source) if source else []
            if not sites:
                sites = [BlankSite(n.lineno, n.col_offset, "", "", "") for n in names]
            raise _rejected_error(exercise_id_in(source), sites)
        changed = False
        for stmt in node.body:
            call = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
            if isinstance(call, ast.Call) and _is_check(call.func):
                for index, arg in enumerate(call.args[1:], start=1):
                    if isinstance(arg, ast.Name):
                        call.args[index] = _wrap_name(arg)
                        changed = True
        if changed:
            ast.fix_missing_locations(node)
        return node


def _is_check(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "check") or (
        isinstance(func, ast.Attribute) and func.attr == "check"
    )


def _wrap_name(arg: ast.Name) -> ast.expr:
    getter = ast.Lambda(
        args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=ast.Name(arg.id, ast.Load()),
    )
    wrapped = ast.Call(ast.Name(_HELPER, ast.Load()), [getter, ast.Constant(arg.id)], [])
    return ast.copy_location(wrapped, arg)


def _rejected_error(exercise: str | None, sites: list[BlankSite]) -> ExerciseBlankError:
    try:
        from IPython.core.error import InputRejected
    except ImportError:  # pragma: no cover - IPython is always there with ipykernel
        return ExerciseBlankError(exercise, sites)

    class BlankInTemplate(ExerciseBlankError, InputRejected):
        """Raised before a cell runs; IPython shows only the message."""

    BlankInTemplate.__name__ = "ExerciseBlankError"
    BlankInTemplate.__qualname__ = "ExerciseBlankError"
    return BlankInTemplate(exercise, sites)


def register_ipython(shell: Any | None = None) -> bool:
    """Install the guard in the running IPython shell (once); False outside IPython."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    if any(isinstance(t, BlankGuard) for t in shell.ast_transformers):
        return True
    from landcover.exercises.explain import exception_handler

    recorder = _CellGuard()
    shell.input_transformers_post.append(recorder)
    shell.ast_transformers.append(BlankGuard(recorder))
    # After an error escapes an exercise cell, say what usually causes it there.
    shell.set_custom_exc((Exception,), exception_handler(lambda: exercise_id_in(recorder.source)))
    shell.user_ns[_HELPER] = value_or_undefined
    return True


def _excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    if isinstance(value, ExerciseBlankError):
        print(value.message, file=sys.stderr)
        return
    _previous_hook(kind, value, tb)


_previous_hook = sys.excepthook


def install_script_hook() -> None:
    """Outside IPython, print only the message for an unfilled blank (no traceback)."""
    global _previous_hook
    if sys.excepthook is not _excepthook:
        _previous_hook = sys.excepthook
        sys.excepthook = _excepthook
