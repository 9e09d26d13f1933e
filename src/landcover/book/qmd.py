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
        """The div's ``#id`` (empty when it has none)."""
        return self.attrs.id

    @property
    def classes(self) -> list[str]:
        """The div's classes, without the dots, in source order."""
        return self.attrs.classes

    @property
    def title(self) -> str:
        """The ``title="..."`` attribute (empty when there is none)."""
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
        """A solution is a callout with the class ``.solution`` (see DESIGN section 4)."""
        return self.callout_type is not None and "solution" in self.classes

    @property
    def is_hints(self) -> bool:
        """Hints are a tip callout whose title starts with "Hint"."""
        return self.callout_type == "tip" and self.title.strip().lower().startswith("hint")

    @property
    def is_more_hints(self) -> bool:
        """The second level of hints: a tip callout whose title starts with "More hints"."""
        return self.callout_type == "tip" and self.title.strip().lower().startswith("more hints")

    @property
    def is_exercise(self) -> bool:
        """An exercise is a caution callout (see DESIGN section 4)."""
        return self.callout_type == "caution" and not self.is_solution

    def ancestors(self) -> Iterator["Div"]:
        """The divs this one is nested in, innermost first."""
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
        """Whether the cell's language is one Quarto executes (``{python}``, not ``{mermaid}``)."""
        return self.lang in EXECUTABLE_LANGUAGES

    @property
    def label(self) -> str:
        """The ``#| label:`` option (empty when there is none)."""
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
        """The divs the cell is nested in, innermost first."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    @property
    def in_solution(self) -> bool:
        """Whether the cell lies inside a solution callout."""
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
    """The opening ``:::`` line of a div (the div itself holds its line)."""

    div: Div


@dataclass
class DivClose:
    """The closing ``:::`` line of a div."""

    div: Div
    line: int


@dataclass
class Heading:
    """A ``#`` heading: its level (1..6), text and ``{#id .class}`` attributes."""

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
        """The code cells, executable or not, in document order."""
        return [b for b in self.blocks if isinstance(b, Cell)]

    @property
    def headings(self) -> list[Heading]:
        """The headings in document order."""
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
    """Parse Quarto markdown; never raises for structural problems (they are collected).

    Parameters
    ----------
    text
        The source, as read from the file.
    path
        The file the source came from, shown in messages.

    Returns
    -------
    QmdDocument
        The front matter and the blocks in document order, with the problems found
        (unclosed fences and divs, stray ``:::``, front matter that is not a YAML mapping).
    """
    path = Path(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    front, start, problems = _front_matter(lines)
    reader = _BlockReader(lines, problems)
    reader.read(start)
    for node in reader.stack:
        problems.append(Problem(node.line, f"div opened here ({_describe(node)}) is never closed"))
    return QmdDocument(path, text, front, start, reader.blocks, reader.divs, problems)


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], int, list[Problem]]:
    """The YAML front matter between ``---`` lines, the index of the first line after it, and problems.

    The index is 0 when there is no front matter, and also when it is never closed
    (then the whole file is read as markdown and the problem is reported).
    """
    problems: list[Problem] = []
    if not lines or lines[0].strip() != "---":
        return {}, 0, problems
    for i in range(1, len(lines)):
        if lines[i].strip() not in ("---", "..."):
            continue
        try:
            loaded = yaml.safe_load("\n".join(lines[1:i])) or {}
        except yaml.YAMLError as exc:
            problems.append(Problem(1, f"front matter is not valid YAML: {str(exc).splitlines()[0]}"))
            loaded = {}
        front: dict[str, Any] = {}
        if isinstance(loaded, dict):
            front = loaded
        else:
            problems.append(Problem(1, "front matter must be a YAML mapping"))
        return front, i + 1, problems
    problems.append(Problem(1, "front matter opened with --- is never closed"))
    return {}, 0, problems


def _closing_fence(lines: list[str], opening: int, marker: str) -> int:
    """Index of the line closing the fence opened at ``opening`` (``len(lines)`` when none does).

    A closing fence uses the same character, at least as many times, and has no info string.
    """
    j = opening + 1
    while j < len(lines):
        close = _FENCE_RE.match(lines[j])
        if (
            close
            and close.group("fence")[0] == marker[0]
            and len(close.group("fence")) >= len(marker)
            and not close.group("info")
        ):
            return j
        j += 1
    return j


def _cell(lang: str, body: list[str], line: int, end_line: int, parent: Div | None) -> Cell:
    """A code cell from the lines between its fences: leading option lines, then the source.

    Options are ``#|`` lines, or ``%%|`` lines in mermaid and dot cells.
    """
    opt_prefix = "#|" if lang != "mermaid" and lang != "dot" else "%%|"
    k = 0
    while k < len(body) and body[k].lstrip().startswith(opt_prefix):
        k += 1
    option_lines = body[:k]
    if opt_prefix == "%%|":
        options, error = parse_options([re.sub(r"^\s*%%\|", "#|", x) for x in option_lines])
    else:
        options, error = parse_options(option_lines)
    return Cell(
        lang=lang,
        line=line,
        option_lines=option_lines,
        options=options,
        source="\n".join(body[k:]),
        code_line=line + 1 + k,
        end_line=end_line,
        parent=parent,
        options_error=error,
    )


class _BlockReader:
    """One pass over the lines after the front matter, turning them into blocks.

    Fences are read first (nothing inside a fence is a div or a heading), then
    div markers, then headings; the lines in between gather into :class:`Text`.
    """

    def __init__(self, lines: list[str], problems: list[Problem]) -> None:
        self.lines = lines
        self.problems = problems
        self.blocks: list[Block] = []
        self.divs: list[Div] = []
        self.stack: list[Div] = []  # the divs open at the current line, outermost first
        self.pending: list[str] = []  # text lines not yet made into a block
        self.pending_line = 0  # 1-based line of the first pending line

    @property
    def parent(self) -> Div | None:
        """The innermost open div."""
        return self.stack[-1] if self.stack else None

    def read(self, start: int) -> None:
        """Read every line from index ``start`` on."""
        i = start
        while i < len(self.lines):
            line = self.lines[i]
            if fence := _FENCE_RE.match(line):
                self._flush()
                i = self._read_fence(i, fence)
            elif div := _DIV_RE.match(line):
                self._flush()
                self._read_div(i, div)
                i += 1
            elif heading := _HEADING_RE.match(line):
                self._flush()
                self._read_heading(i, heading)
                i += 1
            else:
                if not self.pending:
                    self.pending_line = i + 1
                self.pending.append(line)
                i += 1
        self._flush()

    def _flush(self) -> None:
        """Turn the pending lines into a text block, unless they are all blank."""
        if self.pending and any(line.strip() for line in self.pending):
            self.blocks.append(Text(self.pending_line, self.pending, self.parent))
        self.pending = []

    def _read_fence(self, i: int, fence: re.Match[str]) -> int:
        """Read the code fence opened at index ``i`` as a cell or a display fence; the index after it."""
        lineno = i + 1
        marker = fence.group("fence")
        info = fence.group("info")
        j = _closing_fence(self.lines, i, marker)
        if j >= len(self.lines):
            self.problems.append(Problem(lineno, f"code fence {marker} is never closed"))
        lang = _cell_language(info)
        if lang is not None:
            self.blocks.append(_cell(lang, self.lines[i + 1 : j], lineno, j + 1, self.parent))
        else:
            self.blocks.append(Fence(lineno, info, self.lines[i : j + 1], self.parent))
        return j + 1

    def _read_div(self, i: int, div: re.Match[str]) -> None:
        """Open a div (``::: {attrs}``) or close the innermost one (a bare ``:::``)."""
        lineno = i + 1
        rest = div.group("rest")
        if rest:
            node = Div(lineno, Attributes.parse(rest), len(self.stack), self.parent)
            self.stack.append(node)
            self.divs.append(node)
            self.blocks.append(DivOpen(node))
        elif self.stack:
            node = self.stack.pop()
            node.end_line = lineno
            self.blocks.append(DivClose(node, lineno))
        else:
            self.problems.append(Problem(lineno, "closing ::: without an opening div"))

    def _read_heading(self, i: int, heading: re.Match[str]) -> None:
        """A ``#`` heading with its optional ``{#id .class}`` attributes."""
        attrs = Attributes.parse("{" + (heading.group("attrs") or "") + "}")
        level = len(heading.group("hashes"))
        self.blocks.append(Heading(i + 1, level, heading.group("text"), attrs, self.parent))


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
#: The paragraph that follows a template and says what a correct answer prints or shows.
EXPECTED_RESULT_RE = re.compile(r"^\s*\*\*Expected result\.\*\*")


@dataclass
class Exercise:
    """One exercise: the callout, then its hints, template, expected result, solution (DESIGN sections 4, 8).

    ``more_hints`` is the second level of hints, a callout nested in ``hints``;
    ``expected_line`` the line of the first paragraph starting ``**Expected result.**``
    found after the exercise callout (outside it); ``hint_texts`` the text blocks of both
    levels of hints.
    """

    callout: Div
    hints: Div | None = None
    more_hints: Div | None = None
    expected_line: int | None = None
    hint_texts: list[Text] = field(default_factory=list)
    template: Cell | None = None
    solution_div: Div | None = None
    solution_cells: list[Cell] = field(default_factory=list)
    extra_templates: list[Cell] = field(default_factory=list)
    goal: bool = False
    steps: bool = False

    @property
    def callout_id(self) -> str:
        """The id of the exercise callout (``cau-acq-rgb``)."""
        return self.callout.id

    @property
    def id(self) -> str:
        """``acq-rgb`` for the callout ``#cau-acq-rgb``."""
        return self.callout.id[len("cau-") :] if self.callout.id.startswith("cau-") else self.callout.id

    @property
    def title(self) -> str:
        """The title of the exercise callout."""
        return self.callout.title

    @property
    def solution(self) -> Cell | None:
        """The solution cell labelled ``<id>-solution`` (else the first cell of the solution)."""
        for cell in self.solution_cells:
            if cell.label == f"{self.id}-solution":
                return cell
        return self.solution_cells[0] if self.solution_cells else None


def _expected_result_line(block: Text) -> int | None:
    """The line of a paragraph of ``block`` that starts with ``**Expected result.**`` (None if none does)."""
    previous = ""
    for offset, line in enumerate(block.lines):
        if not previous.strip() and EXPECTED_RESULT_RE.match(line):
            return block.line + offset
        previous = line
    return None


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
            elif current is not None and current.hints is not None and div.is_more_hints and any(
                a is current.hints for a in div.ancestors()
            ):
                if current.more_hints is None:
                    current.more_hints = div
                else:
                    problems.append(Problem(div.line, f"exercise {current.id} has a second \"More hints\" callout"))
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
        elif isinstance(block, Text) and current is not None:
            inside = [block.parent, *block.parent.ancestors()] if block.parent is not None else []
            if current.hints is not None and any(d is current.hints for d in inside):
                current.hint_texts.append(block)
            elif current.expected_line is None and not any(d is current.callout or d.is_solution for d in inside):
                current.expected_line = _expected_result_line(block)
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
