"""Every command and call the README shows is run here, so the README cannot drift from the project.

- Python blocks run as written, in a fresh interpreter, against the synthetic data.
- ``make`` lines: the cheap, idempotent targets (``help``, ``data``) run for real; every target
  shown resolves in a dry run (``make -n``). The long ones (``book``, ``test``, ``execute``,
  ``model``, ``bench``) are what CI and the chapter tests run themselves.
- Settings lines (``LANDCOVER_DATA_ROOT=...``) are applied and read back through the package.
- The download script it names runs (``--help``) with the project's interpreter.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import PROJECT_DIR

README = PROJECT_DIR / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def _commands(language: str = "bash") -> list[str]:
    lines = []
    for block in _blocks(language):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command:
                lines.append(command)
    return lines


def _make_targets() -> list[str]:
    return [shlex.split(c)[1] for c in _commands() if c.startswith("make ")]


def test_the_readme_starts_with_the_two_commands() -> None:
    first = _commands()[:2]
    assert first == ["make book", "make test"]


def test_every_make_target_the_readme_shows_exists_and_resolves() -> None:
    targets = _make_targets()
    assert {"book", "test", "data", "model", "notebooks", "help"} <= set(targets)
    for target in targets:
        result = subprocess.run(
            ["make", "-n", target], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"make -n {target}: {result.stderr}"


def test_make_help_lists_every_target_the_readme_shows() -> None:
    result = subprocess.run(["make", "help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert set(_make_targets()) <= listed


def test_make_data_runs_as_the_readme_says(synthetic_dir: Path) -> None:
    if synthetic_dir.resolve() != (PROJECT_DIR / "data" / "synthetic").resolve():
        pytest.skip("the tests use synthetic data generated elsewhere; make data writes data/synthetic")
    result = subprocess.run(["make", "data"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "synthetic data complete, nothing to do" in result.stdout


def test_the_readme_python_example_runs_and_its_check_passes(synthetic_dir: Path) -> None:
    (code,) = _blocks("python")
    env = {**os.environ, "LANDCOVER_DATA_ROOT": str(synthetic_dir), "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "correct" in result.stdout and "incorrect" not in result.stdout, result.stdout


@pytest.mark.parametrize("line", [c for c in _commands() if c.startswith("LANDCOVER_DATA_ROOT=")])
def test_the_data_root_settings_the_readme_shows_are_honoured(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from landcover.config import data_root

    value = line.split("=", 1)[1]
    monkeypatch.setenv("LANDCOVER_DATA_ROOT", value)
    assert data_root() == value.rstrip("/")


def test_the_readme_names_the_real_bucket_of_the_package() -> None:
    from landcover.config import REAL_BUCKET_HTTPS, REAL_BUCKET_S3

    text = README.read_text(encoding="utf-8")
    assert REAL_BUCKET_HTTPS in text and REAL_BUCKET_S3 in text


def test_the_download_script_the_readme_names_runs() -> None:
    mentioned = re.findall(r"uv run (final_solution/\S+\.py) (--\w+)", README.read_text(encoding="utf-8"))
    assert mentioned, "the README shows how to run the download script"
    for script, flag in mentioned:
        # `uv run` would resolve the script's PEP 723 dependencies (torch among them) from an
        # index; the project's interpreter already has them, so it runs the same file here.
        result = subprocess.run(
            [sys.executable, script, flag], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
