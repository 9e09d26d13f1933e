"""The synthetic dataset: a small landscape simulator writing the real bucket's layout.

``python -m landcover.synthetic --out data/synthetic`` (what ``make data`` runs)
writes Sentinel-2-like tiles, CLC+-like labels and the index files for four
NUTS3 regions (LU000, BE100, AT332, PT16I) and three years, deterministically.
Everything it writes is marked SYNTHETIC.

>>> from landcover.synthetic import generate_synthetic, validate_synthetic, SMALL_REGIONS
>>> report = generate_synthetic("/tmp/tiny", regions=SMALL_REGIONS, progress=False)  # doctest: +SKIP
>>> validate_synthetic("/tmp/tiny")                                                   # doctest: +SKIP
[]
"""

import os
from collections.abc import Sequence

from landcover.synthetic.generator import GenerationReport, SyntheticDataError, generate_synthetic
from landcover.synthetic.manifest import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    SyntheticStatus,
    config_key,
    read_manifest,
    synthetic_status,
    validate_synthetic,
)
from landcover.synthetic.noise import SEED
from landcover.synthetic.regions import (
    LABEL_YEARS,
    MOSAIC_REGIONS,
    SMALL_REGIONS,
    SYNTHETIC_REGIONS,
    YEARS,
    Cell,
    SyntheticRegion,
    Window,
    region_by_id,
)


def is_synthetic_complete(root: str | os.PathLike, regions: Sequence[SyntheticRegion] = SYNTHETIC_REGIONS) -> bool:
    """True when ``root`` holds complete synthetic data of this generator version for ``regions``."""
    return synthetic_status(root, config_key(tuple(regions), SEED)).complete


__all__ = [
    "GENERATOR_VERSION",
    "LABEL_YEARS",
    "MANIFEST_NAME",
    "MOSAIC_REGIONS",
    "SYNTHETIC_REGIONS",
    "SEED",
    "SMALL_REGIONS",
    "YEARS",
    "Cell",
    "GenerationReport",
    "SyntheticDataError",
    "SyntheticRegion",
    "SyntheticStatus",
    "Window",
    "config_key",
    "generate_synthetic",
    "is_synthetic_complete",
    "read_manifest",
    "region_by_id",
    "synthetic_status",
    "validate_synthetic",
]
