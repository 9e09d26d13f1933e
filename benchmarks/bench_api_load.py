"""Bounded load test of the API: concurrent clients on cached ``/predict_image`` and ``/find_image``.

Starts the API the way the book does (:func:`landcover.api.local.start_local_api`:
a real ``python -m landcover.api`` uvicorn process on 127.0.0.1 and a free
port) on the synthetic data with the pre-trained model published under it,
and an empty prediction store in a temporary folder. It then:

1. warms the store: predicts a few tiles, spread over the regions and years,
   once each (``/predict_image``), and looks each one up by its centre
   (``/find_image``), checking that the look-up names the same tile;
2. runs ``--clients`` concurrent clients (one asyncio loop, one pooled
   ``aiohttp`` session, keep-alive connections; ``--client httpx`` for httpx) for ``--duration`` seconds;
   each client sends its next request as soon as the previous one is answered
   (a closed loop, no think time), alternating cached predictions and look-ups;
3. prints requests/s, latency percentiles (p50, p90, p99, max; overall and per
   endpoint), the errors (any status other than 200, timeouts, refused
   connections) and the server's peak memory; it also checks through
   ``/health`` that no tile was predicted during the run (every answer cached).

Targets on the 2-core machine (client and server share the cores): no error,
p99 < 0.5 s with 50 clients. The exit status is 1 when a target is missed.

With ``LANDCOVER_API_URL`` set, the deployed API it names is tested instead
(same data expected under its data root); nothing is started.

Usage: ``.venv/bin/python benchmarks/bench_api_load.py [--clients 50] [--duration 30] [--tiles 8]``
(``--model models:/segmentation-sentinel2-model@champion`` serves the registry's model).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TARGET_P99_S = 0.5
TARGET_ERRORS = 0
#: Seconds one request may take before it counts as an error (a timeout).
REQUEST_TIMEOUT_S = 10.0
#: Seconds a cold tile prediction may take while warming.
WARM_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Request:
    endpoint: str
    params: dict[str, object]


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # the first few error messages
    started: float = 0.0
    finished: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(values) for values in self.latencies.values()) + sum(self.errors.values())


def pick_tiles(root: str, count: int) -> list[tuple[str, float, float, int]]:
    """``count`` tiles as ``(image, lon, lat, year)``, in turn from each region-year.

    Only tiles whose centre lies inside their region's outline are taken, so
    that ``/find_image`` at that centre names the same tile (tiles on a border
    stick out of the region).
    """
    from pyproj import Transformer
    from shapely.geometry import Point

    from landcover.data.regions import available_years, list_regions, load_nuts3
    from landcover.data.tile_index import load_tile_index

    to_wgs84 = Transformer.from_crs(3035, 4326, always_xy=True)
    outlines = load_nuts3(root=root).set_index("NUTS_ID").geometry
    candidates: list[list[tuple[str, float, float, int]]] = []
    for nuts in list_regions(root):
        for year in available_years(nuts, root):
            inside = []
            for filename, bbox in zip(load_tile_index(nuts, year, root)["filename"],
                                      load_tile_index(nuts, year, root)["bbox"], strict=True):
                xmin, ymin, xmax, ymax = (float(v) for v in bbox)
                x, y = (xmin + xmax) / 2, (ymin + ymax) / 2
                if outlines[nuts].contains(Point(x, y)):
                    lon, lat = to_wgs84.transform(x, y)
                    inside.append((f"{nuts}/{year}/{filename}", lon, lat, year))
            candidates.append(inside[::7] + [tile for i, tile in enumerate(inside) if i % 7])  # spread out first
    chosen = [tile for row in zip(*(c for c in candidates if c), strict=False) for tile in row][:count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} tiles under {root} lie inside their region; run `make data model`?")
    return chosen


def warm(url: str, tiles: list[tuple[str, float, float, int]]) -> list[Request]:
    """Predict and look up each tile once; the requests the clients will repeat."""
    requests: list[Request] = []
    with httpx.Client(base_url=url, timeout=WARM_TIMEOUT_S) as client:
        for image, lon, lat, year in tiles:
            started = time.perf_counter()
            predicted = client.get("/predict_image", params={"image": image})
            if predicted.status_code != 200:
                raise SystemExit(f"warming /predict_image?image={image}: {predicted.status_code} {predicted.text[:300]}")
            cache = predicted.json()["cache"]
            found = client.get("/find_image", params={"lon": lon, "lat": lat, "year": year})
            if found.status_code != 200 or found.json()["image"] != image:
                raise SystemExit(f"/find_image at the centre of {image}: {found.status_code} {found.text[:300]}")
            state = "predicted" if cache["computed"] else "from store"
            print(f"  warm {image:48s} {time.perf_counter() - started:6.2f} s ({state})")
            requests.append(Request("/predict_image", {"image": image}))
            requests.append(Request("/find_image", {"lon": round(lon, 6), "lat": round(lat, 6), "year": year}))
    return requests


#: Transport failures of either client library: timeouts, refused or reset connections.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (httpx.HTTPError, OSError, asyncio.TimeoutError)
Get = Callable[[str, dict[str, object]], Awaitable[int]]


@contextlib.asynccontextmanager
async def open_client(url: str, clients: int, library: str) -> AsyncIterator[Get]:
    """A pooled keep-alive client of ``library`` (aiohttp or httpx): ``get(endpoint, params) -> status``.

    Both read the whole body. The client shares the cores with the server, so
    its own cost per request shows in every latency it measures: aiohttp needs
    about half the CPU of httpx for the same requests (``--client httpx`` to compare).
    """
    if library == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:
            async def get_aiohttp(endpoint: str, params: dict[str, object]) -> int:
                async with session.get(endpoint, params={k: str(v) for k, v in params.items()}) as response:
                    await response.read()
                    return response.status

            yield get_aiohttp
        return
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        async def get_httpx(endpoint: str, params: dict[str, object]) -> int:
            return (await client.get(endpoint, params=params)).status_code

        yield get_httpx


async def client_loop(number: int, get: Get, requests: list[Request], deadline: float, results: Results) -> None:
    """One client: its next request as soon as the previous is answered, until the deadline."""
    turn = number  # each client starts at another request of the cycle
    while time.perf_counter() < deadline:
        request = requests[turn % len(requests)]
        turn += 1
        started = time.perf_counter()
        try:
            status = await get(request.endpoint, request.params)
        except TRANSPORT_ERRORS as error:
            results.errors[f"{request.endpoint} {type(error).__name__}"] += 1
            if len(results.examples) < 5:
                results.examples.append(f"{time.perf_counter() - started:.2f} s: {error!r} {error.__cause__!r}")
            continue
        elapsed = time.perf_counter() - started
        if status == 200:
            results.latencies[request.endpoint].append(elapsed)
        else:
            results.errors[f"{request.endpoint} HTTP {status}"] += 1


async def load(url: str, requests: list[Request], clients: int, duration: float, library: str) -> Results:
    results = Results()
    async with open_client(url, clients, library) as get:
        # One request per client first, so that every connection is open before the clock starts.
        await asyncio.gather(*(get(requests[i % len(requests)].endpoint, requests[i % len(requests)].params)
                               for i in range(clients)))
        results.started = time.perf_counter()
        deadline = results.started + duration
        await asyncio.gather(*(client_loop(i, get, requests, deadline, results) for i in range(clients)))
        results.finished = time.perf_counter()
    return results


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``values``, by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def line(name: str, values: list[float], seconds: float) -> str:
    return (f"{name:15s} {len(values):7d} req {len(values) / seconds:8.1f} req/s   p50 {percentile(values, .50) * 1e3:7.1f} ms"
            f"   p90 {percentile(values, .90) * 1e3:7.1f} ms   p99 {percentile(values, .99) * 1e3:7.1f} ms"
            f"   max {max(values) * 1e3:7.1f} ms")


def peak_rss_mib(pid: int) -> float | None:
    """The peak resident memory of a local process (Linux ``VmHWM``), in MiB."""
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a local process has used so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--tiles", type=int, default=8, help="tiles warmed and requested (default 8)")
    parser.add_argument("--data-root", help="data root (default: the active one, the synthetic data)")
    parser.add_argument("--model", help="model (default: the one published under the data root)")
    parser.add_argument("--client", choices=["aiohttp", "httpx"], default="aiohttp",
                        help="client library of the load (default aiohttp, the lighter one)")
    args = parser.parse_args()
    if args.clients < 1 or args.duration <= 0 or args.tiles < 1:
        parser.error("--clients, --duration and --tiles must be positive")

    from landcover.api.local import start_local_api
    from landcover.config import data_root

    root = args.data_root or data_root()
    model = args.model or root
    tiles = pick_tiles(root, args.tiles)
    print(f"data root {root}, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-api-load-") as scratch:
        api = start_local_api(data_root=root, model=model, store=Path(scratch) / "store",
                              log=Path(scratch) / "api.log", log_level="warning", timeout_s=180)
        try:
            health = httpx.get(f"{api.url}/health", timeout=10).json()
            where = f"pid {api.process.pid}" if api.process else "deployed"
            print(f"API {api.url} ({where}), model {health['model']['name']} version {health['model']['version']}, "
                  f"store {health['prediction_store']['location']}")
            print(f"warming {len(tiles)} tiles:")
            requests = warm(api.url, tiles)
            before = httpx.get(f"{api.url}/health", timeout=10).json()["prediction_store"]["tiles_computed"]
            print(f"load: {args.clients} {args.client} clients for {args.duration:.0f} s on {len(requests)} cached "
                  "requests (/predict_image and /find_image in turn)")
            server_cpu, client_cpu = cpu_seconds(api.process.pid) if api.process else None, time.process_time()
            results = asyncio.run(load(api.url, requests, args.clients, args.duration, args.client))
            client_cpu = time.process_time() - client_cpu
            if server_cpu is not None:
                server_cpu = (cpu_seconds(api.process.pid) or server_cpu) - server_cpu
            after = httpx.get(f"{api.url}/health", timeout=10).json()["prediction_store"]["tiles_computed"]
            rss = peak_rss_mib(api.process.pid) if api.process else None
            alive = api.running
        finally:
            api.stop()
        if api.log is not None and (results.errors or not alive):
            print("server log (last lines):\n" + "\n".join(api.log.read_text().splitlines()[-20:]))
    seconds = results.finished - results.started
    every = [value for values in results.latencies.values() for value in values]
    errors = sum(results.errors.values())
    if not every:
        print(f"no request succeeded; errors: {dict(results.errors)}")
        return 1
    for endpoint, values in sorted(results.latencies.items()):
        print(line(endpoint, values, seconds))
    print(line("all", every, seconds))
    print(f"errors {errors} of {results.count} requests" + (f": {dict(results.errors)}" if errors else ""))
    for example in results.examples:
        print(f"  {example}")
    print(f"tiles predicted during the load: {after - before} (0: every answer came from the store)"
          + (f"; server peak memory {rss:.0f} MiB" if rss else "") + ("" if alive else "; THE SERVER DIED"))
    usage = f"CPU during the load: client {client_cpu / seconds:.2f} cores"
    if server_cpu is not None:
        usage += f", server {server_cpu / seconds:.2f} cores"
    print(f"{usage}, of {os.cpu_count()}; load average now {os.getloadavg()[0]:.1f}")
    p99 = percentile(every, 0.99)
    ok = errors <= TARGET_ERRORS and p99 < TARGET_P99_S and after == before and alive
    print(f"{'within targets' if ok else 'OVER target'} (errors <= {TARGET_ERRORS}, p99 < {TARGET_P99_S} s): "
          f"{len(every) / seconds:.1f} req/s, p50 {percentile(every, .5) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
          f"{errors} errors")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
