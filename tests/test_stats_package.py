"""The public face of landcover.stats: what it exports and how its docstring maps chapter 4."""

from __future__ import annotations

import inspect

import landcover.stats as stats


def test_every_exported_name_exists_and_is_documented() -> None:
    for name in stats.__all__:
        value = getattr(stats, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_the_package_docstring_names_every_public_function() -> None:
    functions = [name for name in stats.__all__ if inspect.isfunction(getattr(stats, name))]
    missing = [name for name in functions if f":func:`{name}`" not in stats.__doc__]
    assert not missing, f"add {missing} to the chapter map in landcover/stats/__init__.py"


def test_the_statistics_do_not_need_torch() -> None:
    import subprocess
    import sys

    code = "import sys, landcover.stats; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
