"""``python -m landcover.api``: serve the land-cover API with uvicorn until stopped (Ctrl+C).

Options override the environment variables of :mod:`landcover.api.settings`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from landcover.api.settings import ApiSettings


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options (each defaults to its environment variable)."""
    parser = argparse.ArgumentParser(prog="python -m landcover.api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="address to listen on (API_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (API_PORT, default 8000)")
    parser.add_argument("--data-root", help="data root: folder, https:// or s3:// (LANDCOVER_DATA_ROOT)")
    parser.add_argument("--model", help="model: models:/name/version, a model folder or a data root (LANDCOVER_MODEL)")
    parser.add_argument("--store", help="prediction store: folder or s3:// prefix (LANDCOVER_PREDICTION_STORE)")
    parser.add_argument("--workers", type=int, help="prediction threads (API_PREDICTION_WORKERS, default 2)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; returns the exit status (2 for unusable settings)."""
    import uvicorn

    from landcover.api.app import create_app

    args = parse_args(argv)
    try:
        settings = ApiSettings.from_env(
            host=args.host, port=args.port, data_root=args.data_root, model=args.model,
            prediction_store=args.store, prediction_workers=args.workers,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # uvicorn's own logging set-up (dictConfig) is skipped, as for every server the package starts
    # from Python; one plain handler on the root logger shows its messages instead.
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    print(f"land-cover API on http://{settings.host}:{settings.port} (docs at /docs); "
          f"data root {settings.data_root}", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                log_level=args.log_level, timeout_graceful_shutdown=10,
                # Idle keep-alive connections stay open longer than a proxy's (nginx: 60 s), so a
                # client never reuses a connection the server is closing (uvicorn's default is 5 s).
                timeout_keep_alive=75)
    return 0


if __name__ == "__main__":
    sys.exit(main())
