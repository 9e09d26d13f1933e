"""Tooling for the Quarto book: parse, lint, derive notebooks and scripts, execute.

It parses the chapters, lints them, derives the participant notebooks and
``final_solution/`` scripts, and executes the book in a Jupyter kernel when no
Quarto binary is available.

Entry point: ``python -m landcover.book {lint,derive,build}`` (see ``--help``).
"""

from pathlib import Path

#: Resources the Quarto project references from ``_quarto.yml``.
PACKAGE_DIR = Path(__file__).resolve().parent
SOLUTIONS_FILTER = PACKAGE_DIR / "filters" / "solutions.lua"
SOLUTIONS_TOGGLE = PACKAGE_DIR / "includes" / "solutions-toggle.html"
