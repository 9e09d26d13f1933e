"""The book as a whole: its configuration, source files in order, cross-reference targets.

Targets are what the sources define with ``fig-``, ``sec-``, ``tbl-``,
``cau-``... ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from landcover.book.qmd import Cell, DivOpen, Heading, QmdDocument, Text, parse_file

#: Reference prefixes Quarto resolves as ``@prefix-name`` (figures, tables, sections,
#: callouts, equations, listings).
CROSSREF_PREFIXES = ("fig", "tbl", "sec", "eq", "lst", "cau", "tip", "nte", "wrn", "imp")

_INLINE_ID_RE = re.compile(r"\{#(?P<id>[A-Za-z][\w-]*)[^}]*\}")
_IMAGE_RE = re.compile(r"!\[(?P<cap>[^\]]*)\]\([^)]*\)\{#(?P<id>[A-Za-z][\w-]*)")
_TABLE_CAPTION_RE = re.compile(r"^\s*:\s+(?P<cap>.*?)\s*\{#(?P<id>tbl-[\w-]+)")


@dataclass
class Target:
    """Something a cross-reference can point at."""

    id: str
    text: str  # caption or title, for readable references outside the HTML book
    doc: QmdDocument
    line: int
    number: str = ""  # "1.2" for numbered callouts (exercises), as Quarto numbers them

    @property
    def kind(self) -> str:
        """The id prefix: ``"fig"``, ``"sec"``, ``"tbl"``, ``"cau"``..."""
        return self.id.split("-", 1)[0]


@dataclass
class Book:
    """The Quarto book project at ``root``."""

    root: Path
    config: dict[str, Any]
    sources: list[Path]
    _docs: dict[Path, QmdDocument] = field(default_factory=dict)

    def document(self, path: Path) -> QmdDocument:
        """The parsed source at ``path``, parsed once and cached."""
        path = path.resolve()
        if path not in self._docs:
            self._docs[path] = parse_file(path)
        return self._docs[path]

    @property
    def documents(self) -> list[QmdDocument]:
        """The sources listed in ``_quarto.yml`` that exist, parsed, in book order."""
        return [self.document(p) for p in self.sources if p.exists()]

    @property
    def chapters(self) -> list[QmdDocument]:
        """The numbered chapters (every source under ``chapters/``)."""
        return [d for d in self.documents if d.path.parent.name == "chapters"]

    def find_chapter(self, name: str) -> QmdDocument:
        """A source by stem (``1-acquisition``), file name or path."""
        for doc in self.documents:
            if name in (doc.name, doc.path.name, doc.relpath(self.root)):
                return doc
        known = ", ".join(d.name for d in self.documents)
        raise ValueError(f"no book source called {name!r}; the book has: {known}")

    @property
    def appendices(self) -> set[Path]:
        """The sources listed under ``book: appendices:``."""
        entries = chapter_entries({"book": {"appendices": (self.config.get("book") or {}).get("appendices")}})
        return {(self.root / entry).resolve() for entry in entries}

    def chapter_number(self, doc: QmdDocument) -> int | str | None:
        """Quarto's chapter number of ``doc``: 1, 2... for chapters, "A", "B"... for appendices.

        None for unnumbered pages such as the preface.
        """
        appendices = self.appendices
        number = letters = 0
        for other in self.documents:
            is_appendix = other.path.resolve() in appendices
            if not is_unnumbered(other):
                if is_appendix:
                    letters += 1
                else:
                    number += 1
            if other.path == doc.path:
                if is_unnumbered(other):
                    return None
                return chr(ord("A") + letters - 1) if is_appendix else number
        return None

    def targets(self) -> dict[str, list[Target]]:
        """Every cross-reference target of the book, by id (exercises numbered per chapter)."""
        targets = index_targets(self.documents)
        for doc in self.documents:
            chapter = self.chapter_number(doc)
            for order, div in enumerate((d for d in doc.divs if d.id.startswith("cau-")), start=1):
                for target in targets.get(div.id, []):
                    if target.doc is doc and chapter is not None:
                        target.number = f"{chapter}.{order}"
        return targets


def is_unnumbered(doc: QmdDocument) -> bool:
    """True when the page's title heading is marked ``{.unnumbered}`` (or ``-``)."""
    if doc.front_matter.get("number-sections") is False:
        return True
    for heading in doc.headings:
        if heading.level == 1:
            return "unnumbered" in heading.attrs.classes or "-" in heading.attrs.classes
    return False


def chapter_entries(config: dict[str, Any]) -> list[str]:
    """The ``book: chapters:`` list, flattened (parts hold their own chapter lists)."""
    entries: list[str] = []

    def walk(items: Any) -> None:
        for item in items or []:
            if isinstance(item, str):
                entries.append(item)
            elif isinstance(item, dict):
                if "part" in item and isinstance(item["part"], str) and item["part"].endswith(".qmd"):
                    entries.append(item["part"])
                if "href" in item and isinstance(item["href"], str):
                    entries.append(item["href"])
                walk(item.get("chapters"))

    book = config.get("book") or {}
    walk(book.get("chapters"))
    walk(book.get("appendices"))
    return entries


def load_book(root: Path | str | None = None) -> Book:
    """Read ``_quarto.yml`` under ``root`` (default: the project root)."""
    if root is None:
        from landcover.config import project_root

        root = project_root()
    root = Path(root).resolve()
    config_path = root / "_quarto.yml"
    if not config_path.exists():
        raise FileNotFoundError(f"{config_path}: no Quarto project here")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    sources = [(root / entry).resolve() for entry in chapter_entries(config)]
    return Book(root, config, sources)


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    first = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def index_targets(docs: list[QmdDocument]) -> dict[str, list[Target]]:
    """Collect cross-reference targets: heading ids, cell labels, div ids, image/table ids."""
    targets: dict[str, list[Target]] = {}

    def add(target_id: str, text: str, doc: QmdDocument, line: int) -> None:
        targets.setdefault(target_id, []).append(Target(target_id, _short(text), doc, line))

    for doc in docs:
        for block in doc.blocks:
            if isinstance(block, Heading) and block.attrs.id:
                add(block.attrs.id, block.text, doc, block.line)
            elif isinstance(block, Cell) and block.label:
                caption = block.options.get("fig-cap") or block.options.get("tbl-cap") or block.label
                if isinstance(caption, list):
                    caption = " ".join(map(str, caption))
                add(block.label, str(caption), doc, block.line)
            elif isinstance(block, DivOpen) and block.div.id:
                add(block.div.id, block.div.title or block.div.id, doc, block.div.line)
            elif isinstance(block, Text):
                for offset, line in enumerate(block.lines):
                    seen: set[str] = set()
                    for match in _IMAGE_RE.finditer(line):
                        add(match.group("id"), match.group("cap"), doc, block.line + offset)
                        seen.add(match.group("id"))
                    table = _TABLE_CAPTION_RE.match(line)
                    if table:
                        add(table.group("id"), table.group("cap"), doc, block.line + offset)
                        seen.add(table.group("id"))
                    for match in _INLINE_ID_RE.finditer(line):
                        if match.group("id") not in seen:
                            add(match.group("id"), match.group("id"), doc, block.line + offset)
    return targets
