r"""The region download's command line: ``landcover-download-region`` (and ``final_solution/download_region.py``).

It builds the Sentinel-2 tiles and CLC+ labels of one NUTS3 region and year in
the layout of the book's bucket::

    {output}/images/{NUTS3}/{year}/{xmin}_{ymin}_0_{id}.tif   14 bands, EPSG:3035, 10 m, 250 x 250
    {output}/images/{NUTS3}/{year}/filename2bbox.parquet
    {output}/images/{NUTS3}/{year}/metrics-normalization.yaml
    {output}/labels/{NUTS3}/{year}/{xmin}_{ymin}_0_{id}.npy   uint8 CLC+ classes (2018, 2021, 2023)

``output`` is a local folder or ``s3://bucket/prefix`` (credentials from the
``AWS_*`` variables). Sentinel-2 bands are read from the CDSE EO S3 archive,
with keys from https://eodata-s3keysmanager.dataspace.copernicus.eu/ given as
``EODATA_S3_ACCESS_KEY_ID`` / ``EODATA_S3_SECRET_ACCESS_KEY`` (or the options).
Run it again after an interruption: valid tiles are kept, the rest is rebuilt.

Examples::

    landcover-download-region --online --nuts BE100 --year 2024 --output data/mine
    uv run final_solution/download_region.py --online --nuts LU000 --year 2021 \
        --output s3://my-bucket/landcover --origin 4012000 3016690 --ncols 25

The work is done by :func:`landcover.download.region.build_region`; this module
only turns arguments into a :class:`~landcover.download.region.RegionRequest`
and errors into one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from landcover.config import ONLINE_VARIABLE
from landcover.download.products import ENV_EODATA_ENDPOINT, EODATA_ENDPOINT, eodata_filesystem
from landcover.download.region import RegionRequest, build_region, check_year
from landcover.errors import DataFileError, OnlineAccessDisabled, RegionNotFoundError
from landcover.sources.clcplus import CLCPLUS_BASE_URL
from landcover.sources.http import ServiceError
from landcover.sources.odata import ODATA_CATALOGUE_URL

#: The command's name, as installed by ``pip install -e .`` (``[project.scripts]``).
PROG = "landcover-download-region"

#: Exit codes: 0 done, 1 nothing could be built, 2 bad arguments or refused access, 130 interrupted.
EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Errors that mean "fix the command or the setup", printed as one line instead of a traceback.
#: ``ConnectionError`` is the NUTS download's (:func:`landcover.data.regions.read_nuts`),
#: ``ServiceError`` an HTTP error answer of the catalogue or the CLC+ service.
USAGE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    RegionNotFoundError,
    DataFileError,
    OnlineAccessDisabled,
    FileNotFoundError,
    PermissionError,
    ConnectionError,
    ServiceError,
)


def _label_year(text: str) -> int | None | str:
    """``--label-year``: a year, ``"auto"`` or ``None`` (from 'none', 'no' or 'off')."""
    lowered = text.strip().lower()
    if lowered == "auto":
        return "auto"
    if lowered in ("none", "no", "off"):
        return None
    try:
        return int(lowered)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--label-year {text!r}: expected a year, 'auto' or 'none'"
        ) from None


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name shown in its usage line."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Build the Sentinel-2 tiles (EPSG:3035, 2.5 km, 14 bands) and CLC+ labels of a NUTS3 "
        "region for one year, in the book's bucket layout.",
    )
    parser.add_argument("--nuts", required=True, help="NUTS3 code, e.g. LU000")
    parser.add_argument("--year", required=True, type=int, help="year of the Sentinel-2 acquisitions")
    parser.add_argument("--output", required=True, help="local folder or s3://bucket/prefix (the data root)")
    parser.add_argument("--start", help="first acquisition day, YYYY-MM-DD (default: June 1st of the year)")
    parser.add_argument("--end", help="last acquisition day, YYYY-MM-DD (default: August 31st of the year)")
    parser.add_argument(
        "--max-cloud",
        type=float,
        default=20.0,
        help="keep products below this cloud cover, in %% (default: %(default)s)",
    )
    parser.add_argument(
        "--max-products", type=int, help="read at most this many products (least cloudy first)"
    )
    parser.add_argument(
        "--origin",
        type=float,
        nargs=2,
        metavar=("X0", "TOP"),
        help="grid origin in EPSG:3035 metres (default: the region's bounds snapped to 10 m)",
    )
    parser.add_argument(
        "--ncols", type=int, help="grid columns used in tile ids (default: enough for the region)"
    )
    parser.add_argument(
        "--label-year",
        type=_label_year,
        default="auto",
        help="CLC+ year for the labels: a year, 'auto' (default: the same year if CLC+ has it) or 'none'",
    )
    parser.add_argument("--nuts-source", help="NUTS3 GeoJSON: URL or file (default: Eurostat GISCO)")
    parser.add_argument(
        "--catalogue-url",
        default=ODATA_CATALOGUE_URL,
        help="CDSE OData catalogue root (default: %(default)s)",
    )
    parser.add_argument(
        "--clcplus-url",
        default=CLCPLUS_BASE_URL,
        help="root of the EEA ArcGIS services (default: %(default)s)",
    )
    parser.add_argument(
        "--eo-endpoint",
        default=os.environ.get(ENV_EODATA_ENDPOINT) or EODATA_ENDPOINT,
        help="CDSE EO S3 endpoint (default: $EODATA_S3_ENDPOINT or %(default)s)",
    )
    parser.add_argument("--eo-key", help="EO S3 access key (default: $EODATA_S3_ACCESS_KEY_ID)")
    parser.add_argument("--eo-secret", help="EO S3 secret key (default: $EODATA_S3_SECRET_ACCESS_KEY)")
    parser.add_argument("--workdir", help="folder for the temporary copy of each product's bands")
    parser.add_argument(
        "--online",
        action="store_true",
        help=f"allow internet services for this run (same as {ONLINE_VARIABLE}=1)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the command with ``argv`` (default: the process's arguments); return its exit code.

    ``--online`` sets ``LANDCOVER_ONLINE=1`` for this run only: the caller's
    setting is restored afterwards, so ``main`` can also be called from Python.
    """
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s"
    )
    previous = os.environ.get(ONLINE_VARIABLE)
    if args.online:
        os.environ[ONLINE_VARIABLE] = "1"
    try:
        return _run(args)
    finally:
        if previous is None:
            os.environ.pop(ONLINE_VARIABLE, None)
        else:
            os.environ[ONLINE_VARIABLE] = previous


def _request(args: argparse.Namespace) -> RegionRequest:
    """The pipeline's request from the parsed options."""
    return RegionRequest(
        nuts_id=args.nuts,
        year=check_year(args.year),
        output=args.output,
        start=args.start,
        end=args.end,
        max_cloud=args.max_cloud,
        origin=tuple(args.origin) if args.origin else None,
        ncols=args.ncols,
        nuts_source=args.nuts_source,
        label_year=args.label_year,
        catalogue_url=args.catalogue_url,
        clcplus_url=args.clcplus_url,
        max_products=args.max_products,
        progress=not args.quiet,
    )


def _run(args: argparse.Namespace) -> int:
    """Build the region, print its summary, and map the outcome to an exit code."""
    try:
        report = build_region(
            _request(args),
            eodata_fs=lambda: eodata_filesystem(args.eo_key, args.eo_secret, args.eo_endpoint),
            workdir=args.workdir,
        )
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USAGE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(report.summary())
    if report.images_written + report.images_kept == 0:
        print("error: no tile could be built (no product covers a whole tile)", file=sys.stderr)
        return EXIT_NOTHING
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
