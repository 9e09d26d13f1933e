"""The solutions filter (src/landcover/book/filters/solutions.lua), run by pandoc.

For each profile's setting, on a sample document and on chapter 1, assert what
stays (exercise, hints, template, check), what collapses and what disappears.
The Quarto code path (callout custom nodes) is exercised with `pandoc lua`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from landcover.book import SOLUTIONS_FILTER, SOLUTIONS_TOGGLE
from landcover.book.qmd import (
    Cell,
    DivClose,
    DivOpen,
    Fence,
    Heading,
    QmdDocument,
    Text,
    parse_file,
    parse_text,
)

pypandoc = pytest.importorskip("pypandoc")
PANDOC = pypandoc.get_pandoc_path()
ROOT = Path(__file__).resolve().parents[1]

PROFILES = {"self-study": "collapsed", "workshop": "hidden", "instructor": "expanded"}

SAMPLE = '''\
# Sample chapter

::: {.callout-caution #cau-demo-sum title="Sum of a list"}
**Goal.** Add numbers.

**Steps.**

1. Call `sum`.
:::

::: {.callout-tip collapse="true" title="Hints"}
- `sum` takes a list.
:::

```{python}
#| label: demo-sum-template
#| eval: false
total = ___  # TODO: the sum of the list
check("demo-sum", total)
```

::: {.callout-note .solution collapse="true" title="Solution: sum of a list"}
```{python}
#| label: demo-sum-solution
total = sum([1, 2, 3])
check("demo-sum", total)
```
:::

Afterwards, `total` is used again.
'''


def quarto_markdown(doc: QmdDocument) -> str:
    """The markdown Quarto hands to pandoc after execution: each cell becomes a
    ``.cell`` div holding its code block (outputs are not needed here)."""
    lines: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Text):
            lines.extend(block.lines)
        elif isinstance(block, Fence):
            lines.extend(block.lines)
        elif isinstance(block, Heading):
            lines.append(doc.text.split("\n")[block.line - 1])
        elif isinstance(block, DivOpen):
            lines.append(doc.text.split("\n")[block.div.line - 1])
        elif isinstance(block, DivClose):
            lines.append(":::")
        elif isinstance(block, Cell):
            label = f" #{block.label}" if block.label and block.lang == "python" else ""
            lines += ["", f"::: {{.cell{label}}}", f"``` {{.{block.lang} .cell-code}}", block.source, "```", ":::", ""]
        lines.append("")
    return "\n".join(lines)


def run_filter(markdown: str, mode: str | None, env: dict[str, str] | None = None) -> dict[str, Any]:
    command = [PANDOC, "-f", "markdown", "-t", "json", "--lua-filter", str(SOLUTIONS_FILTER)]
    if mode is not None:
        command += ["-M", f"solutions={mode}"]
    result = subprocess.run(command, input=markdown, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "t" in node:
            yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def divs(ast: dict[str, Any]) -> list[tuple[str, list[str], dict[str, str]]]:
    found = []
    for node in walk(ast["blocks"]):
        if node["t"] == "Div":
            identifier, classes, attributes = node["c"][0]
            found.append((identifier, classes, dict(attributes)))
    return found


def code_blocks(ast: dict[str, Any]) -> list[str]:
    return [node["c"][1] for node in walk(ast["blocks"]) if node["t"] == "CodeBlock"]


def solution_divs(ast: dict[str, Any]) -> list[dict[str, str]]:
    return [attrs for _, classes, attrs in divs(ast) if "solution" in classes]


@pytest.mark.parametrize("profile", PROFILES)
def test_sample_document_per_profile(profile: str) -> None:
    mode = PROFILES[profile]
    ast = run_filter(quarto_markdown(parse_text(SAMPLE, "sample.qmd")), mode)
    found = divs(ast)
    # Exercise, hints and template stay in every profile.
    assert any(identifier == "cau-demo-sum" for identifier, _, _ in found)
    hints = [attrs for _, classes, attrs in found if "callout-tip" in classes]
    assert hints == [{"collapse": "true", "title": "Hints"}]
    codes = code_blocks(ast)
    assert any("total = ___" in code and 'check("demo-sum", total)' in code for code in codes)
    solutions = solution_divs(ast)
    has_solution_code = any("sum([1, 2, 3])" in code for code in codes)
    if mode == "hidden":
        assert solutions == [] and not has_solution_code
    else:
        assert has_solution_code
        assert [s["collapse"] for s in solutions] == ["true" if mode == "collapsed" else "false"]
    assert any(
        node["t"] == "Str" and node["c"] == "Afterwards," for node in walk(ast["blocks"])
    ), "text after the solution must stay"


@pytest.mark.parametrize("profile", PROFILES)
def test_chapter_one_per_profile(profile: str) -> None:
    mode = PROFILES[profile]
    doc = parse_file(ROOT / "chapters" / "1-acquisition.qmd")
    ast = run_filter(quarto_markdown(doc), mode)
    codes = code_blocks(ast)
    templates = [code for code in codes if "___  # TODO" in code]
    assert len(templates) == sum(1 for c in doc.cells if c.label.endswith("-template"))
    assert any(identifier.startswith("cau-") for identifier, _, _ in divs(ast))
    solution_code = [c.source.strip() for c in doc.cells if c.in_solution]
    assert solution_code, "chapter 1 has solutions"
    shown = [code for code in codes if code.strip() in solution_code]
    if mode == "hidden":
        assert solution_divs(ast) == [] and shown == []
    else:
        assert len(shown) == len(solution_code)
        expected = "true" if mode == "collapsed" else "false"
        assert {s["collapse"] for s in solution_divs(ast)} == {expected}
    # The figure drawn after the exercise stays whatever the profile.
    assert any(identifier == "fig-acq-rgb" for identifier, _, _ in divs(ast))


def test_default_without_metadata_is_collapsed() -> None:
    ast = run_filter(quarto_markdown(parse_text(SAMPLE, "sample.qmd")), None, env={"PATH": "/usr/bin:/bin"})
    assert [s["collapse"] for s in solution_divs(ast)] == ["true"]


def test_profile_environment_is_a_fallback() -> None:
    ast = run_filter(
        quarto_markdown(parse_text(SAMPLE, "sample.qmd")), None, env={"PATH": "/usr/bin:/bin", "QUARTO_PROFILE": "workshop"}
    )
    assert solution_divs(ast) == []


def test_unknown_mode_is_an_error() -> None:
    command = [PANDOC, "-f", "markdown", "-t", "json", "--lua-filter", str(SOLUTIONS_FILTER), "-M", "solutions=folded"]
    result = subprocess.run(command, input=SAMPLE, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "collapsed, hidden or expanded" in result.stderr


LUA_CALLOUT_PROBE = r'''
local filters = dofile(arg[1])
local meta_filter, node_filter = filters[1], filters[2]
for _, mode in ipairs({"collapsed", "hidden", "expanded"}) do
  meta_filter.Meta({solutions = pandoc.MetaString(mode)})
  local solution = {attr = pandoc.Attr("", {"solution"}), collapse = "true", content = pandoc.Blocks({})}
  local other = {attr = pandoc.Attr("cau-x", {}), collapse = nil, content = pandoc.Blocks({})}
  local result = node_filter.Callout(solution)
  local untouched = node_filter.Callout(other)
  local shown
  if pandoc.utils.type(result) == "Blocks" then shown = "removed" else shown = tostring(result.collapse) end
  print(mode .. " " .. shown .. " " .. tostring(untouched))
end
'''


def test_quarto_callout_nodes(tmp_path: Path) -> None:
    """Quarto >= 1.3 hands callouts to filters as custom nodes: the Callout handler."""
    probe = tmp_path / "probe.lua"
    probe.write_text(LUA_CALLOUT_PROBE, encoding="utf-8")
    result = subprocess.run([PANDOC, "lua", str(probe), str(SOLUTIONS_FILTER)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["collapsed true nil", "hidden removed nil", "expanded false nil"]


def test_project_uses_the_filter_and_the_toggle() -> None:
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert "src/landcover/book/filters/solutions.lua" in config["filters"]
    assert (ROOT / config["filters"][0]).resolve() == SOLUTIONS_FILTER
    includes = config["format"]["html"]["include-after-body"]
    assert (ROOT / includes[0]).resolve() == SOLUTIONS_TOGGLE
    assert config["profile"]["default"] == "self-study"
    assert config["project"]["execute-dir"] == "project"
    assert config["execute"]["freeze"] == "auto"
    for profile, mode in PROFILES.items():
        overlay = yaml.safe_load((ROOT / f"_quarto-{profile}.yml").read_text(encoding="utf-8"))
        assert overlay["solutions"] == mode
    html = SOLUTIONS_TOGGLE.read_text(encoding="utf-8")
    # The toggle drives Quarto's collapse markup: .callout.solution > .callout-collapse.
    assert ".callout.solution" in html and ".callout-collapse" in html and "bootstrap.Collapse" in html
