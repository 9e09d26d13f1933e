"""The synthetic sample dataset: a small landscape simulator writing the real bucket's layout.

``python -m landcover.sample --out data/sample`` (what ``make data`` runs)
writes Sentinel-2-like tiles, CLC+-like labels and the index files for four
NUTS3 regions (LU000, BE100, AT332, PT16I) and three years, deterministically.
Everything it writes is marked SYNTHETIC.

>>> from landcover.sample import generate_sample, validate_sample, SMALL_REGIONS
>>> report = generate_sample("/tmp/tiny", regions=SMALL_REGIONS, progress=False)  # doctest: +SKIP
>>> validate_sample("/tmp/tiny")                                                   # doctest: +SKIP
[]
"""

import os
from collections.abc import Sequence

from landcover.sample.generator import GenerationReport, SampleError, generate_sample
from landcover.sample.manifest import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    SampleStatus,
    config_key,
    read_manifest,
    sample_status,
    validate_sample,
)
from landcover.sample.noise import SEED
from landcover.sample.regions import (
    LABEL_YEARS,
    MOSAIC_REGIONS,
    SAMPLE_REGIONS,
    SMALL_REGIONS,
    YEARS,
    Cell,
    SampleRegion,
    Window,
    region_by_id,
)


def is_sample_complete(root: str | os.PathLike, regions: Sequence[SampleRegion] = SAMPLE_REGIONS) -> bool:
    """True when ``root`` holds a complete sample of this generator version for ``regions``."""
    return sample_status(root, config_key(tuple(regions), SEED)).complete


__all__ = [
    "GENERATOR_VERSION",
    "LABEL_YEARS",
    "MANIFEST_NAME",
    "MOSAIC_REGIONS",
    "SAMPLE_REGIONS",
    "SEED",
    "SMALL_REGIONS",
    "YEARS",
    "Cell",
    "GenerationReport",
    "SampleError",
    "SampleRegion",
    "SampleStatus",
    "Window",
    "config_key",
    "generate_sample",
    "is_sample_complete",
    "read_manifest",
    "region_by_id",
    "sample_status",
    "validate_sample",
]
