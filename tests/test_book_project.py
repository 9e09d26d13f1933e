"""The Quarto project and the GitHub workflows are wired as the book needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from landcover.book.project import load_book

ROOT = Path(__file__).resolve().parents[1]


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def steps(flow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


def test_book_configuration() -> None:
    book = load_book(ROOT)
    assert [p.relative_to(ROOT).as_posix() for p in book.sources] == [
        "index.qmd",
        "chapters/1-acquisition.qmd",
        "chapters/2-training.qmd",
        "chapters/3-inference.qmd",
        "chapters/4-statistics.qmd",
        "chapters/5-production.qmd",
        "chapters/appendix-source-apis.qmd",
    ]
    html = book.config["format"]["html"]
    assert html["toc"] and html["number-sections"] and html["code-copy"]
    assert set(html["theme"]) == {"light", "dark"}
    assert book.config["book"]["search"] is True
    assert book.config["book"]["repo-actions"] == ["edit", "issue"]
    assert book.config["language"]["crossref-cau-title"] == "Exercise"
    outputs = {"self-study": None, "workshop": "_book/workshop", "instructor": "_book/instructor"}
    for profile, output in outputs.items():
        overlay = yaml.safe_load((ROOT / f"_quarto-{profile}.yml").read_text(encoding="utf-8"))
        assert (overlay.get("project") or {}).get("output-dir") == output
    assert book.config["profile"]["group"] == [["self-study", "workshop", "instructor"]]


def test_every_chapter_opens_by_saying_what_it_covers() -> None:
    book = load_book(ROOT)
    chapters = [doc for doc in book.chapters if doc.path.resolve() not in book.appendices]
    assert len(chapters) == 5
    for doc in chapters:
        callouts = [div for div in doc.divs if div.title == "In this chapter"]
        assert len(callouts) == 1, doc.path
        assert doc.headings[0].level == 1, doc.path


def test_publish_workflow_renders_each_profile_and_publishes() -> None:
    flow = workflow("publish.yml")
    assert flow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
    found = steps(flow)
    uses = [step.get("uses", "") for step in found]
    assert "quarto-dev/quarto-actions/setup@v2" in uses
    assert "quarto-dev/quarto-actions/publish@v2" in uses
    runs = " ".join(step.get("run", "") for step in found)
    assert "make setup data model" in runs
    renders = [step for step in found if step.get("uses", "").startswith("quarto-dev/quarto-actions/render")]
    assert [step["env"]["QUARTO_PROFILE"] for step in renders] == ["self-study", "workshop", "instructor"]
    publish = next(step for step in found if step.get("uses", "").endswith("publish@v2"))
    assert publish["with"] == {"target": "gh-pages", "render": "false"}
    assert any(step.get("uses", "").startswith("actions/cache") and step["with"]["path"] == "_freeze" for step in found)


def test_check_workflow_tests_and_executes_the_book() -> None:
    flow = workflow("check.yml")
    assert "pull_request" in flow[True]
    runs = [step.get("run", "") for step in steps(flow)]
    assert "make test" in runs and "make execute" in runs
    assert runs.index("make test") < runs.index("make execute")
