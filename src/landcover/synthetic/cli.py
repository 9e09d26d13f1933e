"""Command line: ``python -m landcover.synthetic --out data/synthetic [--force] [--workers N]``.

Exits at once when complete synthetic data of this generator version is already
there; ``--force`` regenerates; ``--check`` only validates an existing folder.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from landcover.config import default_synthetic_root


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m landcover.synthetic`` (``--out``, ``--force``, ``--workers``, ``--quiet``, ``--check``)."""
    parser = argparse.ArgumentParser(
        prog="python -m landcover.synthetic",
        description="Generate the SYNTHETIC dataset (Sentinel-2-like tiles, CLC+-like labels) "
        "in the layout of the real bucket.",
    )
    parser.add_argument("--out", default=str(default_synthetic_root()),
                        help="output folder (default: %(default)s)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="regenerate even if the synthetic data is complete")
    parser.add_argument(
        "--workers", type=_positive, default=2, help="worker processes (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--layout", choices=("compact", "bucket"), default="compact",
        help="how tiles are stored: compact (small, compressed strips) or bucket (as the real bucket: "
        "pixel-interleaved, uncompressed, one-row strips; about 7 MB a tile). Default: %(default)s",
    )
    parser.add_argument(
        "--check", action="store_true", help="only validate the folder against the data contract"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    from landcover.synthetic.generator import SyntheticDataError, generate_synthetic
    from landcover.synthetic.legacy import LEGACY_FOLDER_NAME, adopt_legacy_folder
    from landcover.synthetic.manifest import validate_synthetic

    default = default_synthetic_root()
    if Path(args.out).resolve() == default.resolve():
        legacy = default.with_name(LEGACY_FOLDER_NAME)
        if adopt_legacy_folder(default, legacy):
            print(f"moved the synthetic data of an earlier edition from {legacy} to {default}")

    if args.check:
        problems = validate_synthetic(args.out)
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        print(f"{args.out}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
        return 0 if not problems else 1
    try:
        report = generate_synthetic(
            args.out, workers=args.workers, force=args.force, progress=not args.quiet, layout=args.layout
        )
    except SyntheticDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report.skipped:
        print(f"{report.root}: {report.reason}")
        return 0
    print(
        f"{report.root}: wrote {len(report.files)} files ({report.n_tiles} tile locations x 3 years), "
        f"{report.total_bytes / 1e6:.1f} MB in {report.seconds:.1f} s. SYNTHETIC data (see README.md)."
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
