"""Layering: ``landcover.inference`` (the model contract) never imports ``landcover.training``.

Training builds on inference (it logs and publishes what inference loads, and
shares its forward pass); the reverse would tie every prediction to the
training code and its dependencies. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INFERENCE = Path(__file__).resolve().parents[1] / "src" / "landcover" / "inference"
FORBIDDEN = "landcover.training"


def _imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``tree``; relative imports resolved against ``package``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
            "import_module",
            "__import__",
        }:
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _is_training(module: str) -> bool:
    return module == FORBIDDEN or module.startswith(FORBIDDEN + ".")


def test_the_scanner_sees_every_form_of_import():
    source = (
        "import landcover.training.loop\n"
        "def f():\n    from landcover.training import publish\n"
        "from landcover import training\n"
        "from ..training import loop\n"
        "import importlib\nimportlib.import_module('landcover.training.io')\n"
        "from landcover.data import normalization\n"
    )
    lines = {line for line, m in _imported_modules(ast.parse(source), "landcover.inference") if _is_training(m)}
    assert lines == {1, 3, 4, 5, 7}


@pytest.mark.parametrize("path", sorted(INFERENCE.rglob("*.py")), ids=lambda p: p.name)
def test_inference_does_not_import_training(path: Path):
    package = "landcover." + ".".join(path.relative_to(INFERENCE.parent).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(), filename=str(path))
    offending = [f"line {line}: {module}" for line, module in _imported_modules(tree, package) if _is_training(module)]
    assert not offending, f"{path} imports the training package: {offending}"


def test_the_inference_package_has_modules_to_scan():
    assert {"params.py", "loading.py", "logits.py", "predict.py"} <= {p.name for p in INFERENCE.glob("*.py")}
