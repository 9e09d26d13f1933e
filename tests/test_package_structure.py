"""The package's shape: lower layers never import higher ones, and the public API is documented.

The layers, from the bottom: settings; the error types; project-wide foundations (file
access, band and class tables); data access; what builds on data (plots, source APIs, the
synthetic generator); maps, the region download, inference; training; the chapters'
exercises; the book machinery. A module may import from lower layers and from its own
unit only. Later units (stats, api, app) slot in where the issues place them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_DIR

PACKAGE = PROJECT_DIR / "src" / "landcover"

LAYERS: list[set[str]] = [
    {"config"},
    {"errors"},
    {"storage", "bands", "classes"},
    {"data", "clouds"},
    {"viz", "sources", "synthetic"},
    {"webmaps", "download", "inference"},
    {"training"},
    {"stats"},
    {"api", "app"},
    {"exercises"},
    {"book"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports() -> list[tuple[str, str, str]]:
    """``(file, importing unit, imported unit)`` for every import of another unit of the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        unit = _unit(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "landcover":
                    names = [f"landcover.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("landcover.") and _unit(name) != unit:
                    found.append((str(path.relative_to(PROJECT_DIR)), unit, _unit(name)))
    return found


def test_every_unit_of_the_package_has_a_layer() -> None:
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith("_")}
    units = {u for u in units if (PACKAGE / u).is_dir() or (PACKAGE / f"{u}.py").is_file()}
    units -= {"py"}  # py.typed
    missing = sorted(u for u in units if u not in RANK)
    assert not missing, f"add {missing} to LAYERS in {Path(__file__).name}"


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = sorted(
        f"{file}: {unit} imports {imported}"
        for file, unit, imported in _imports()
        if unit and RANK.get(imported, -1) >= RANK[unit]
    )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_package_root_imports_only_the_settings() -> None:
    assert {imported for _, unit, imported in _imports() if unit == ""} <= {"config"}


def test_docstrings_and_types_of_the_package_pass_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "src"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
