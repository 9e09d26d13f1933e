"""The checks of chapter 5 accept the chapter's answers and name the usual mistakes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from landcover.exercises import evaluate

DEPLOYMENT = Path(__file__).resolve().parents[1] / "deploy" / "base" / "deployment.yaml"


def assert_hint(result, expected: str) -> None:
    assert result.status == "incorrect", result
    assert expected in result.message, result.message


def test_probes() -> None:
    container = yaml.safe_load(DEPLOYMENT.read_text())["spec"]["template"]["spec"]["containers"][0]
    probe = container["readinessProbe"]["httpGet"]
    startup = container["startupProbe"]
    budget = startup.get("initialDelaySeconds", 0) + startup["periodSeconds"] * startup["failureThreshold"]
    assert probe["path"] == "/health" and budget >= 180
    assert evaluate("prd-probes", probe["path"], probe["port"], budget).passed
    port_number = next(p["containerPort"] for p in container["ports"] if p.get("name") == probe["port"])
    assert evaluate("prd-probes", probe["path"], port_number, budget).passed  # the number a name stands for
    assert_hint(evaluate("prd-probes", "/", probe["port"], budget), "ready_path")
    assert_hint(evaluate("prd-probes", probe["path"], 80, budget), "ready_port")
    no_delay = startup["periodSeconds"] * startup["failureThreshold"]
    if no_delay != budget:
        assert_hint(evaluate("prd-probes", probe["path"], probe["port"], no_delay), "initial delay")
    assert_hint(evaluate("prd-probes", probe["path"], probe["port"], "five minutes"), "number of seconds")


def test_projection() -> None:
    per_tile = 0.5
    tiles = 3 * 4.2e6 / 6.25
    hours = tiles * per_tile / 3600
    workers = math.ceil(hours / 24)
    assert tiles == 2_016_000
    assert evaluate("prd-projection", per_tile, tiles, hours, workers).passed
    assert_hint(evaluate("prd-projection", per_tile, tiles / 3, hours, workers), "one year")
    assert_hint(evaluate("prd-projection", per_tile, 3 * 4.2e6 * 6.25, hours, workers), "divide the area")
    assert_hint(evaluate("prd-projection", per_tile, tiles, hours * 60, workers), "minutes")
    assert_hint(evaluate("prd-projection", per_tile, tiles, hours, hours / 24), "round up")
    assert_hint(evaluate("prd-projection", 0, tiles, hours, workers), "positive")


def test_dask_comparison() -> None:
    mask = np.arange(16, dtype=np.uint8).reshape(4, 4) % 11
    serial = {"nuts": "PT16I", "year": 2024, "mask": mask}
    assert evaluate("prd-dask", {**serial, "mask": mask.copy()}, serial).passed
    changed = mask.copy()
    changed[0, 0] = 5 if changed[0, 0] != 5 else 6
    assert_hint(evaluate("prd-dask", {**serial, "mask": changed}, serial), "differ")
    assert_hint(evaluate("prd-dask", {**serial, "year": 2021}, serial), "different regions or years")
    assert_hint(evaluate("prd-dask", mask, serial), "a dict with a mask")
