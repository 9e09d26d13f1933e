"""The book executes, offline, in a real Jupyter kernel, on the synthetic data.

Each chapter runs once (the ``book_runs`` session fixture) through the build harness with its
exercise templates inserted: every solution must pass its check, every
untouched template must stop with the friendly message, and nothing else may
fail. A small project checks how a failing cell is reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from landcover.book.execute import ChapterRun, cell_text
from landcover.book.project import load_book
from landcover.book.qmd import exercises
from landcover.exercises import find_blanks

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def chapter_runs(book_runs) -> dict[str, ChapterRun]:
    return book_runs.runs


def test_the_book_executes_offline(chapter_runs: dict[str, ChapterRun]) -> None:
    assert "1-acquisition" in chapter_runs
    failures = [str(run.failure) for run in chapter_runs.values() if not run.ok]
    assert failures == []


def test_only_templates_raise(chapter_runs: dict[str, ChapterRun]) -> None:
    for run in chapter_runs.values():
        for cell in run.notebook.cells:
            if cell.cell_type != "code":
                continue
            errors = [o for o in cell.outputs if o.output_type == "error"]
            role = cell.metadata["landcover"]["role"]
            if role != "template":
                assert errors == [], f"{run.name}: {cell.metadata['landcover']['label']}: {cell_text(cell)}"
            assert "NameError" not in cell_text(cell)


def test_every_solution_passes_its_check(chapter_runs: dict[str, ChapterRun]) -> None:
    book = load_book(ROOT)
    for name, run in chapter_runs.items():
        cells = run.cells_by_label()
        for ex in exercises(book.find_chapter(name))[0]:
            text = cell_text(cells[f"{ex.id}-solution"])
            assert f"✅ {ex.id}: correct." in text, f"{name}: {ex.id}: {text}"


def test_every_untouched_template_stops_with_a_friendly_message(chapter_runs: dict[str, ChapterRun]) -> None:
    book = load_book(ROOT)
    for name, run in chapter_runs.items():
        cells = run.cells_by_label()
        for ex in exercises(book.find_chapter(name))[0]:
            assert ex.template is not None
            cell = cells[f"{ex.id}-template"]
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert [e.ename for e in errors] == ["ExerciseBlankError"], cell_text(cell)
            shown = cell_text(cell)
            assert f"Exercise {ex.id} is not finished" in shown
            for site in find_blanks(ex.template.source):
                assert f"line {site.line}: `{site.code}`  ->  {site.todo}" in shown
            assert "Traceback" not in shown and "File " not in shown


def test_figures_say_the_data_is_synthetic(chapter_runs: dict[str, ChapterRun]) -> None:
    for run in chapter_runs.values():
        for label, cell in run.cells_by_label().items():
            if label.startswith("fig-"):
                images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
                assert images, f"{run.name}: {label} draws no figure"


# --- reporting a failure ---------------------------------------------------------------------------

FAILING = """\
# Demo {#sec-demo}

```{python}
#| label: demo-ok
value = 1
print("first cell ran")
```

```{python}
#| label: demo-fail
x = 1
y = value / 0
```

```{python}
#| label: demo-never
print("never reached")
```
"""


def test_build_reports_chapter_cell_and_line(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\nbook:\n  chapters:\n    - chapters/1-demo.qmd\n")
    (tmp_path / "chapters" / "1-demo.qmd").write_text(FAILING)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "landcover.book", "--root", str(tmp_path), "build", "--kernel", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    line = FAILING.splitlines().index("y = value / 0") + 1
    assert f"FAILED  chapters/1-demo.qmd:{line}: cell 'demo-fail' failed: ZeroDivisionError: division by zero" in result.stderr
    html = (out / "1-demo.html").read_text(encoding="utf-8")
    assert "first cell ran" in html
    assert (out / "1-demo.ipynb").exists()


def test_build_one_chapter_by_name(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_quarto.yml").write_text(
        "project:\n  type: book\nbook:\n  chapters:\n    - chapters/1-demo.qmd\n    - chapters/2-other.qmd\n"
    )
    (tmp_path / "chapters" / "1-demo.qmd").write_text(FAILING)
    (tmp_path / "chapters" / "2-other.qmd").write_text('# Other\n\n```{python}\n#| echo: false\nprint("other ran")\n```\n')
    out = tmp_path / "out"
    command = [sys.executable, "-m", "landcover.book", "--root", str(tmp_path), "build", "--kernel", "--out", str(out)]
    result = subprocess.run([*command, "--chapter", "2-other"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.html")) == ["2-other.html"]
    html = (out / "2-other.html").read_text(encoding="utf-8")
    assert html.count("other ran") == 1, "echo: false hides the code, the output stays"
    missing = subprocess.run([*command, "--chapter", "9-nothing"], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no book source called '9-nothing'" in missing.stderr


def test_offline_guard_blocks_the_internet_not_the_machine() -> None:
    import nbformat

    from landcover.book.execute import execute_notebook

    remote = nbformat.v4.new_code_cell('import socket\nsocket.create_connection(("192.0.2.1", 80), timeout=1)')
    local = nbformat.v4.new_code_cell(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "except ConnectionRefusedError:\n    print('local connections pass')"
    )
    remote.metadata["tags"] = ["raises-exception"]
    nb = nbformat.v4.new_notebook(cells=[remote, local])
    _, failure = execute_notebook(nb, cwd=ROOT, offline=True, progress=False)
    assert failure is None, failure
    assert "offline build: connection to ('192.0.2.1', 80) blocked" in cell_text(nb.cells[0])
    assert "local connections pass" in cell_text(nb.cells[1])
    assert len(nb.cells) == 2, "the guard cell is not left in the notebook"


def test_build_uses_quarto_when_installed(tmp_path: Path) -> None:
    import os

    (tmp_path / "chapters").mkdir()
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\nbook:\n  chapters:\n    - chapters/1-demo.qmd\n")
    (tmp_path / "chapters" / "1-demo.qmd").write_text(FAILING)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\necho "$QUARTO_PYTHON" >> "$(dirname "$0")/args"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, "-m", "landcover.book", "--root", str(tmp_path), "build"]
    result = subprocess.run([*command, "--chapter", "1-demo", "--profile", "workshop"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    args, python = (bin_dir / "args").read_text().splitlines()
    assert args == "render chapters/1-demo.qmd --profile workshop"
    assert python == sys.executable
