"""A small parser for the book's Quarto sources (.qmd), with line numbers.

It understands what the tooling needs and nothing more: YAML front matter,
fenced divs (``:::``) with their attributes, code fences (executable
```` ```{python} ```` cells with ``#|`` options, and plain display fences),
headings, and the exercise convention of DESIGN section 4. Line numbers are
1-based so that every message can say ``file:line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

#: Languages whose ``{lang}`` cells Quarto executes with the Jupyter engine.
EXECUTABLE_LANGUAGES = frozenset({"python"})

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
_DIV_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<colons>:{3,})\s*(?P<rest>.*?)\s*$")
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*(?:\{(?P<attrs>[^}]*)\})?\s*$")
_ATTR_TOKEN_RE = re.compile(
    r"""\#(?P<id>[^\s}]+)"""
    r"""|\.(?P<cls>[^\s}]+)"""
    r"""|(?P<key>[A-Za-z_][\w:.-]*)=(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s}]+))"""
    r"""|(?P<word>[^\s=}]+)"""
)
#: Callout types Quarto knows; a callout's class is ``callout-<type>``.
CALLOUT_TYPES = ("note", "tip", "caution", "warning", "important")


class QmdSyntaxError(ValueError):
    """A source that cannot be parsed; carries the file and line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass
class Attributes:
    """Pandoc-style attributes: ``{#id .class key="value"}``."""

    id: str = ""
    classes: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Attributes":
        """Parse the inside of ``{...}`` (or a bare class name, as in ``::: note``)."""
        text = text.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        elif text and " " not in text:
            return cls(classes=[text])
        attrs = cls()
        for match in _ATTR_TOKEN_RE.finditer(text):
            if match.group("id"):
                attrs.id = match.group("id")
            elif match.group("cls"):
                attrs.classes.append(match.group("cls"))
            elif match.group("key"):
                value = match.group("dq")
                if value is not None:
                    value = value.replace('\\"', '"')
                else:
                    value = match.group("sq") if match.group("sq") is not None else match.group("bare")
                attrs.values[match.group("key")] = value or ""
            elif match.group("word"):
                attrs.classes.append(match.group("word"))
        return attrs


@dataclass
class Div:
    """A fenced div; ``end_line`` is None while (or if never) closed."""

    line: int
    attrs: Attributes
    depth: int
    parent: "Div | None" = None
    end_line: int | None = None

    @property
    def id(self) -> str:
        return self.attrs.id

    @property
    def classes(self) -> list[str]:
        return self.attrs.classes

    @property
    def title(self) -> str:
        return self.attrs.values.get("title", "")

    @property
    def callout_type(self) -> str | None:
        """``"caution"`` for ``.callout-caution``; None when the div is not a callout."""
        for cls in self.classes:
            if cls.startswith("callout-") and cls[len("callout-") :] in CALLOUT_TYPES:
                return cls[len("callout-") :]
            if cls == "callout":
                return "none"
        return None

    @property
    def is_solution(self) -> bool:
        return self.callout_type is not None and "solution" in self.classes

    @property
    def is_hints(self) -> bool:
        return self.callout_type == "tip" and self.title.strip().lower().startswith("hint")

    @property
    def is_exercise(self) -> bool:
        """An exercise is a caution callout (see DESIGN section 4)."""
        return self.callout_type == "caution" and not self.is_solution

    def ancestors(self) -> Iterator["Div"]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


@dataclass
class Cell:
    """A fenced code cell: ```` ```{python} ```` (executable) or any ```` ```{lang} ```` cell."""

    lang: str
    line: int  # the opening fence
    option_lines: list[str]
    options: dict[str, Any]
    source: str  # the code, without the option lines
    code_line: int  # line of the first line of ``source``
    end_line: int
    parent: Div | None = None
    options_error: str | None = None

    @property
    def executable(self) -> bool:
        return self.lang in EXECUTABLE_LANGUAGES

    @property
    def label(self) -> str:
        value = self.options.get("label", "")
        return str(value) if value is not None else ""

    @property
    def label_line(self) -> int:
        """The line of the ``#| label:`` option (the opening fence when there is none)."""
        for offset, line in enumerate(self.option_lines, start=1):
            if re.match(r"^\s*(?:#|%%)\|\s*label\s*:", line):
                return self.line + offset
        return self.line

    @property
    def evaluated(self) -> bool:
        """Whether Quarto runs the cell (``eval`` defaults to true)."""
        return self.executable and self.options.get("eval", True) is not False

    def enclosing(self) -> Iterator[Div]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    @property
    def in_solution(self) -> bool:
        return any(div.is_solution for div in self.enclosing())


@dataclass
class Text:
    """Markdown lines between structural elements."""

    line: int
    lines: list[str]
    parent: Div | None = None


@dataclass
class Fence:
    """A display-only code block (```` ```python ````, ```` ```{.bash} ````): never executed."""

    line: int
    info: str
    lines: list[str]  # the whole block, fences included
    parent: Div | None = None


@dataclass
class DivOpen:
    div: Div


@dataclass
class DivClose:
    div: Div
    line: int


@dataclass
class Heading:
    line: int
    level: int
    text: str
    attrs: Attributes
    parent: Div | None = None


Block = Text | Fence | Cell | DivOpen | DivClose | Heading


@dataclass
class Problem:
    """A structural problem found while parsing (the linter reports these)."""

    line: int
    message: str


@dataclass
class QmdDocument:
    """A parsed .qmd file."""

    path: Path
    text: str
    front_matter: dict[str, Any]
    front_matter_end: int  # last line of the front matter (0 when there is none)
    blocks: list[Block]
    divs: list[Div]
    problems: list[Problem]

    @property
    def name(self) -> str:
        """``1-acquisition`` for ``chapters/1-acquisition.qmd``."""
        return self.path.stem

    @property
    def cells(self) -> list[Cell]:
        return [b for b in self.blocks if isinstance(b, Cell)]

    @property
    def headings(self) -> list[Heading]:
        return [b for b in self.blocks if isinstance(b, Heading)]

    @property
    def title(self) -> str:
        """The front-matter title, else the first level-1 heading."""
        title = self.front_matter.get("title")
        if title:
            return str(title)
        for heading in self.headings:
            if heading.level == 1:
                return heading.text
        return self.path.stem

    def relpath(self, root: Path | None = None) -> str:
        """The path to show in messages (relative to ``root`` when possible)."""
        if root is not None:
            try:
                return str(self.path.resolve().relative_to(root.resolve()))
            except ValueError:
                pass
        return str(self.path)


def parse_options(option_lines: list[str]) -> tuple[dict[str, Any], str | None]:
    """Parse ``#| key: value`` lines as YAML; return (options, error message or None)."""
    body = "\n".join(re.sub(r"^\s*#\|\s?", "", line) for line in option_lines)
    if not body.strip():
        return {}, None
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        return {}, f"cell options are not valid YAML: {str(exc).splitlines()[0]}"
    if not isinstance(data, dict):
        return {}, "cell options must be `#| key: value` lines"
    return data, None


def _cell_language(info: str) -> str | None:
    """``python`` for ``{python}`` or ``{python, echo=FALSE}``; None for display fences."""
    match = re.fullmatch(r"\{\s*([A-Za-z][\w+-]*)(?:[\s,][^}]*)?\}", info)
    if match and not info.startswith("{."):
        return match.group(1)
    return None


def parse_text(text: str, path: Path | str = "<string>") -> QmdDocument:
    """Parse Quarto markdown; never raises for structural problems (they are collected)."""
    path = Path(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    problems: list[Problem] = []
    front: dict[str, Any] = {}
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                try:
                    loaded = yaml.safe_load("\n".join(lines[1:i])) or {}
                except yaml.YAMLError as exc:
                    problems.append(Problem(1, f"front matter is not valid YAML: {str(exc).splitlines()[0]}"))
                    loaded = {}
                if isinstance(loaded, dict):
                    front = loaded
                else:
                    problems.append(Problem(1, "front matter must be a YAML mapping"))
                start = i + 1
                break
        else:
            problems.append(Problem(1, "front matter opened with --- is never closed"))
    blocks: list[Block] = []
    divs: list[Div] = []
    stack: list[Div] = []
    pending: list[str] = []
    pending_line = start + 1

    def flush() -> None:
        nonlocal pending
        if pending and any(line.strip() for line in pending):
            blocks.append(Text(pending_line, pending, stack[-1] if stack else None))
        pending = []

    i = start
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        fence = _FENCE_RE.match(line)
        if fence:
            flush()
            marker = fence.group("fence")
            info = fence.group("info")
            j = i + 1
            while j < len(lines):
                close = _FENCE_RE.match(lines[j])
                if (
                    close
                    and close.group("fence")[0] == marker[0]
                    and len(close.group("fence")) >= len(marker)
                    and not close.group("info")
                ):
                    break
                j += 1
            if j >= len(lines):
                problems.append(Problem(lineno, f"code fence {marker} is never closed"))
            body = lines[i + 1 : j]
            parent = stack[-1] if stack else None
            lang = _cell_language(info)
            if lang is not None:
                opt_prefix = "#|" if lang != "mermaid" and lang != "dot" else "%%|"
                k = 0
                while k < len(body) and body[k].lstrip().startswith(opt_prefix):
                    k += 1
                option_lines = body[:k]
                if opt_prefix == "%%|":
                    options, error = parse_options([re.sub(r"^\s*%%\|", "#|", x) for x in option_lines])
                else:
                    options, error = parse_options(option_lines)
                blocks.append(
                    Cell(
                        lang=lang,
                        line=lineno,
                        option_lines=option_lines,
                        options=options,
                        source="\n".join(body[k:]),
                        code_line=lineno + 1 + k,
                        end_line=j + 1,
                        parent=parent,
                        options_error=error,
                    )
                )
            else:
                blocks.append(Fence(lineno, info, lines[i : j + 1], parent))
            i = j + 1
            pending_line = i + 1
            continue
        div = _DIV_RE.match(line)
        if div:
            flush()
            rest = div.group("rest")
            if rest:
                node = Div(lineno, Attributes.parse(rest), len(stack), stack[-1] if stack else None)
                stack.append(node)
                divs.append(node)
                blocks.append(DivOpen(node))
            elif stack:
                node = stack.pop()
                node.end_line = lineno
                blocks.append(DivClose(node, lineno))
            else:
                problems.append(Problem(lineno, "closing ::: without an opening div"))
            i += 1
            pending_line = i + 1
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            flush()
            attrs = Attributes.parse("{" + (heading.group("attrs") or "") + "}")
            blocks.append(
                Heading(lineno, len(heading.group("hashes")), heading.group("text"), attrs, stack[-1] if stack else None)
            )
            i += 1
            pending_line = i + 1
            continue
        if not pending:
            pending_line = lineno
        pending.append(line)
        i += 1
    flush()
    for node in stack:
        problems.append(Problem(node.line, f"div opened here ({_describe(node)}) is never closed"))
    return QmdDocument(path, text, front, start, blocks, divs, problems)


def parse_file(path: Path | str) -> QmdDocument:
    """Read and parse a .qmd file."""
    path = Path(path)
    return parse_text(path.read_text(encoding="utf-8"), path)


def _describe(div: Div) -> str:
    parts = []
    if div.id:
        parts.append(f"#{div.id}")
    parts.extend(f".{c}" for c in div.classes)
    return " ".join(parts) or "no attributes"


# --- Exercises ---------------------------------------------------------------------------------

_CHECK_CALL_RE = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")


@dataclass
class Exercise:
    """One exercise: the callout, then its hints, template, solution (DESIGN section 4)."""

    callout: Div
    hints: Div | None = None
    template: Cell | None = None
    solution_div: Div | None = None
    solution_cells: list[Cell] = field(default_factory=list)
    extra_templates: list[Cell] = field(default_factory=list)
    goal: bool = False
    steps: bool = False

    @property
    def callout_id(self) -> str:
        return self.callout.id

    @property
    def id(self) -> str:
        """``acq-rgb`` for the callout ``#cau-acq-rgb``."""
        return self.callout.id[len("cau-") :] if self.callout.id.startswith("cau-") else self.callout.id

    @property
    def title(self) -> str:
        return self.callout.title

    @property
    def solution(self) -> Cell | None:
        """The solution cell labelled ``<id>-solution`` (else the first cell of the solution)."""
        for cell in self.solution_cells:
            if cell.label == f"{self.id}-solution":
                return cell
        return self.solution_cells[0] if self.solution_cells else None


def check_calls(source: str) -> list[str]:
    """Exercise ids named by ``check("<id>", ...)`` calls in a cell."""
    return _CHECK_CALL_RE.findall(source)


def exercises(doc: QmdDocument) -> tuple[list[Exercise], list[Problem]]:
    """Group the exercise parts in document order; return them with misplaced parts."""
    found: list[Exercise] = []
    problems: list[Problem] = []
    current: Exercise | None = None
    for block in doc.blocks:
        if isinstance(block, DivOpen):
            div = block.div
            if div.is_exercise and not any(a.is_exercise for a in div.ancestors()):
                current = Exercise(div)
                found.append(current)
            elif div.is_hints and not any(a.is_exercise for a in div.ancestors()):
                if current is None:
                    problems.append(Problem(div.line, "hints callout comes before any exercise"))
                elif current.hints is None:
                    current.hints = div
                else:
                    problems.append(Problem(div.line, f"exercise {current.id} has a second hints callout"))
            elif div.is_solution:
                if current is None:
                    problems.append(Problem(div.line, "solution callout comes before any exercise"))
                elif current.solution_div is None:
                    current.solution_div = div
                else:
                    problems.append(Problem(div.line, f"exercise {current.id} has a second solution callout"))
        elif isinstance(block, Text) and current is not None and block.parent is current.callout:
            body = "\n".join(block.lines)
            current.goal = current.goal or bool(re.search(r"\*\*Goal\.?\*\*", body))
            if re.search(r"\*\*Steps\.?\*\*", body) and re.search(r"^\s*(?:\d+[.)]|[-*+])\s+\S", body, re.M):
                current.steps = True
        elif isinstance(block, Cell) and block.executable:
            label = block.label
            if block.in_solution:
                if current is not None and current.solution_div is not None and any(
                    d is current.solution_div for d in block.enclosing()
                ):
                    current.solution_cells.append(block)
            elif label.endswith("-template"):
                if current is None:
                    problems.append(Problem(block.line, f"template cell {label!r} comes before any exercise"))
                elif current.template is None:
                    current.template = block
                else:
                    current.extra_templates.append(block)
    return found, problems
