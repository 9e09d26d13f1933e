"""One source, three outputs: the participant notebooks and final_solution/ are
derived from the chapters, and a stale derived file is caught."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from landcover.book.derive import SOLUTION_DIR, stale_solutions, write_derived
from landcover.book.project import load_book
from landcover.book.qmd import exercises

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("derived")
    write_derived(load_book(ROOT), out, quiet=True)
    return out


def notebook(derived: Path, name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(derived / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    return nb


def test_one_notebook_per_chapter(derived: Path) -> None:
    book = load_book(ROOT)
    assert sorted(p.stem for p in (derived / "notebooks").glob("*.ipynb")) == sorted(d.name for d in book.chapters)


def test_notebooks_have_templates_hints_and_checks_but_no_solution_code(derived: Path) -> None:
    book = load_book(ROOT)
    for doc in book.chapters:
        nb = notebook(derived, doc.name)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "from landcover.exercises import ___, catch_up, check" in code[0] and "import landcover" in code[0]
        found, _ = exercises(doc)
        targets = book.targets()
        for ex in found:
            assert ex.template is not None and ex.template.source.strip() in code
            number = targets[ex.callout_id][0].number  # "1.1", as Quarto numbers it
            assert f"> **Exercise {number}: {ex.title}**" in markdown
            assert "<summary><strong>Hints</strong></summary>" in markdown  # folded, as in the book
            template_lines = {line.strip() for line in ex.template.source.splitlines()}
            for cell in ex.solution_cells:
                for line in cell.source.splitlines():
                    if line.strip() and line.strip() not in template_lines:
                        assert all(line.strip() not in c for c in code), f"solution line in notebook: {line}"
                        assert line.strip() not in markdown, f"solution line in notebook text: {line}"
        # Quarto syntax is gone; callouts read as block quotes with a bold title.
        assert ":::" not in markdown and "{#" not in markdown and "#|" not in "\n".join(code)
        assert not re.search(r"(?<![\w@])@(fig|tbl|sec|cau)-", markdown)
    chapter1 = notebook(derived, "1-acquisition")
    templates = [c for c in chapter1.cells if "exercise-template" in c.metadata.get("tags", [])]
    assert templates and all("___  # TODO" in c.source for c in templates)
    assert all(not c.get("outputs") for c in chapter1.cells if c.cell_type == "code")


def test_final_solution_is_in_sync() -> None:
    problems = stale_solutions(load_book(ROOT))
    assert problems == [], "\n".join(problems)


def test_derive_check_command() -> None:
    result = subprocess.run([sys.executable, "-m", "landcover.book", "derive", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_solution_holds_every_executed_cell_in_order() -> None:
    book = load_book(ROOT)
    for doc in book.chapters:
        executed = [c for c in doc.cells if c.evaluated]
        path = ROOT / SOLUTION_DIR / f"{doc.name}.py"
        if not executed:
            assert not path.exists()
            continue
        script = path.read_text(encoding="utf-8")
        position = 0
        for cell in executed:
            found = script.find(cell.source.strip(), position)
            assert found >= 0, f"{doc.name}: cell {cell.label or cell.line} missing or out of order"
            position = found
        assert "___ " not in script.replace("import ___, check", "")
        compile(script, str(path), "exec")


def _copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in ["_quarto.yml", "index.qmd"]:
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "chapters", root / "chapters")
    shutil.copytree(ROOT / SOLUTION_DIR, root / SOLUTION_DIR)
    return root


def test_stale_final_solution_is_caught(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    assert stale_solutions(load_book(root)) == []
    chapter = root / "chapters" / "1-acquisition.qmd"
    chapter.write_text(chapter.read_text().replace("p98 = np.percentile(rgb, 98)", "p98 = np.percentile(rgb, 98.0)"))
    assert stale_solutions(load_book(root)) == [f"{SOLUTION_DIR}/1-acquisition.py: stale (differs from its chapter); run `make notebooks`"]
    write_derived(load_book(root), quiet=True)
    assert stale_solutions(load_book(root)) == []
    (root / SOLUTION_DIR / "1-acquisition.py").unlink()
    assert "missing" in stale_solutions(load_book(root))[0]


def test_edited_notebook_is_backed_up(tmp_path: Path) -> None:
    book = load_book(ROOT)
    write_derived(book, tmp_path, quiet=True)
    path = tmp_path / "notebooks" / "1-acquisition.ipynb"
    assert write_derived(book, tmp_path, quiet=True) == []  # nothing changed, nothing rewritten
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\nmy_work = 42"
    nbformat.write(nb, path)
    changed = write_derived(book, tmp_path, quiet=True)
    assert Path("notebooks/1-acquisition.ipynb") in changed
    backups = list((tmp_path / "notebooks" / "backup").glob("1-acquisition-*.ipynb"))
    assert len(backups) == 1 and "my_work = 42" in backups[0].read_text()


def test_final_solution_runs_as_a_script(tmp_path: Path, synthetic_dir: Path) -> None:
    # On the synthetic data: chapter 1 also reads a lake tile and a cloudy tile, beyond the tiny dataset.
    env = dict(os.environ, LANDCOVER_DATA_ROOT=str(synthetic_dir), MPLBACKEND="")
    env.pop("MPLBACKEND")
    result = subprocess.run(
        [sys.executable, str(ROOT / SOLUTION_DIR / "1-acquisition.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the script moves to the project root itself
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "✅ acq-rgb: correct." in result.stdout
    assert "Warning" not in result.stderr, result.stderr
