"""Wall time of each chapter executed in a Jupyter kernel, as `make book` runs it, against its budget.

Each chapter runs once through the book harness (offline, on the synthetic
data, solutions only, no HTML), with MLflow pointed at a throwaway store so
the project's own store is left alone. The time is the kernel's execution of
the cells, kernel start-up included. Budgets come from the issues: chapter 2
must run in at most 4 minutes on the 2-core machine.

Usage: ``.venv/bin/python benchmarks/bench_chapters.py [--chapter 2-training ...]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Seconds each chapter may take on the 2-core machine (None: no budget set).
BUDGETS_S: dict[str, float | None] = {"2-training": 240.0, "3-inference": 180.0, "4-statistics": 240.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", default=None, help="chapter name (repeatable; default: all)")
    args = parser.parse_args()

    from landcover.book.execute import executable_documents, run_chapter
    from landcover.book.project import load_book
    from landcover.config import data_root

    book = load_book(ROOT)
    documents = executable_documents(book, args.chapter)
    print(f"data root {data_root()}, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    over_budget = False
    with tempfile.TemporaryDirectory(prefix="bench-chapters-") as scratch:
        env = {"LANDCOVER_ONLINE": "0", "MLFLOW_TRACKING_URI": f"sqlite:///{scratch}/mlflow.db"}
        for doc in documents:
            run = run_chapter(doc, book, Path(scratch) / "out", offline=True, html=False, progress=False, env=env)
            budget = BUDGETS_S.get(doc.name)
            verdict = "" if budget is None else (" within" if run.seconds <= budget else " OVER") + f" budget {budget:.0f} s"
            status = "ok" if run.ok else f"FAILED: {run.failure}"
            print(f"{doc.name:<28} {run.seconds:7.1f} s{verdict}  {status}")
            over_budget |= not run.ok or (budget is not None and run.seconds > budget)
    return 1 if over_budget else 0


if __name__ == "__main__":
    sys.exit(main())
