"""``/predict_nuts`` on the largest synthetic region: cold (empty prediction store) and warm (cached).

Starts the API as its own uvicorn process (``python -m landcover.api``) on
127.0.0.1 with the synthetic data and the real pre-trained model, and an
empty prediction store in a temporary folder. The region is the region-year
with the most tiles in the tile indexes. Figures:

- cold: first request; every tile is predicted and stored, then polygonised;
- warm: the same request again (the server keeps finished region answers);
- from store: the same request to a freshly started server on the same
  store (no tile predicted, polygons rebuilt).

Targets on the 2-core machine: cold <= 30 s, warm <= 0.3 s.

Usage: ``.venv/bin/python benchmarks/bench_api.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

TARGET_COLD_S = 30.0
TARGET_WARM_S = 0.3
START_TIMEOUT_S = 180.0


def largest_region(root: str) -> tuple[str, int, int]:
    """``(nuts, year, tiles)`` of the region-year whose tile index lists the most tiles (latest year on ties)."""
    from landcover.data.regions import available_years, list_regions
    from landcover.data.tile_index import load_tile_index

    sizes = [(len(load_tile_index(nuts, year, root)), year, nuts)
             for nuts in list_regions(root) for year in available_years(nuts, root)]
    tiles, year, nuts = max(sizes)
    return nuts, year, tiles


def start_api(root: str, store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "landcover.api", "--port", str(port), "--data-root", root,
               "--store", str(store), "--log-level", "warning"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/health", timeout=5).ok:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.25)
    process.kill()
    raise SystemExit(f"the API did not start within {START_TIMEOUT_S:.0f} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def timed(url: str, params: dict[str, object]) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = requests.get(url + "/predict_nuts", params=params, timeout=600)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"/predict_nuts answered {response.status_code}: {response.text[:500]}")
    return elapsed, response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm requests to time (the median is shown)")
    args = parser.parse_args()

    from landcover.config import data_root

    root = data_root()
    nuts, year, tiles = largest_region(root)
    params = {"nuts": nuts, "year": year}
    print(f"data root {root} (synthetic), load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    print(f"largest region: {nuts} {year}, {tiles} tiles; GET /predict_nuts?nuts={nuts}&year={year}")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        store, log = Path(scratch) / "store", Path(scratch) / "api.log"
        process, url = start_api(root, store, log)
        try:
            health = requests.get(url + "/health", timeout=10).json()
            print(f"model {health['model']['name']} version {health['model']['version']} "
                  f"({health['model']['module_name']}), store {health['prediction_store']['location']} (empty)")
            cold, response = timed(url, params)
            body = response.json()
            print(f"cold        {cold:8.3f} s  (target <= {TARGET_COLD_S:.0f} s)  tiles predicted "
                  f"{body['cache']['computed']}/{body['cache']['tiles']}, {len(body['polygons']['features'])} "
                  f"class polygons, {len(response.content) / 1e6:.1f} MB of JSON")
            warm_times = [timed(url, params)[0] for _ in range(args.repeats)]
            warm = statistics.median(warm_times)
            print(f"warm        {warm:8.3f} s  (target <= {TARGET_WARM_S} s)  median of {args.repeats}, "
                  f"min {min(warm_times):.3f} s, max {max(warm_times):.3f} s")
        finally:
            stop(process)
        process, url = start_api(root, store, log)
        try:
            from_store, response = timed(url, params)
            print(f"from store  {from_store:8.3f} s  (fresh server, same store: "
                  f"{response.json()['cache']['from_store']} tiles read, none predicted)")
        finally:
            stop(process)
    ok = cold <= TARGET_COLD_S and warm <= TARGET_WARM_S
    print("within targets" if ok else "OVER target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
