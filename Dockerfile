# syntax=docker/dockerfile:1.7
#
# Land-cover API image (default target `api`) and the explorer app (target `app`).
#
#   docker build -t landcover-api .                       # CPU torch (the default)
#   docker build --target app -t landcover-app .          # the explorer app
#   docker build -t landcover-api:cuda \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .
#
#   docker run --rm -p 8000:8000 landcover-api            # the real public bucket, its published model
#   docker run --rm -p 8000:8000 -e LANDCOVER_MODEL=models:/segmentation-sentinel2-model@champion \
#     -e MLFLOW_TRACKING_URI=https://mlflow.example.org landcover-api
#
# No data and no model are baked in: LANDCOVER_DATA_ROOT (default: the real
# public bucket over HTTPS) and LANDCOVER_MODEL (a registry URI, a published
# run or a data root; empty: the model published under the data root) choose
# them at run time, as do the other variables of landcover.api.settings.
#
# CUDA: the CUDA wheels of torch bring their own CUDA runtime (the nvidia-*
# wheels), so the slim base works as is on a node with an NVIDIA driver and the
# NVIDIA container toolkit; the model then runs on the GPU by itself
# (landcover.training.pyfunc picks "cuda" when torch sees one). BASE_IMAGE can
# point at another base (a CUDA image, a mirror, a digest-pinned tag) as long
# as it has Python 3.11 as `python3` and the `useradd` tool.

ARG BASE_IMAGE=python:3.11.9-slim-bookworm

# --------------------------------------------------------------------------
# builder: a virtual environment in /opt/venv with the pinned runtime set.
# --------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS builder

# torch comes first, from this index, and constraints.txt keeps it: no later
# step may replace it by another build (DESIGN.md §7).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

# pip compiles the bytecode as it installs, so the read-only runtime imports without writing any.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Every dependency ships manylinux wheels for CPython 3.11 (rasterio, pyproj,
# shapely and opencv bundle GDAL, PROJ, GEOS and their own libraries), so the
# build needs no compiler and no system package.
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir "pip==26.3" "setuptools==84.2.1"

WORKDIR /build

# Dependencies before the sources, so that editing src/ reuses this (large) layer.
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}" \
    && pip install --no-cache-dir -c constraints.txt -r requirements.txt \
    && python -c "import torch; v = torch.__version__; assert v.startswith('${TORCH_VERSION}'), v; print('torch', v)"

# The package itself, without dependencies: requirements.txt has them, pinned.
COPY pyproject.toml README.md LICENSE ./
COPY src/ src/
RUN pip install --no-cache-dir --no-deps --no-build-isolation /build \
    && python -c "import landcover.api.app"

# --------------------------------------------------------------------------
# app-builder: the API's environment plus the `app` extra of the package
# (streamlit and whatever the explorer app declares there).
# --------------------------------------------------------------------------
FROM builder AS app-builder
# The extra is resolved against constraints.txt, so it cannot replace torch;
# pyproject.toml must declare it (pinned) before the `app` image is of any use.
RUN pip install --no-cache-dir -c constraints.txt "/build[app]"

# --------------------------------------------------------------------------
# runtime: what the `api` and `app` images share. A non-root user (numeric
# uid, so that Kubernetes' runAsNonRoot can check it), writable caches in its
# home, and the offline switches of the project's Makefile.
# --------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime

# uid and gid 10001: deploy/base/deployment.yaml (runAsUser, fsGroup) uses the same numbers.
ENV HOME=/home/app
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --home-dir "$HOME" --create-home --shell /usr/sbin/nologin app

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    # landcover.config: project root (caches, default MLflow store) and its cache folder.
    LANDCOVER_PROJECT_ROOT=/home/app \
    LANDCOVER_CACHE_DIR=/home/app/.cache/landcover \
    # The real public bucket; mount or point at another root to change it.
    LANDCOVER_DATA_ROOT=https://minio.lab.sspcloud.fr/projet-funathon/2026/project3/data \
    # Empty: the model published under the data root.
    LANDCOVER_MODEL="" \
    # Internet services other than the data root (GISCO outlines, geocoding) stay off unless asked for.
    LANDCOVER_ONLINE=0 \
    # Offline hygiene: no telemetry, no model-hub or update checks.
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    NO_ALBUMENTATIONS_UPDATE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    # MLflow imports GitPython, which warns at import when there is no git binary.
    GIT_PYTHON_REFRESH=quiet \
    # Writable caches inside the home (an emptyDir there under Kubernetes).
    XDG_CACHE_HOME=/home/app/.cache \
    HF_HOME=/home/app/.cache/huggingface \
    TORCH_HOME=/home/app/.cache/torch \
    MPLCONFIGDIR=/home/app/.cache/matplotlib \
    # Idle OpenMP threads sleep instead of spinning.
    OMP_WAIT_POLICY=PASSIVE

WORKDIR /home/app

# --------------------------------------------------------------------------
# app: the explorer app (Streamlit) on port 8501. Needs the package's `app`
# extra (installed by app-builder) and the app module at the path below. It
# reads the prediction store itself: give it the API's LANDCOVER_PREDICTION_STORE
# (an s3:// prefix) so that both share the same predictions.
# --------------------------------------------------------------------------
FROM runtime AS app
COPY --from=app-builder /opt/venv /opt/venv
# streamlit runs a script by path, relative to the working directory: the
# sources sit at /home/app/src for that path only (imports resolve to /opt/venv).
COPY --from=app-builder /build/src /home/app/src
USER 10001:10001
ENV STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
CMD ["python", "-m", "streamlit", "run", "src/landcover/app/main.py", \
     "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]

# --------------------------------------------------------------------------
# api (the default target, last in the file): uvicorn on 0.0.0.0:8000.
# --------------------------------------------------------------------------
FROM runtime AS api
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
# API_PORT is read by the server and by the health check; the address is fixed by CMD.
ENV API_PORT=8000 \
    API_PREDICTION_WORKERS=2
EXPOSE 8000
# Loading the model takes a while on a cold start (start-period); /health
# answers once it is loaded and names it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('API_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status != 200)"]
# One uvicorn process per container (each would load its own model): scale with replicas.
CMD ["python", "-m", "landcover.api", "--host", "0.0.0.0", "--log-level", "info"]
