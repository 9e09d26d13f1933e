#!/usr/bin/env -S uv run --script
# The one hand-written file of final_solution/: every other script here is derived from a
# chapter by `make notebooks`. This one exists so that readers can run the region download
# on its own with `uv run final_solution/download_region.py ...`: uv reads the metadata
# below and installs the package from this repository. The command itself lives in the
# package (landcover.download.cli), also installed as `landcover-download-region`.
#
# /// script
# requires-python = ">=3.11"
# dependencies = ["landcover"]
#
# [tool.uv.sources]
# landcover = { path = "..", editable = true }
# ///
r"""Build the Sentinel-2 tiles and CLC+ labels of one NUTS3 region and year; see ``--help``.

Example::

    uv run final_solution/download_region.py --online --nuts LU000 --year 2021 \
        --output s3://my-bucket/landcover --origin 4012000 3016690 --ncols 25
"""

import sys

from landcover.download.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="download_region.py"))
