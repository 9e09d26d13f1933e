"""The project's settings: data root modes, offline defaults, project-local caches."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from landcover import config

ROOT = Path(__file__).resolve().parents[1]


def test_default_data_root_is_the_local_synthetic_data(monkeypatch):
    monkeypatch.delenv(config.DATA_ROOT_VARIABLE, raising=False)
    assert config.data_root() == str(ROOT / "data" / "synthetic")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://minio.lab.sspcloud.fr/projet-funathon/2026/project3/data/", config.REAL_BUCKET_HTTPS),
        ("s3://projet-funathon/2026/project3/data", config.REAL_BUCKET_S3),
        ("data/other", str(ROOT / "data" / "other")),
    ],
)
def test_data_root_modes(monkeypatch, value, expected):
    monkeypatch.setenv(config.DATA_ROOT_VARIABLE, value)
    assert config.data_root() == expected


def test_online_is_opt_in(monkeypatch):
    monkeypatch.delenv(config.ONLINE_VARIABLE, raising=False)
    assert not config.online_allowed()
    monkeypatch.setenv(config.ONLINE_VARIABLE, "1")
    assert config.online_allowed()
    monkeypatch.setenv(config.ONLINE_VARIABLE, "no")
    assert not config.online_allowed()


def test_import_sets_offline_and_project_local_environment(tmp_path):
    """A fresh interpreter, with none of the variables set, gets them from the import."""
    names = ["MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "NO_ALBUMENTATIONS_UPDATE", "HF_HUB_OFFLINE",
             "HF_HOME", "MPLCONFIGDIR", "MLFLOW_TRACKING_URI", "JUPYTER_CONFIG_DIR"]
    env = {k: v for k, v in os.environ.items() if k not in names}
    code = "import os, landcover; print('\\n'.join(f'{n}={os.environ[n]}' for n in %r))" % names
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert values["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert values["DO_NOT_TRACK"] == "true"
    assert values["NO_ALBUMENTATIONS_UPDATE"] == "1"
    assert values["HF_HUB_OFFLINE"] == "1"
    for name in ("HF_HOME", "MPLCONFIGDIR", "JUPYTER_CONFIG_DIR"):
        assert Path(values[name]).is_relative_to(ROOT), name
    assert values["MLFLOW_TRACKING_URI"].startswith(f"sqlite:///{ROOT}")


def test_user_settings_win_over_defaults(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="0")
    out = subprocess.run([sys.executable, "-c", "import os, landcover; print(os.environ['HF_HUB_OFFLINE'])"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


def test_requirements_pin_cpu_torch_and_no_torchvision():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = [line for line in lines if line]
    assert "torch==2.13.0" in pins
    assert not any(re.match(r"torch(vision|audio)\b", p) for p in pins)
    unpinned = [p for p in pins if "==" not in p]
    assert not unpinned, f"unpinned requirements: {unpinned}"
    for name in ("jupyter", "rasterio", "geopandas", "shapely", "pyproj", "folium", "matplotlib", "mlflow",
                 "transformers", "albumentations", "requests", "fsspec", "s3fs", "pyarrow", "python-dotenv",
                 "tqdm", "pystac", "fastapi", "uvicorn"):
        assert any(p.lower().startswith(f"{name}==") for p in pins), f"{name} missing from requirements.txt"


def test_installed_torch_is_the_pinned_one():
    import torch

    assert torch.__version__.split("+")[0] == "2.13.0"
