"""Turn a parsed chapter into an ordered list of markdown and code items.

Quarto-only syntax becomes plain markdown that Jupyter and VSCode render:
callouts become block quotes with a bold title, cross-references
(``@fig-...``) become the figure caption or section title, attributes on
headings and images disappear, relative links are re-based for the folder
the output is written to. What happens to solutions and templates is the
caller's choice (participant notebooks drop solutions; previews keep them).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from landcover.book.project import CROSSREF_PREFIXES, Book, Target
from landcover.book.qmd import Cell, Div, DivClose, DivOpen, Fence, Heading, QmdDocument, Text

Role = Literal["code", "template", "solution", "display"]
SolutionMode = Literal["drop", "code"]
TemplateMode = Literal["code", "markdown", "drop"]

_XREF_RE = re.compile(r"(?<![\w@.])(?P<minus>-?)@(?P<id>(?:" + "|".join(CROSSREF_PREFIXES) + r")-[\w-]*[A-Za-z0-9_])")
_BRACKET_XREF_RE = re.compile(r"\[(?P<inner>-?@[^\]\[]+)\](?!\()")
_SPAN_RE = re.compile(r"\[(?P<text>[^\]\[]+)\]\{[^}]*\}")
_ATTR_AFTER_RE = re.compile(r"(?<=\))\{[^}]*\}")
_TABLE_CAPTION_RE = re.compile(r"^(?P<indent>\s*):\s+(?P<cap>.*?)\s*(?:\{#tbl-[^}]*\})\s*$")
_LINK_TARGET_RE = re.compile(r"(?P<head>!?\[(?:[^\]\[]|\[[^\]]*\])*\]\()(?P<url>[^)\s]+)")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_KIND_NAMES = {
    "fig": "Figure",
    "tbl": "Table",
    "sec": "Section",
    "eq": "Equation",
    "lst": "Listing",
}
#: What a ``cau-`` callout is called (``language: crossref-cau-title`` in _quarto.yml).
EXERCISE_WORD = "Exercise"
_CALLOUT_NAMES = {"note": "Note", "tip": "Tip", "caution": "Caution", "warning": "Warning", "important": "Important"}


@dataclass
class Markdown:
    """A run of converted markdown text (one notebook markdown cell, or part of one)."""

    text: str


@dataclass
class Code:
    """A code cell of the chapter and its role: plain code, exercise template, solution or display-only."""

    cell: Cell
    role: Role


Item = Markdown | Code


class Converter:
    """Convert one document; ``targets`` resolves cross-references book-wide."""

    def __init__(
        self,
        targets: dict[str, list[Target]],
        *,
        out_dir: Path | None = None,
        solutions: SolutionMode = "drop",
        templates: TemplateMode = "code",
        solution_note: str = "",
        chapter_numbers: dict[Path, int | str] | None = None,
    ) -> None:
        self.chapter_numbers = chapter_numbers or {}
        self.targets = targets
        self.out_dir = out_dir
        self.solutions = solutions
        self.templates = templates
        self.solution_note = solution_note

    @classmethod
    def for_book(cls, book: Book, **options: object) -> "Converter":
        """A converter that resolves references across ``book``."""
        numbers = {doc.path: n for doc in book.documents if (n := book.chapter_number(doc)) is not None}
        return cls(book.targets(), chapter_numbers=numbers, **options)  # type: ignore[arg-type]

    # -- inline text ------------------------------------------------------------------------------

    def reference(self, target_id: str, doc: QmdDocument, line: int, bare: bool = False) -> str:
        """Readable text for ``@target_id`` at ``line`` of ``doc``.

        In the same chapter, figures and tables are "the figure below/above" (the
        notebook is read in order); elsewhere they are named by caption and chapter.
        """
        found = self.targets.get(target_id)
        if not found:
            return target_id
        target = found[0]
        kind = target_id.split("-", 1)[0]
        here = target.doc.path == doc.path
        where = self._where(target.doc)
        if kind == "cau" and target.number:
            return target.number if bare else f"{EXERCISE_WORD} {target.number}"
        if kind in ("fig", "tbl", "lst") and here:
            noun = {"fig": "figure", "tbl": "table", "lst": "listing"}[kind]
            return f"the {noun} {'below' if target.line > line else 'above'}"
        if kind == "sec":
            heading = next((h for h in target.doc.headings if h.attrs.id == target_id), None)
            if heading is not None and heading.level == 1:
                return where if not bare else where.split()[-1]
            return f"section “{target.text}”" + ("" if here else f" ({where})")
        if kind in _KIND_NAMES:
            text = f"“{target.text}”" + ("" if here else f" ({where})")
            return text if bare else f"{_KIND_NAMES[kind].lower()} {text}"
        return f"“{target.text}”"

    def _where(self, doc: QmdDocument) -> str:
        number = self.chapter_numbers.get(doc.path)
        if isinstance(number, str):
            return f"appendix {number}"
        return f"chapter {number}" if number else f"“{doc.title}” page"

    def callout_title(self, div: Div, doc: QmdDocument) -> str:
        """The title Quarto shows: exercises get "Exercise 1.2: " before their own title."""
        title = div.title or _CALLOUT_NAMES.get(div.callout_type or "", "Note")
        if div.id.startswith("cau-"):
            number = next((t.number for t in self.targets.get(div.id, []) if t.doc.path == doc.path), "")
            prefix = f"{EXERCISE_WORD} {number}".strip()
            return f"{prefix}: {self.inline(div.title, doc, div.line)}" if div.title else prefix
        return self.inline(title, doc, div.line)

    def inline(self, line: str, doc: QmdDocument, line_no: int = 0) -> str:
        """One line of Quarto markdown as plain markdown.

        Cross-references become their caption or title (capitalised at the
        start of a sentence), spans and attributes lose their braces, table
        captions become an italic "Table: ..." line, and relative links are
        re-based on the output folder. ``line_no`` locates problems in ``doc``.
        """
        line = _BRACKET_XREF_RE.sub(lambda m: m.group("inner"), line)

        def replace(match: re.Match[str]) -> str:
            text = self.reference(match.group("id"), doc, line_no, bare=bool(match.group("minus")))
            before = line[: match.start()].rstrip()
            if not before.strip("> -*0123456789.") or before.endswith((".", ":", "!", "?")):
                text = text[:1].upper() + text[1:]
            return text

        line = _XREF_RE.sub(replace, line)
        line = _SPAN_RE.sub(lambda m: m.group("text"), line)
        line = _ATTR_AFTER_RE.sub("", line)
        caption = _TABLE_CAPTION_RE.match(line)
        if caption:
            line = f"{caption.group('indent')}*Table: {caption.group('cap')}*"
        if self.out_dir is not None:
            line = _LINK_TARGET_RE.sub(lambda m: m.group("head") + self.rebase(m.group("url"), doc), line)
        return line

    def rebase(self, url: str, doc: QmdDocument) -> str:
        """A relative link of the chapter, seen from the output folder."""
        if url.startswith(("#", "/", "{{")) or _SCHEME_RE.match(url) or self.out_dir is None:
            return url
        path, _, fragment = url.partition("#")
        absolute = (doc.path.parent / path).resolve()
        relative = os.path.relpath(absolute, self.out_dir.resolve()).replace(os.sep, "/")
        return relative + (f"#{fragment}" if fragment else "")

    # -- blocks -----------------------------------------------------------------------------------

    def items(self, doc: QmdDocument) -> list[Item]:
        """Markdown and code items, in document order."""
        out: list[Item] = []
        buffer: list[str] = []
        depth = 0
        folded: set[int] = set()
        skipping: object | None = None

        def emit(line: str) -> None:
            buffer.append(("> " * depth + line).rstrip() if line or depth else "")

        def flush() -> None:
            text = "\n".join(buffer).strip("\n")
            while "\n\n\n" in text:
                text = text.replace("\n\n\n", "\n\n")
            if text.strip().strip(">").strip():
                out.append(Markdown(text))
            buffer.clear()

        for block in doc.blocks:
            if skipping is not None:
                if isinstance(block, DivClose) and block.div is skipping:
                    skipping = None
                continue
            if isinstance(block, DivOpen):
                div = block.div
                if div.is_solution and self.solutions == "drop":
                    skipping = div
                    if self.solution_note:
                        exercise = _solution_exercise(doc, div)
                        emit("")
                        emit(f"**Solution**: {self.solution_note.format(exercise=exercise or '<exercise id>')}")
                        emit("")
                    continue
                if (
                    div.callout_type is not None
                    and div.attrs.values.get("collapse") == "true"
                    and not _holds_cells(doc, div)
                ):
                    # A folded callout (hints) stays folded: HTML <details>, which Jupyter renders.
                    folded.add(id(div))
                    emit("")
                    emit("<details>")
                    emit(f"<summary><strong>{self.callout_title(div, doc)}</strong></summary>")
                    emit("")
                elif div.callout_type is not None:
                    emit("")
                    depth += 1
                    emit(f"**{self.callout_title(div, doc)}**")
                    emit("")
                continue
            if isinstance(block, DivClose):
                if id(block.div) in folded:
                    emit("")
                    emit("</details>")
                    emit("")
                elif block.div.callout_type is not None:
                    depth = max(depth - 1, 0)
                    emit("")
                continue
            if isinstance(block, Heading):
                emit("")
                emit(f"{'#' * block.level} {self.inline(block.text, doc, block.line)}")
                emit("")
                continue
            if isinstance(block, Text):
                for offset, line in enumerate(block.lines):
                    emit(self.inline(line, doc, block.line + offset))
                continue
            if isinstance(block, Fence):
                info = block.info.strip("{}").lstrip(".").split()[0] if block.info.strip("{} ") else ""
                emit(f"```{info}")
                for line in block.lines[1:-1]:
                    emit(line)
                emit("```")
                continue
            if isinstance(block, Cell):
                cell = block
                if not cell.executable:
                    emit(f"```{cell.lang}")
                    for line in cell.source.splitlines():
                        emit(line)
                    emit("```")
                    continue
                role: Role
                if cell.label.endswith("-template") and not cell.evaluated:
                    role = "template"
                elif cell.in_solution:
                    role = "solution"
                elif not cell.evaluated:
                    role = "display"
                else:
                    role = "code"
                if role == "template" and self.templates == "drop":
                    continue
                if role == "display" or (role == "template" and self.templates == "markdown"):
                    emit("```python")
                    for line in cell.source.splitlines():
                        emit(line)
                    emit("```")
                    continue
                flush()
                out.append(Code(cell, role))
                caption = cell.options.get("fig-cap") or cell.options.get("tbl-cap")
                if caption and role != "template":
                    kind = "Figure" if cell.options.get("fig-cap") else "Table"
                    text = " ".join(map(str, caption)) if isinstance(caption, list) else str(caption)
                    out.append(Markdown(f"*{kind}: {self.inline(text, doc, cell.line)}*"))
        flush()
        return out


def _solution_exercise(doc: QmdDocument, div: Div) -> str | None:
    """The exercise id of a solution div, from the label of its cell (``<id>-solution``)."""
    for block in doc.blocks:
        if isinstance(block, Cell) and any(d is div for d in block.enclosing()):
            label = block.label or ""
            if label.endswith("-solution"):
                return label.removesuffix("-solution")
    return None


def _holds_cells(doc: QmdDocument, div: Div) -> bool:
    """Whether code cells sit inside ``div`` (a notebook cannot nest them in <details>)."""
    return any(isinstance(b, Cell) and any(d is div for d in b.enclosing()) for b in doc.blocks)
