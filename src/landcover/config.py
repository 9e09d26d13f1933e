"""Project settings: where the data lives, whether the internet may be used, offline caches.

Every entry point also gets a self-contained environment (project-local
caches, offline switches for telemetry and model hubs).

Every chapter, script and test goes through :func:`data_root`, so switching
between the synthetic data and the real bucket is one setting.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

#: The real public bucket, over HTTPS (no credentials needed to read).
REAL_BUCKET_HTTPS = "https://minio.lab.sspcloud.fr/projet-funathon/2026/project3/data"
#: The same bucket seen through the S3 protocol (needs SSP Cloud credentials).
REAL_BUCKET_S3 = "s3://projet-funathon/2026/project3/data"
#: Default S3 endpoint of SSP Cloud, used when ``AWS_S3_ENDPOINT`` is unset.
DEFAULT_S3_ENDPOINT = "minio.lab.sspcloud.fr"

DATA_ROOT_VARIABLE = "LANDCOVER_DATA_ROOT"
ONLINE_VARIABLE = "LANDCOVER_ONLINE"
CACHE_DIR_VARIABLE = "LANDCOVER_CACHE_DIR"

# Variables that keep libraries quiet and offline; set only when the user has not.
_OFFLINE_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # Idle OpenMP threads sleep instead of spinning (set before torch is imported).
    "OMP_WAIT_POLICY": "PASSIVE",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.vrt,.npy,.parquet,.yaml,.geojson,.json",
}


def project_root() -> Path:
    """The repository folder (the one holding ``pyproject.toml``)."""
    override = os.environ.get("LANDCOVER_PROJECT_ROOT")
    if override:
        return Path(override).resolve()
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd().resolve()


def setup_environment() -> None:
    """Load ``.env`` and point caches and configuration inside the project.

    Called when the package is imported, before matplotlib or MLflow are, so a
    notebook opened anywhere behaves like ``make``. Values already set win.
    """
    root = project_root()
    load_dotenv(root / ".env", override=False)
    cache = root / ".cache"
    defaults = dict(_OFFLINE_DEFAULTS)
    defaults.update(
        {
            "HF_HOME": str(cache / "huggingface"),
            "TORCH_HOME": str(cache / "torch"),
            "MPLCONFIGDIR": str(cache / "matplotlib"),
            "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
            "IPYTHONDIR": str(root / ".ipython"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
        }
    )
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    Path(os.environ["MPLCONFIGDIR"]).mkdir(parents=True, exist_ok=True)


def default_synthetic_root() -> Path:
    """Where ``make data`` writes the synthetic data."""
    return project_root() / "data" / "synthetic"


def cache_dir() -> Path:
    """Folder for downloaded files the project keeps (``.cache/landcover`` in the project).

    NUTS boundaries fetched from GISCO and copies of published models land here,
    so a second run reads them from disk. ``LANDCOVER_CACHE_DIR`` moves it.
    """
    configured = os.environ.get(CACHE_DIR_VARIABLE, "").strip()
    return Path(configured) if configured else project_root() / ".cache" / "landcover"


def data_root() -> str:
    """The active data root: a local folder, an ``https://`` base or an ``s3://`` base.

    Read from ``LANDCOVER_DATA_ROOT`` (environment or ``.env``); relative local
    paths are taken from the project root. No trailing slash.
    """
    value = os.environ.get(DATA_ROOT_VARIABLE, "").strip()
    if not value:
        return str(default_synthetic_root())
    if is_remote(value):
        return value.rstrip("/")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = project_root() / path
    return str(path.resolve())


def is_remote(location: str) -> bool:
    """True for ``http(s)://`` and ``s3://`` locations."""
    return location.startswith(("http://", "https://", "s3://"))


def online_allowed() -> bool:
    """Whether the reader opted in to calling internet services (``LANDCOVER_ONLINE=1``)."""
    return os.environ.get(ONLINE_VARIABLE, "0").strip().lower() in {"1", "true", "yes", "on"}
