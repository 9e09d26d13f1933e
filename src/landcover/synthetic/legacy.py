"""Adopt synthetic data written under the project's former folder name, ``data/sample``.

Earlier editions of the book called the generated dataset "the sample" and
wrote it to ``data/sample`` with a ``.sample-complete.json`` marker. Chapter 4
uses "sample" for statistical samples only, so the folder is now
``data/synthetic``. A reader who already has the old folder keeps it: it is
moved (a rename, so nothing is copied and nothing is half-written), its marker
renamed, and the generator then checks it as usual, regenerating whatever no
longer matches.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from landcover.synthetic.manifest import MANIFEST_NAME
from landcover.synthetic.writer import write_json

#: The folder name and completion marker of earlier editions.
LEGACY_FOLDER_NAME = "sample"
LEGACY_MARKER = ".sample-complete.json"
#: The generator name recorded in markers of earlier editions.
LEGACY_GENERATOR = "landcover.sample"


def adopt_legacy_folder(root: str | os.PathLike[str], legacy: str | os.PathLike[str]) -> bool:
    """Move complete synthetic data from ``legacy`` (the old ``data/sample``) to ``root``.

    Does nothing (returns False) when ``root`` already exists or ``legacy``
    holds no marker of an earlier edition; otherwise renames the folder,
    rewrites the marker under its new name and returns True.
    """
    root, legacy = Path(root), Path(legacy)
    old_marker = legacy / LEGACY_MARKER
    if root.exists() or not old_marker.is_file():
        return False
    legacy.rename(root)
    marker = root / LEGACY_MARKER
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        content = None
    if isinstance(content, dict):
        if content.get("generator") == LEGACY_GENERATOR:
            content["generator"] = "landcover.synthetic"
        write_json(root / MANIFEST_NAME, content)
    marker.unlink()
    return True
