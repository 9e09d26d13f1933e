"""The structural linter: a good book passes, and each rule catches its fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from landcover.book.lint import LintError, lint_book, template_consistency
from landcover.book.project import load_book

ROOT = Path(__file__).resolve().parents[1]

QUARTO_YML = """\
project:
  type: book
book:
  title: Demo
  chapters:
    - index.qmd
    - chapters/1-demo.qmd
filters:
  - filters/solutions.lua
"""

INDEX = """\
# Welcome {.unnumbered}

See @sec-demo and [the data notes](notes.md).
"""

GOOD = """\
# Demo chapter {#sec-demo}

::: {.callout-note title="In this chapter"}
You add numbers. ![A picture](picture.png)
:::

```{python}
#| label: demo-setup
from landcover.exercises import ___, check
numbers = [1, 2, 3]
```

## Sums {#sec-demo-sums}

::: {.callout-caution #cau-demo-sum title="Sum of a list"}
**Goal.** Add the numbers.

**Steps.**

1. Call `sum` on `numbers`.
2. Run the check.
:::

::: {.callout-tip collapse="true" title="Hints"}
- Python adds up the items of a list for you.
::: {.callout-tip collapse="true" title="More hints: the names to use"}
- `sum` takes a list.
:::
:::

```{python}
#| label: demo-sum-template
#| eval: false
# Exercise: demo-sum
total = ___  # TODO: the sum of numbers
check("demo-sum", total)
```

**Expected result.** The check passes; `total` is 6.

::: {.callout-note .solution collapse="true" title="Solution: sum of a list"}
```{python}
#| label: demo-sum-solution
total = sum(numbers)
check("demo-sum", total)
```
:::

@cau-demo-sum feeds @fig-demo-plot, as @sec-demo-sums explains.

```{python}
#| label: fig-demo-plot
#| fig-cap: "The numbers (synthetic)"
#| echo: false
print(total)
```
"""


def make_book(tmp_path: Path, chapter: str = GOOD, *, config: str = QUARTO_YML, index: str = INDEX) -> Path:
    (tmp_path / "chapters").mkdir(parents=True, exist_ok=True)
    (tmp_path / "filters").mkdir(exist_ok=True)
    (tmp_path / "filters" / "solutions.lua").write_text("return {}\n")
    (tmp_path / "_quarto.yml").write_text(config)
    (tmp_path / "index.qmd").write_text(index)
    (tmp_path / "notes.md").write_text("notes\n")
    (tmp_path / "chapters" / "picture.png").write_bytes(b"\x89PNG")
    (tmp_path / "chapters" / "1-demo.qmd").write_text(chapter)
    return tmp_path


def lint(tmp_path: Path, chapter: str = GOOD, registry: set[str] | None = None, **kwargs: str) -> list[LintError]:
    root = make_book(tmp_path, chapter, **kwargs)
    return lint_book(load_book(root), {"demo-sum"} if registry is None else registry)


def messages(errors: list[LintError]) -> str:
    return "\n".join(map(str, errors))


def test_good_book_passes(tmp_path: Path) -> None:
    assert lint(tmp_path) == []


def test_the_real_book_passes() -> None:
    from landcover.exercises import registered

    errors = lint_book(load_book(ROOT), registered())
    assert errors == [], messages(errors)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


MORE_HINTS = '::: {.callout-tip collapse="true" title="More hints: the names to use"}\n- `sum` takes a list.\n:::\n'
HINTS = '::: {.callout-tip collapse="true" title="Hints"}\n- Python adds up the items of a list for you.\n' + MORE_HINTS + ":::\n"
assert HINTS in GOOD

# (description, old text, new text, expected message, line marker in the bad text or None)
BAD_CASES = [
    ("unclosed div", "- `sum` takes a list.\n:::\n", "- `sum` takes a list.\n", "is never closed", None),
    ("stray closer", "(picture.png)\n:::\n", "(picture.png)\n:::\n:::\n", "closing ::: without an opening div", None),
    ("unclosed fence", 'print(total)\n```\n', "print(total)\n", "is never closed", None),
    ("exercise without id", "{.callout-caution #cau-demo-sum ", "{.callout-caution ", "has no id", "callout-caution"),
    ("id without cau-", "#cau-demo-sum", "#exr-demo-sum", "must start with Quarto's callout prefix 'cau-'", "callout-caution"),
    ("no title", ' title="Sum of a list"}', "}", "no title", "callout-caution"),
    ("title says Exercise", 'title="Sum of a list"', 'title="Exercise 1 — Sum"', "repeats 'Exercise'", "callout-caution"),
    ("no goal", "**Goal.** Add the numbers.", "Add the numbers.", "no **Goal.** paragraph", "callout-caution"),
    ("no steps", "**Steps.**\n", "", "no **Steps.** list", "callout-caution"),
    (
        "no hints",
        HINTS,
        "",
        "no hints callout",
        "callout-caution",
    ),
    (
        "one level of hints",
        MORE_HINTS,
        "",
        'the hints need a second level: nest a collapsed callout whose title starts with "More hints"',
        'title="Hints"',
    ),
    (
        "second level not titled More hints",
        'title="More hints: the names to use"',
        'title="Names"',
        "the hints need a second level",
        'title="Hints"',
    ),
    (
        "second level open",
        '{.callout-tip collapse="true" title="More hints',
        '{.callout-tip title="More hints',
        'the "More hints" callout must have collapse="true"',
        "More hints",
    ),
    ("hint gives the answer", "- `sum` takes a list.", "- `sum(numbers)` is the answer.", "is an answer of the solution, verbatim", "sum(numbers)` is"),
    (
        "no expected result",
        "**Expected result.** The check passes; `total` is 6.\n",
        "",
        "no **Expected result.** paragraph between the template and the solution",
        "callout-caution",
    ),
    (
        "expected result not a paragraph of its own",
        "**Expected result.** The check passes",
        "The result: **Expected result.** The check passes",
        "no **Expected result.** paragraph",
        "callout-caution",
    ),
    (
        "expected result after the solution",
        "**Expected result.** The check passes; `total` is 6.\n",
        "",
        "must stand between the template cell and the solution callout",
        "Expected result",
    ),
    ("hints open", '{.callout-tip collapse="true" title="Hints"}', '{.callout-tip title="Hints"}', 'hints callout must have collapse="true"', "callout-tip"),
    ("template label", "#| label: demo-sum-template", "#| label: demo-total-template", "template label must be demo-sum-template", "demo-total-template"),
    ("template executed", "#| label: demo-sum-template\n#| eval: false\n", "#| label: demo-sum-template\n", "template must never run", "demo-sum-template"),
    ("blank executed", "#| label: demo-sum-template\n#| eval: false\n", "#| label: demo-sum-template\n", "a cell with ___ blanks is executed", "total = ___"),
    ("template without blank", "total = ___  # TODO: the sum of numbers", "total = 0", "has no ___ blank", "demo-sum-template"),
    ("template without check", 'total = ___  # TODO: the sum of numbers\ncheck("demo-sum", total)', "total = ___  # TODO: the sum of numbers", 'template must end with check("demo-sum"', "demo-sum-template"),
    ("blank without TODO", "total = ___  # TODO: the sum of numbers", "total = ___", "needs a `# TODO:` comment", "total = ___"),
    (
        "no solution",
        '::: {.callout-note .solution collapse="true" title="Solution: sum of a list"}\n```{python}\n#| label: demo-sum-solution\ntotal = sum(numbers)\ncheck("demo-sum", total)\n```\n:::\n',
        "",
        "no solution callout",
        "callout-caution",
    ),
    ("solution not executed", "#| label: demo-sum-solution\n", "#| label: demo-sum-solution\n#| eval: false\n", "solution cells must be executed", "demo-sum-solution"),
    ("solution without check", 'total = sum(numbers)\ncheck("demo-sum", total)', "total = sum(numbers)", 'solution must call check("demo-sum"', ".solution"),
    ("solution open", '.solution collapse="true"', ".solution", 'solution callout must have collapse="true"', ".solution"),
    ("solution label", "#| label: demo-sum-solution", "#| label: demo-sum-answer", "no solution cell labelled demo-sum-solution", ".solution"),
    ("solution title", 'title="Solution: sum of a list"', 'title="Answer"', "title must start with 'Solution'", ".solution"),
    ("drift", "total = sum(numbers)\ncheck", "total = sum(numbers)\nprint(total)", "does not appear in the solution", 'check("demo-sum", total)'),
    ("unknown option", "#| echo: false", "#| echo: false\n#| fig-size: 3", "unknown cell option 'fig-size'", "fig-size"),
    ("knitr option", "#| echo: false", "#| echo: false\n#| message: false", "knitr (R) engine only", "message: false"),
    ("bad boolean", "#| echo: false", "#| echo: false\n#| eval: maybe", "must be true or false", "label: fig-demo-plot"),
    ("bad YAML options", "#| echo: false", "#| echo: [false", "not valid YAML", "label: fig-demo-plot"),
    ("missing fig-cap", '#| fig-cap: "The numbers (synthetic)"\n', "", "needs a fig-cap", "label: fig-demo-plot"),
    ("missing image", "![A picture](picture.png)", "![A picture](missing.png)", "link to a missing file: missing.png", "missing.png"),
    ("missing cross-reference", "@cau-demo-sum feeds", "@fig-nothing feeds", "@fig-nothing points at nothing", "@fig-nothing"),
    ("duplicate id", "## Sums {#sec-demo-sums}", "## Sums {#sec-demo}", "id 'sec-demo' is already used", "## Sums"),
    ("unknown check id", "numbers = [1, 2, 3]", 'numbers = [1, 2, 3]\ncheck("demo-other", numbers)', "check('demo-other') names no exercise", "demo-other"),
    ("syntax error", "numbers = [1, 2, 3]", "numbers = [1, 2, 3", "Python syntax error", "numbers = [1, 2, 3"),
]


@pytest.mark.parametrize(("old", "new", "expected", "marker"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_each_rule(tmp_path: Path, old: str, new: str, expected: str, marker: str | None) -> None:
    assert old in GOOD
    bad = GOOD.replace(old, new, 1)
    if expected.startswith("must stand between"):  # the paragraph moved below the solution callout
        bad = bad.replace("\n@cau-demo-sum feeds", "\n**Expected result.** The check passes.\n\n@cau-demo-sum feeds", 1)
    errors = lint(tmp_path, bad)
    hits = [e for e in errors if expected in e.message]
    assert hits, f"expected {expected!r}; got:\n{messages(errors)}"
    assert all(e.path == "chapters/1-demo.qmd" for e in hits)
    if marker is not None:
        assert hits[0].line == line_of(bad, marker), messages(hits)


def test_order_of_parts(tmp_path: Path) -> None:
    hints = HINTS + "\n"
    template_start = GOOD.index("```{python}\n#| label: demo-sum-template")
    template_end = GOOD.index("```\n", template_start + 10) + 4
    template = GOOD[template_start:template_end]
    bad = GOOD.replace(hints, "").replace(template, template + "\n" + hints)
    errors = lint(tmp_path, bad)
    assert any("the hints must come after the exercise" in e.message or "template must come after the hints" in e.message for e in errors), messages(errors)


def test_missing_registered_check(tmp_path: Path) -> None:
    errors = lint(tmp_path, registry=set())
    assert [e.message for e in errors] == ["exercise demo-sum: no check registered in landcover.exercises"]


def test_cross_references_resolve_across_chapters(tmp_path: Path) -> None:
    errors = lint(tmp_path, index="# Welcome {.unnumbered}\n\nExercise @cau-demo-sum, figure @fig-demo-plot.\n")
    assert errors == [], messages(errors)
    errors = lint(tmp_path, index="# Welcome {.unnumbered}\n\nSee @sec-nowhere.\n")
    assert [str(e) for e in errors] == ["index.qmd:3: cross-reference @sec-nowhere points at nothing"]


def test_project_configuration(tmp_path: Path) -> None:
    root = make_book(tmp_path)
    (root / "chapters" / "2-unlisted.qmd").write_text("# Unlisted\n")
    (root / "filters" / "solutions.lua").unlink()
    text = QUARTO_YML.replace("    - chapters/1-demo.qmd\n", "    - chapters/1-demo.qmd\n    - chapters/3-gone.qmd\n")
    (root / "_quarto.yml").write_text(text)
    found = messages(lint_book(load_book(root), {"demo-sum"}))
    assert "chapters/2-unlisted.qmd:1: chapter is not listed in _quarto.yml" in found
    assert "book chapter chapters/3-gone.qmd does not exist" in found
    assert "_quarto.yml:10: file not found: filters/solutions.lua" in found


def test_template_consistency_ignores_comments_and_spacing() -> None:
    template = "x = ___  # TODO: a number\ny=x+1   # keep\nprint( y )\n"
    solution = "x = 41\n# a comment line\ny = x + 1\nprint(y)\n"
    assert template_consistency(template, solution) is None
    assert template_consistency("print(y)\ny = x + 1\n", solution) == (2, "y = x + 1")


def test_command_line_reports_file_and_line(tmp_path: Path) -> None:
    bad = GOOD.replace("#| echo: false", "#| echo: false\n#| colour: red")
    root = make_book(tmp_path, bad)
    result = subprocess.run(
        [sys.executable, "-m", "landcover.book", "--root", str(root), "lint", "--no-registry"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    line = line_of(bad, "colour: red")
    assert f"chapters/1-demo.qmd:{line}: unknown cell option 'colour'" in result.stdout
    good = make_book(tmp_path / "good")
    ok = subprocess.run(
        [sys.executable, "-m", "landcover.book", "--root", str(good), "lint", "--no-registry"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
