"""Execute the book without Quarto: each chapter runs as a notebook in a Jupyter kernel.

The kernel works in the project root (as ``execute-dir: project`` asks), and
each executed notebook is written to ``build/`` with an HTML preview.

Cells with ``eval: false`` are not run (templates are shown as code text);
``echo``, ``output`` and ``include`` only change what the preview shows. When
a cell fails, the report names the chapter, the cell label and the line in
the .qmd. With ``quarto`` on the PATH, :func:`main` runs ``quarto render``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from landcover.book.convert import Code, Converter, Markdown
from landcover.book.project import Book, load_book
from landcover.book.qmd import QmdDocument
from landcover.storage import atomic_path, write_bytes_atomic

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE_RE = re.compile(r"Cell In\[\d+\], line (\d+)")

#: Run first in the kernel when ``offline=True``: any connection that leaves the
#: machine fails, so a test proves the book needs no network.
OFFLINE_GUARD = '''\
import socket as _socket

_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")
_connect, _connect_ex = _socket.socket.connect, _socket.socket.connect_ex

def _check_local(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if sock.family in (_socket.AF_INET, _socket.AF_INET6) and not str(host).startswith(_LOCAL):
        raise OSError(f"offline build: connection to {address!r} blocked")

def _guarded_connect(self, address):
    _check_local(self, address)
    return _connect(self, address)

def _guarded_connect_ex(self, address):
    _check_local(self, address)
    return _connect_ex(self, address)

_socket.socket.connect, _socket.socket.connect_ex = _guarded_connect, _guarded_connect_ex
del _guarded_connect, _guarded_connect_ex
'''


@dataclass
class CellFailure:
    """A cell that raised: where it is in the .qmd, and the error."""

    source: str
    line: int
    label: str
    ename: str
    evalue: str
    traceback: str

    def __str__(self) -> str:
        label = f"cell {self.label!r}" if self.label else "unlabelled cell"
        return f"{self.source}:{self.line}: {label} failed: {self.ename}: {self.evalue}"


@dataclass
class ChapterRun:
    """The result of executing one chapter."""

    name: str
    notebook: nbformat.NotebookNode
    seconds: float
    failure: CellFailure | None = None
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every executed cell ran without error."""
        return self.failure is None

    def cells_by_label(self) -> dict[str, nbformat.NotebookNode]:
        """Executed code cells, by their label in the .qmd."""
        found = {}
        for cell in self.notebook.cells:
            label = cell.metadata.get("landcover", {}).get("label")
            if cell.cell_type == "code" and label:
                found[label] = cell
        return found


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Everything a cell printed or raised, as plain text (ANSI colours removed)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}\n" + "\n".join(output.traceback))
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return _ANSI_RE.sub("", "\n".join(parts))


def chapter_notebook(doc: QmdDocument, book: Book, *, templates: bool = False) -> nbformat.NotebookNode:
    """The notebook of ``doc`` to execute: prose as markdown, executed cells as code.

    With ``templates=True`` each exercise template is a code cell too (tagged
    ``raises-exception``), so a test can see what an untouched template does.
    """
    converter = Converter.for_book(book, solutions="code", templates="code" if templates else "markdown")
    source = doc.relpath(book.root)
    cells = [nbformat.v4.new_markdown_cell(f"*Preview: `{source}` executed by `make execute` (no Quarto).*")]
    for item in converter.items(doc):
        if isinstance(item, Markdown):
            cells.append(nbformat.v4.new_markdown_cell(item.text))
            continue
        assert isinstance(item, Code)
        options = item.cell.options
        cell = nbformat.v4.new_code_cell(item.cell.source.strip("\n"))
        cell.metadata["landcover"] = {
            "source": source,
            "line": item.cell.code_line,
            "label": item.cell.label,
            "role": item.role,
        }
        tags = []
        if options.get("include") is False:
            tags.append("remove_cell")
        if options.get("echo") is False:
            tags.append("remove_input")
        if options.get("output") is False:
            tags.append("remove_output")
        if options.get("error") is True or item.role == "template":
            tags.append("raises-exception")
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)
    for index, cell in enumerate(cells):
        cell["id"] = f"{doc.name}-{index}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (landcover)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _failure(cell: nbformat.NotebookNode, error: Any) -> CellFailure:
    meta = cell.metadata.get("landcover", {})
    traceback = _ANSI_RE.sub("", getattr(error, "traceback", "") or str(error))
    match = _CELL_LINE_RE.search(traceback)
    offset = int(match.group(1)) - 1 if match else 0
    return CellFailure(
        source=meta.get("source", "?"),
        line=int(meta.get("line", 0)) + offset,
        label=meta.get("label", ""),
        ename=getattr(error, "ename", type(error).__name__),
        evalue=getattr(error, "evalue", str(error)),
        traceback=traceback,
    )


def execute_notebook(
    nb: nbformat.NotebookNode,
    *,
    cwd: Path,
    name: str = "notebook",
    timeout: int = 900,
    offline: bool = False,
    kernel_log: Path | None = None,
    progress: bool = True,
    env: dict[str, str] | None = None,
) -> tuple[float, CellFailure | None]:
    """Run the code cells of ``nb`` in place, in order; stop at the first unexpected error.

    ``env`` adds or overrides environment variables of the kernel.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    kernel_env = dict(os.environ)
    # A non-interactive backend inherited from the caller (Streamlit sets MPLBACKEND=Agg when it is
    # imported) would stop the kernel from drawing figures inline: let the kernel choose its own.
    kernel_env.pop("MPLBACKEND", None)
    kernel_env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    kernel_env.update(env or {})
    if offline:
        kernel_env["LANDCOVER_ONLINE"] = "0"
    client = NotebookClient(
        nb, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}}, record_timing=False
    )
    guard = nbformat.v4.new_code_cell(OFFLINE_GUARD) if offline else None
    if guard is not None:
        nb.cells.insert(0, guard)  # nbclient addresses cells by index: the guard must be one of them
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c is not guard]
    started = time.perf_counter()
    failure: CellFailure | None = None
    log_handle = open(kernel_log, "w", encoding="utf-8") if kernel_log else subprocess.DEVNULL
    try:
        from tqdm.auto import tqdm

        with client.setup_kernel(env=kernel_env, stderr=log_handle, cwd=str(cwd)):
            if guard is not None:
                client.execute_cell(guard, 0)
                if any(o.output_type == "error" for o in guard.outputs):
                    raise RuntimeError("the offline guard failed:\n" + cell_text(guard))
            with tqdm(total=len(code_cells), desc=name, unit="cell", disable=not progress, leave=False) as bar:
                for index, cell in code_cells:
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError as error:
                        failure = _failure(cell, error)
                        break
                    finally:
                        bar.update(1)
    finally:
        if kernel_log:
            log_handle.close()
        if guard is not None:
            nb.cells.remove(guard)
    return time.perf_counter() - started, failure


def write_outputs(nb: nbformat.NotebookNode, out_dir: Path, name: str, title: str, html: bool = True) -> dict[str, Path]:
    """Write the executed notebook and (optionally) its HTML preview; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"ipynb": out_dir / f"{name}.ipynb"}
    with atomic_path(paths["ipynb"]) as temporary:
        nbformat.write(nb, temporary)
    if html:
        from nbconvert import HTMLExporter
        from nbconvert.preprocessors import TagRemovePreprocessor
        from traitlets.config import Config

        config = Config()
        config.TagRemovePreprocessor.enabled = True
        config.TagRemovePreprocessor.remove_cell_tags = {"remove_cell"}
        config.TagRemovePreprocessor.remove_input_tags = {"remove_input"}
        config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove_output"}
        exporter = HTMLExporter(config=config, template_name="lab")
        exporter.register_preprocessor(TagRemovePreprocessor(config=config), True)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        paths["html"] = out_dir / f"{name}.html"
        write_bytes_atomic(paths["html"], body.encode("utf-8"))
    return paths


def run_chapter(
    doc: QmdDocument,
    book: Book,
    out_dir: Path,
    *,
    templates: bool = False,
    offline: bool = False,
    html: bool = True,
    timeout: int = 900,
    progress: bool = True,
    env: dict[str, str] | None = None,
) -> ChapterRun:
    """Build, execute and write one chapter (``env``: extra kernel environment)."""
    nb = chapter_notebook(doc, book, templates=templates)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds, failure = execute_notebook(
        nb,
        cwd=book.root,
        name=doc.name,
        timeout=timeout,
        offline=offline,
        kernel_log=out_dir / f"{doc.name}.kernel.log",
        progress=progress,
        env=env,
    )
    run = ChapterRun(doc.name, nb, seconds, failure)
    run.outputs = write_outputs(nb, out_dir, doc.name, doc.title, html=html)
    return run


def executable_documents(book: Book, chapters: list[str] | None = None) -> list[QmdDocument]:
    """The sources to execute: the named ones, else every source with an executed cell."""
    if chapters:
        return [book.find_chapter(name) for name in chapters]
    return [doc for doc in book.documents if any(cell.evaluated for cell in doc.cells)]


def _quarto_render(book: Book, chapters: list[str] | None, profile: str | None) -> int:
    command = ["quarto", "render"]
    if chapters:
        command.extend(book.find_chapter(name).relpath(book.root) for name in chapters)
    if profile:
        command.extend(["--profile", profile])
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    print("running:", " ".join(command))
    return subprocess.call(command, cwd=book.root, env=env)


def main(
    chapters: list[str] | None = None,
    *,
    out: Path | None = None,
    html: bool = True,
    offline: bool = False,
    templates: bool = False,
    use_quarto: bool | None = None,
    profile: str | None = None,
    timeout: int = 900,
    root: Path | None = None,
) -> int:
    """Execute the book (or some chapters); print a summary; 0 when everything ran."""
    book = load_book(root)
    if use_quarto is None:
        use_quarto = shutil.which("quarto") is not None
    if use_quarto:
        return _quarto_render(book, chapters, profile)
    out_dir = (out or book.root / "build").resolve()
    try:
        docs = executable_documents(book, chapters)
    except ValueError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    if not docs:
        print("build: no source has executable cells")
        return 0
    status = 0
    for doc in docs:
        run = run_chapter(doc, book, out_dir, templates=templates, offline=offline, html=html, timeout=timeout)
        written = ", ".join(str(p.relative_to(book.root) if p.is_relative_to(book.root) else p) for p in run.outputs.values())
        if run.ok:
            print(f"ok      {doc.relpath(book.root)}  ({run.seconds:.1f} s) -> {written}")
        else:
            status = 1
            print(f"FAILED  {run.failure}", file=sys.stderr)
            print(_indent(run.failure.traceback), file=sys.stderr)
            print(f"        partial results -> {written}", file=sys.stderr)
    return status


def _indent(text: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line for line in text.strip().splitlines()[-30:])
