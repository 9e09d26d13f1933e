"""Structural checks of the book sources, run before anything is executed.

Each rule guards something that would otherwise fail late (in a Quarto render
on CI) or silently (a solution that no longer matches its template). Problems
are reported as ``file:line: message``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from landcover.book.project import CROSSREF_PREFIXES, Book, index_targets
from landcover.book.qmd import Cell, Heading, QmdDocument, Text, check_calls, exercises
from landcover.exercises.blanks import find_blanks

#: Cell options the Jupyter engine understands (Quarto's cell schemas: attributes,
#: code output, text output, figures, tables, layout, page layout).
VALID_CELL_OPTIONS = frozenset(
    {
        # attributes
        "label", "classes", "renderings", "tags", "id",
        # code output
        "eval", "echo", "code-fold", "code-summary", "code-overflow", "code-line-numbers",
        "lst-label", "lst-cap",
        # text output
        "output", "warning", "error", "include", "panel", "output-location",
        # figures
        "fig-cap", "fig-subcap", "fig-link", "fig-align", "fig-alt", "fig-env", "fig-pos", "fig-scap",
        # tables
        "tbl-cap", "tbl-subcap", "tbl-colwidths", "html-table-processing",
        # layout
        "layout", "layout-ncol", "layout-nrow", "layout-align", "layout-valign",
        "column", "fig-column", "tbl-column", "cap-location", "fig-cap-location", "tbl-cap-location",
    }
)  # fmt: skip

#: Options that only the knitr (R) engine reads: a Python cell silently ignores them.
KNITR_ONLY_OPTIONS = frozenset(
    {
        "message", "results", "comment", "collapse", "prompt", "tidy", "tidy-opts", "highlight",
        "fig-width", "fig-height", "fig-format", "fig-dpi", "fig-asp", "fig-keep", "fig-show",
        "out-width", "out-height", "out-extra", "cache", "cache-path", "dependson", "child",
        "class-output", "class-source", "class-message", "class-warning", "class-error",
        "attr-output", "attr-source", "attr-message", "attr-warning", "attr-error",
    }
)  # fmt: skip

#: Options for diagram cells (``{mermaid}``, ``{dot}``).
DIAGRAM_CELL_OPTIONS = frozenset({"label", "fig-cap", "fig-alt", "fig-width", "fig-height", "fig-responsive", "file"})

_BOOLEAN_OPTIONS = {"eval", "warning", "error", "include"}
_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_INLINE_CODE_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK_RE = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\((?P<url><[^>]+>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_XREF_RE = re.compile(r"(?<![\w@.])@(?P<id>(?:" + "|".join(CROSSREF_PREFIXES) + r")-[\w-]*[A-Za-z0-9_])")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True, order=True)
class LintError:
    """One problem, at ``path:line``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _blank_lines(source: str) -> list[int]:
    """1-based line numbers (within ``source``) where the blank ``___`` is used."""
    return [site.line for site in find_blanks(source)]


def code_lines(source: str) -> list[tuple[int, str]]:
    """(line number, code) for each line that has code once comments are removed."""
    comments: dict[int, int] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.start[1]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    result = []
    for number, line in enumerate(source.splitlines(), start=1):
        if number in comments:
            line = line[: comments[number]]
        if line.strip():
            result.append((number, line))
    return result


def _normalise(line: str) -> str:
    return re.sub(r"\s+", "", line)


def template_consistency(template: str, solution: str) -> tuple[int, str] | None:
    """The first template line (without a blank) missing, in order, from the solution."""
    wanted = code_lines(solution)
    position = 0
    for number, line in code_lines(template):
        if re.search(r"(?<!\w)___(?!\w)", line):
            continue
        key = _normalise(line)
        while position < len(wanted) and _normalise(wanted[position][1]) != key:
            position += 1
        if position >= len(wanted):
            return number, line.strip()
        position += 1
    return None


def answer_expressions(template: str, solution: str) -> set[str]:
    """What the solution writes in place of the template's blanks, whitespace removed.

    Each solution line that the template does not hold, and the right-hand side of
    its assignment or keyword argument (``x = <answer>``, ``name=<answer>,``); very
    short pieces (a digit, ``0``) are left out.
    """
    given = {_normalise(line) for _, line in code_lines(template)}
    solved = [_normalise(line) for _, line in code_lines(solution)]
    found: set[str] = set()
    for _, line in code_lines(solution):
        if _normalise(line) in given:
            continue
        text = line.strip().rstrip(",").strip()
        found.add(_normalise(text))
        assigned = re.match(r"^[\w\[\]\"'.,\s()*]+?(?<![=!<>])=(?!=)(?P<value>.+)$", text)
        if assigned:
            found.add(_normalise(assigned.group("value")))
    # What fills each blank: the template line with its blanks as wildcards, matched against the solution.
    for _, line in code_lines(template):
        pieces = re.split(r"(?<!\w)___(?!\w)", _normalise(line))
        if len(pieces) < 2:
            continue
        pattern = re.compile("^" + "(.+?)".join(re.escape(piece) for piece in pieces) + "$")
        for candidate in solved:
            filled = pattern.match(candidate)
            if filled:
                found.update(group.rstrip(",") for group in filled.groups())
                break
    return {piece for piece in found if len(piece) >= 3}


def _strip_inline_code(line: str) -> str:
    return _INLINE_CODE_RE.sub(lambda m: " " * len(m.group(0)), line)


def _prose_lines(doc: QmdDocument) -> Iterable[tuple[int, str]]:
    for block in doc.blocks:
        if isinstance(block, Text):
            for offset, line in enumerate(block.lines):
                yield block.line + offset, _strip_inline_code(line)
        elif isinstance(block, Heading):
            yield block.line, _strip_inline_code(block.text)


class _Linter:
    def __init__(self, root: Path, registry: Iterable[str] | None) -> None:
        self.root = root
        self.registry = set(registry) if registry is not None else None
        self.errors: list[LintError] = []

    def error(self, doc: QmdDocument | str, line: int, message: str) -> None:
        path = doc if isinstance(doc, str) else doc.relpath(self.root)
        self.errors.append(LintError(path, line, message))

    # -- per document -------------------------------------------------------------------------

    def document(self, doc: QmdDocument) -> None:
        for problem in doc.problems:
            self.error(doc, problem.line, problem.message)
        if not doc.front_matter.get("title") and not any(h.level == 1 for h in doc.headings):
            self.error(doc, 1, "no title: add `title:` to the front matter or a level-1 heading")
        for cell in doc.cells:
            self.cell(doc, cell)
        self.exercise_rules(doc)
        self.links(doc)

    def cell(self, doc: QmdDocument, cell: Cell) -> None:
        if cell.options_error:
            self.error(doc, cell.line + 1, cell.options_error)
            return
        if cell.lang in ("mermaid", "dot"):
            allowed = DIAGRAM_CELL_OPTIONS
        elif cell.executable:
            allowed = VALID_CELL_OPTIONS
        else:
            self.error(doc, cell.line, f"{{{cell.lang}}} cells are not executed by this book (Python only)")
            return
        for offset, name in enumerate(cell.options):
            line = cell.line + 1 + offset
            if name in KNITR_ONLY_OPTIONS and cell.executable:
                self.error(doc, line, f"cell option {name!r} is read by the knitr (R) engine only; Python cells ignore it")
            elif name not in allowed:
                self.error(doc, line, f"unknown cell option {name!r} (see the list in landcover/book/lint.py)")
        for name in _BOOLEAN_OPTIONS & set(cell.options):
            if not isinstance(cell.options[name], bool):
                self.error(doc, cell.label_line, f"cell option {name!r} must be true or false, not {cell.options[name]!r}")
        if "echo" in cell.options and cell.options["echo"] not in (True, False, "fenced"):
            self.error(doc, cell.label_line, f"cell option 'echo' must be true, false or fenced, not {cell.options['echo']!r}")
        if "output" in cell.options and cell.options["output"] not in (True, False, "asis"):
            self.error(doc, cell.label_line, f"cell option 'output' must be true, false or asis, not {cell.options['output']!r}")
        label = cell.label
        if "label" in cell.options and not _LABEL_RE.match(label):
            self.error(doc, cell.label_line, f"label {label!r}: use letters, digits, - and _ (start with a letter)")
        if label.startswith("fig-") and not cell.options.get("fig-cap"):
            self.error(doc, cell.label_line, f"figure cell {label!r} needs a fig-cap (Quarto numbers only captioned figures)")
        if label.startswith("tbl-") and not cell.options.get("tbl-cap"):
            self.error(doc, cell.label_line, f"table cell {label!r} needs a tbl-cap")
        if cell.executable:
            blanks = _blank_lines(cell.source)
            if blanks and cell.evaluated:
                self.error(
                    doc,
                    cell.code_line + blanks[0] - 1,
                    "a cell with ___ blanks is executed: templates need `#| eval: false`",
                )
            if cell.evaluated or label.endswith("-template"):
                try:
                    compile(cell.source, doc.path.name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
                except SyntaxError as exc:
                    line = cell.code_line + (exc.lineno or 1) - 1
                    self.error(doc, line, f"Python syntax error: {exc.msg}")

    def exercise_rules(self, doc: QmdDocument) -> None:
        found, problems = exercises(doc)
        for problem in problems:
            self.error(doc, problem.line, problem.message)
        ids_here = set()
        for ex in found:
            div = ex.callout
            if not div.id:
                self.error(doc, div.line, "exercise callout has no id: add #cau-<chapter>-<name>")
                continue
            if not div.id.startswith("cau-"):
                self.error(doc, div.line, f"exercise id {div.id!r} must start with Quarto's callout prefix 'cau-'")
                continue
            eid = ex.id
            ids_here.add(eid)
            if not ex.title.strip():
                self.error(doc, div.line, f"exercise {eid}: no title (title=\"What the reader builds\")")
            elif re.match(r"(?i)exercise\b", ex.title.strip()):
                self.error(
                    doc,
                    div.line,
                    f"exercise {eid}: the title repeats 'Exercise'; Quarto numbers #cau- callouts itself "
                    "(\"Exercise 1.2: <title>\")",
                )
            if not ex.goal:
                self.error(doc, div.line, f"exercise {eid}: no **Goal.** paragraph")
            if not ex.steps:
                self.error(doc, div.line, f"exercise {eid}: no **Steps.** list")
            if ex.hints is None:
                self.error(doc, div.line, f"exercise {eid}: no hints callout (.callout-tip title=\"Hints\")")
            else:
                self.hint_rules(doc, ex, eid)
            if ex.template is None:
                self.error(doc, div.line, f"exercise {eid}: no template cell (label: {eid}-template)")
            else:
                self.template_rules(doc, ex.template, eid)
            for extra in ex.extra_templates:
                self.error(doc, extra.line, f"exercise {eid}: a second template cell ({extra.label})")
            self.expected_result_rules(doc, ex, eid)
            if ex.solution_div is None:
                self.error(doc, div.line, f"exercise {eid}: no solution callout (.callout-note .solution)")
            else:
                self.solution_rules(doc, ex, eid)
            order = [("exercise", div.line)]
            for name, item in (("hints", ex.hints), ("template", ex.template), ("solution", ex.solution_div)):
                if item is not None:
                    order.append((name, item.line))
            for (first, a), (second, b) in zip(order, order[1:]):
                if b < a:
                    self.error(doc, b, f"exercise {eid}: the {second} must come after the {first}")
            if ex.template is not None and ex.solution is not None:
                missing = template_consistency(ex.template.source, ex.solution.source)
                if missing is not None:
                    number, text = missing
                    self.error(
                        doc,
                        ex.template.code_line + number - 1,
                        f"exercise {eid}: template line `{text}` does not appear in the solution "
                        "(in order); template and solution have drifted apart",
                    )
            if self.registry is not None and eid not in self.registry:
                self.error(doc, div.line, f"exercise {eid}: no check registered in landcover.exercises")
        for cell in doc.cells:
            for offset, line in enumerate(cell.source.splitlines()):
                for named in check_calls(line):
                    if named not in ids_here:
                        self.error(doc, cell.code_line + offset, f"check({named!r}) names no exercise of this chapter")

    def hint_rules(self, doc: QmdDocument, ex: Any, eid: str) -> None:
        """Two levels of hints (the idea, then the names to use), neither giving an answer verbatim."""
        if ex.hints.attrs.values.get("collapse") != "true":
            self.error(doc, ex.hints.line, f"exercise {eid}: the hints callout must have collapse=\"true\"")
        if ex.more_hints is None:
            self.error(
                doc,
                ex.hints.line,
                f"exercise {eid}: the hints need a second level: nest a collapsed callout whose title starts "
                "with \"More hints\" (the names to use) inside the Hints callout",
            )
        elif ex.more_hints.attrs.values.get("collapse") != "true":
            self.error(doc, ex.more_hints.line, f"exercise {eid}: the \"More hints\" callout must have collapse=\"true\"")
        if ex.template is None or ex.solution is None:
            return
        answers = answer_expressions(ex.template.source, ex.solution.source)
        for block in ex.hint_texts:
            for offset, line in enumerate(block.lines):
                for match in _INLINE_CODE_RE.finditer(line):
                    span = match.group(0).strip("`").strip()
                    if _normalise(span) in answers:
                        self.error(
                            doc,
                            block.line + offset,
                            f"exercise {eid}: the hint `{span}` is an answer of the solution, verbatim; give the "
                            "idea or the names to use, not the expression",
                        )

    def expected_result_rules(self, doc: QmdDocument, ex: Any, eid: str) -> None:
        """A paragraph ``**Expected result.**`` stands between the template and the solution."""
        line = ex.expected_line
        if line is None:
            self.error(
                doc,
                ex.callout.line,
                f"exercise {eid}: no **Expected result.** paragraph between the template and the solution "
                "(what a correct answer prints or shows)",
            )
            return
        after_template = ex.template is None or line > ex.template.end_line
        before_solution = ex.solution_div is None or line < ex.solution_div.line
        if not (after_template and before_solution):
            self.error(
                doc,
                line,
                f"exercise {eid}: the **Expected result.** paragraph must stand between the template cell "
                "and the solution callout",
            )

    def template_rules(self, doc: QmdDocument, cell: Cell, eid: str) -> None:
        if cell.label != f"{eid}-template":
            self.error(doc, cell.label_line, f"exercise {eid}: the template label must be {eid}-template, not {cell.label!r}")
        if cell.options.get("eval", True) is not False:
            self.error(doc, cell.label_line, f"exercise {eid}: the template must never run: add `#| eval: false`")
        if not _blank_lines(cell.source):
            self.error(doc, cell.label_line, f"exercise {eid}: the template has no ___ blank to fill in")
        if eid not in check_calls(cell.source):
            self.error(doc, cell.label_line, f"exercise {eid}: the template must end with check(\"{eid}\", ...)")
        self.no_imports(doc, cell, eid, "template")
        for number, line in code_lines(cell.source):
            if re.search(r"(?<!\w)___(?!\w)", line) and "# TODO" not in cell.source.splitlines()[number - 1]:
                self.error(doc, cell.code_line + number - 1, f"exercise {eid}: each blank needs a `# TODO:` comment saying what goes there")

    def no_imports(self, doc: QmdDocument, cell: Cell, eid: str, role: str) -> None:
        """Imports live in ordinary cells, so a participant who skips the exercise still has them."""
        for number, line in code_lines(cell.source):
            if re.match(r"\s*(import\s+\w|from\s+[\w.]+\s+import\b)", line):
                self.error(
                    doc,
                    cell.code_line + number - 1,
                    f"exercise {eid}: move `{line.strip()}` from the {role} to an ordinary cell before the "
                    "exercise (a participant who skips it still needs the import)",
                )
                return

    def solution_rules(self, doc: QmdDocument, ex: Any, eid: str) -> None:
        div = ex.solution_div
        if div.attrs.values.get("collapse") != "true":
            self.error(doc, div.line, f"exercise {eid}: the solution callout must have collapse=\"true\"")
        if not div.title.lower().startswith("solution"):
            self.error(doc, div.line, f"exercise {eid}: the solution callout title must start with 'Solution'")
        if not ex.solution_cells:
            self.error(doc, div.line, f"exercise {eid}: the solution callout has no Python cell")
            return
        if not any(c.label == f"{eid}-solution" for c in ex.solution_cells):
            self.error(doc, div.line, f"exercise {eid}: no solution cell labelled {eid}-solution")
        for cell in ex.solution_cells:
            self.no_imports(doc, cell, eid, "solution")
            if not cell.evaluated:
                self.error(doc, cell.label_line, f"exercise {eid}: solution cells must be executed (remove eval: false)")
        if not any(eid in check_calls(c.source) for c in ex.solution_cells):
            self.error(doc, div.line, f"exercise {eid}: the solution must call check(\"{eid}\", ...) too")

    def links(self, doc: QmdDocument) -> None:
        base = doc.path.parent
        for line_no, line in _prose_lines(doc):
            for match in _LINK_RE.finditer(line):
                url = match.group("url").strip("<>")
                if not url or url.startswith("#") or _SCHEME_RE.match(url) or url.startswith("{{"):
                    continue
                target = url.split("#", 1)[0].split("?", 1)[0]
                if not target:
                    continue
                path = (self.root / target.lstrip("/")) if target.startswith("/") else (base / target)
                if not path.exists():
                    self.error(doc, line_no, f"link to a missing file: {url}")

    # -- across the book ----------------------------------------------------------------------

    def book(self, docs: list[QmdDocument]) -> None:
        targets = index_targets(docs)
        for target_id, defs in targets.items():
            for dup in defs[1:]:
                first = defs[0]
                self.error(
                    dup.doc,
                    dup.line,
                    f"id {target_id!r} is already used at {first.doc.relpath(self.root)}:{first.line}",
                )
        for doc in docs:
            for line_no, line in _prose_lines(doc):
                for match in _XREF_RE.finditer(line):
                    if match.group("id") not in targets:
                        self.error(doc, line_no, f"cross-reference @{match.group('id')} points at nothing")


def lint_documents(
    docs: list[QmdDocument], root: Path, registry: Iterable[str] | None = None
) -> list[LintError]:
    """Lint parsed documents as one book (ids and cross-references are book-wide)."""
    linter = _Linter(root, registry)
    for doc in docs:
        linter.document(doc)
    linter.book(docs)
    return sorted(set(linter.errors))


def _config_files(root: Path) -> list[Path]:
    return sorted([root / "_quarto.yml", *root.glob("_quarto-*.yml")])


def lint_config(book: Book) -> list[LintError]:
    """Problems of the project files (``_quarto.yml`` and its profiles).

    Every listed chapter exists, every chapter is listed, and the local files
    the configuration names (filters, includes, CSS) exist.
    """
    errors: list[LintError] = []
    root = book.root
    for path in book.sources:
        if not path.exists():
            errors.append(LintError("_quarto.yml", 1, f"book chapter {path.relative_to(root)} does not exist"))
    listed = {p.resolve() for p in book.sources}
    for path in sorted((root / "chapters").glob("*.qmd")):
        if path.resolve() not in listed:
            errors.append(LintError(str(path.relative_to(root)), 1, "chapter is not listed in _quarto.yml (book: chapters:)"))
    for config_path in _config_files(root):
        try:
            config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            errors.append(LintError(config_path.name, 1, f"not valid YAML: {str(exc).splitlines()[0]}"))
            continue
        for value in _file_settings(config):
            if not (root / value).exists():
                errors.append(LintError(config_path.name, _line_of(config_path, value), f"file not found: {value}"))
    return errors


def _file_settings(config: Any) -> Iterable[str]:
    """Values of settings that name local files (filters, includes, css)."""
    keys = {"filters", "css", "include-in-header", "include-before-body", "include-after-body"}
    if isinstance(config, dict):
        for key, value in config.items():
            if key in keys:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item not in ("quarto",) and not _SCHEME_RE.match(item):
                        yield item
                    elif isinstance(item, dict) and isinstance(item.get("path") or item.get("file"), str):
                        yield item.get("path") or item.get("file")
            else:
                yield from _file_settings(value)
    elif isinstance(config, list):
        for item in config:
            yield from _file_settings(item)


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    return 1


def lint_book(book: Book, registry: Iterable[str] | None = None) -> list[LintError]:
    """All checks for a book project."""
    errors = lint_config(book)
    errors.extend(lint_documents(book.documents, book.root, registry))
    return errors
