"""The explorer app in a real browser: ``streamlit run`` on 127.0.0.1, driven by Playwright with Debian's Chromium.

What a reader does: open the app, pick PT16I and 2021 in the sidebar, read the
accounts table, look at the map's layers and legend (inside streamlit-folium's
iframe), click the map to look a point up. The page must show the package's
numbers and log no console error. Screenshots land in ``build/app-screenshots/``.

Nothing leaves the machine: the browser's requests to anything but the app are
answered locally: Leaflet's JavaScript and CSS (which folium loads from a CDN) from
``.cache/web-assets/`` (filled once with ``npm pack``, see
``tests/test_chapter1_execution.py``), every other CDN file with an empty body.
Needs ``chromium`` on the PATH (``apt-get install chromium``; ``playwright
install`` is not used) and the ``playwright`` package; skips without them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from tests.conftest import PROJECT_DIR
from tests.test_app import APP_SCRIPT, EARLIER, NUTS, YEAR, stored_pt16i  # noqa: F401 (a fixture)

SCREENSHOTS = PROJECT_DIR / "build" / "app-screenshots"
VIEWPORT = {"width": 1500, "height": 1100}
#: Milliseconds to wait for the app (its first run loads the model).
APP_TIMEOUT_MS = 240_000
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'

pytestmark = [pytest.mark.slow, pytest.mark.network]


def chromium_path() -> str:
    """Debian's Chromium (or ``LANDCOVER_CHROMIUM``), or a skip saying how to get it."""
    for candidate in (os.environ.get("LANDCOVER_CHROMIUM"), "chromium", "chromium-browser"):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    pytest.skip("no Chromium on the PATH: apt-get install chromium (or set LANDCOVER_CHROMIUM)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def leaflet_files() -> dict[str, Path]:
    """CDN URL -> local file for Leaflet's JS and CSS (skips when they cannot be had offline)."""
    from tests.test_chapter1_execution import offline_assets

    return {url: Path(unquote(urlparse(local).path)) for url, local in offline_assets().items()
            if local.startswith("file:")}


@pytest.fixture(scope="module")
def app_url(synthetic_dir: Path, stored_pt16i: dict[str, Any],  # noqa: F811 (the imported fixture)
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run`` of the app on a free port of 127.0.0.1, headless, no telemetry, HOME in a temporary folder."""
    chromium_path()
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    home = tmp_path_factory.mktemp("streamlit-home")
    log = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    port = free_port()
    env = {**os.environ, "HOME": str(home), "LANDCOVER_DATA_ROOT": str(synthetic_dir), "LANDCOVER_ONLINE": "0",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "STREAMLIT_SERVER_HEADLESS": "true",
           "PYTHONUNBUFFERED": "1"}
    env.pop("LANDCOVER_PREDICTION_STORE", None)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--global.developmentMode", "false"],
            cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url} within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    written = [str(p.relative_to(home)) for p in home.rglob("*")]
    assert not written, f"streamlit wrote into HOME: {written}"


def wait_until_idle(page: Any) -> None:
    """Wait until the script run is over: no "running" widget, no stale element left from the previous run."""
    from playwright.sync_api import expect

    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=APP_TIMEOUT_MS)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=APP_TIMEOUT_MS)


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``, and wait for the page to update."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_until_idle(page)


def table_cells(page: Any, *headers: str) -> list[list[str]]:
    """Rows (cell texts) of the first ``st.table`` whose header has all of ``headers``."""
    for table in page.get_by_test_id("stTable").all():
        head = [h.strip() for h in table.locator("thead th").all_inner_texts()]
        if set(headers) <= set(head):
            rows = table.locator("tbody tr").all()
            return [[head[i] for i in range(len(head))]] + [
                [c.strip() for c in row.locator("th, td").all_inner_texts()] for row in rows]
    raise AssertionError(f"no table with the columns {headers}")


def test_the_app_in_a_browser_shows_the_package_numbers_and_the_map(
    app_url: str, stored_pt16i: dict[str, Any]  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from landcover.data import load_nuts3
    from landcover.stats import pixel_centre_counts

    region = stored_pt16i["region"]
    counts = pixel_centre_counts(region["mask"], region["transform"], load_nuts3([NUTS], stored_pt16i["root"]))
    local = leaflet_files()
    problems: list[str] = []
    outside: list[str] = []

    def answer(route: Any) -> None:
        url = route.request.url
        if urlparse(url).hostname in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:")):
            route.continue_()
        elif url in local:
            route.fulfill(path=str(local[url]))
        else:
            outside.append(url)
            kind = "text/css" if url.split("?")[0].endswith(".css") else "application/javascript"
            route.fulfill(status=200, body="", content_type=kind)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.route("**/*", answer)
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(app_url, wait_until="domcontentloaded")
            expect(page.get_by_text("Synthetic data.", exact=False).first).to_be_visible(timeout=APP_TIMEOUT_MS)
            wait_until_idle(page)

            choose(page, "Region (NUTS3)", NUTS)
            expect(page.get_by_role("heading", name=f"Map of {NUTS}")).to_be_visible(timeout=APP_TIMEOUT_MS)
            choose(page, "Year", str(YEAR))
            expect(page.get_by_role("heading", name=f"Map of {NUTS}, {YEAR}")).to_be_visible(timeout=APP_TIMEOUT_MS)
            expect(page.get_by_text("16 of 16 tiles read from the prediction store")).to_be_visible(
                timeout=APP_TIMEOUT_MS)

            # The accounts table shows the package's pixel counts and areas.
            expect(page.get_by_test_id("stTable").filter(has_text="pixels").first).to_be_visible(
                timeout=APP_TIMEOUT_MS)
            rows = table_cells(page, "class", "pixels", "area (km²)")
            head, body = rows[0], rows[1:]
            sealed = next(r for r in body if r[head.index("class")] == "1")
            expected = counts.set_index("class").loc[1]
            assert sealed[head.index("pixels")] == f"{int(expected['pixels']):,}"
            assert sealed[head.index("area (km²)")] == f"{expected['area_km2']:,.4f}"

            # The map: layers in the layer control, the class legend, the colour bar, drawn overlays.
            frame = page.frame_locator(MAP_IFRAME)
            control = frame.locator(".leaflet-control-layers-overlays")
            expect(control).to_contain_text("Predicted classes", timeout=APP_TIMEOUT_MS)
            layers = " | ".join(control.locator("label").all_inner_texts())
            for name in ("Sentinel-2 true colour", "Predicted classes", "CLC+ Backbone label",
                         "Uncertainty (1 − probability)", f"Class changed {EARLIER} → {YEAR}", "NUTS3 outline",
                         "Tiles"):
                assert name in layers, f"layer {name!r} missing from the layer control: {layers}"
            legend = frame.locator(".landcover-legend")
            expect(legend).to_be_visible()
            expect(legend).to_contain_text("CLC+ Backbone class")
            expect(legend).to_contain_text("1 Sealed")
            expect(frame.locator(".landcover-map-title")).to_contain_text("synthetic data")
            expect(frame.locator(".landcover-colorbar")).to_contain_text("Uncertainty")
            assert frame.locator("img.leaflet-image-layer").count() >= 2  # true colour and predicted classes
            page.wait_for_timeout(1500)  # let the overlays draw before the pictures
            page.locator(MAP_IFRAME).screenshot(path=str(SCREENSHOTS / f"map-{NUTS}-{YEAR}.png"))
            # Layers switch on and off: the uncertainty (with its colour bar), then where the class changed.
            for name, picture in (("Uncertainty", "uncertainty"), ("Class changed", f"change-{EARLIER}")):
                count = frame.locator("img.leaflet-image-layer").count()
                control.locator("label", has_text=name).locator("input").check()
                expect(frame.locator("img.leaflet-image-layer")).to_have_count(count + 1)
                page.wait_for_timeout(800)
                page.locator(MAP_IFRAME).screenshot(path=str(SCREENSHOTS / f"map-{NUTS}-{YEAR}-{picture}.png"))
                control.locator("label", has_text=name).locator("input").uncheck()

            # A click on the map looks the point up: the longitude input takes the click's longitude.
            before = page.get_by_label("Longitude (°E, WGS84)").input_value()
            box = page.locator(MAP_IFRAME).bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.6)
            expect(page.get_by_label("Longitude (°E, WGS84)")).not_to_have_value(before, timeout=APP_TIMEOUT_MS)
            wait_until_idle(page)
            expect(page.get_by_text(re.compile(r"^Tile \S+ \(PT16I 2021\)"))).to_be_visible(timeout=APP_TIMEOUT_MS)
            page.wait_for_timeout(1500)

            page.set_viewport_size({"width": VIEWPORT["width"], "height": 3200})
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SCREENSHOTS / f"explorer-{NUTS}-{YEAR}.png"))
            page.get_by_role("tab", name="Bias-adjusted areas").click()
            wait_until_idle(page)
            expect(page.get_by_text("seed 2014", exact=False)).to_be_visible(timeout=APP_TIMEOUT_MS)
            page.screenshot(path=str(SCREENSHOTS / f"estimates-{NUTS}-{YEAR}.png"))
            page.get_by_role("tab", name="Change between years").click()
            wait_until_idle(page)
            expect(page.get_by_text(f"Transitions {EARLIER} → {YEAR}")).to_be_visible(timeout=APP_TIMEOUT_MS)
            page.screenshot(path=str(SCREENSHOTS / f"change-{NUTS}-{EARLIER}-{YEAR}.png"))
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
    # Nothing but the CDN files folium names was asked of the internet (no telemetry, no fonts, no tiles).
    unexpected = sorted(set(outside) - folium_cdn_urls())
    assert not unexpected, f"the page asked the internet for {unexpected}"


def folium_cdn_urls() -> set[str]:
    """The JavaScript and CSS files folium's maps load from CDNs."""
    import folium

    return {url for _, url in [*folium.Map.default_js, *folium.Map.default_css]}
