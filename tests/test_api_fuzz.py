"""Property-based fuzzing of every endpoint of the API with schemathesis, against its own OpenAPI spec.

Schemathesis reads ``/openapi.json`` from a real ``python -m landcover.api``
process (tiny data, tiny model) and turns each operation into a Hypothesis
strategy of requests: valid ones from the schema (positive mode) and invalid
ones (wrong types, values out of range, missing parameters; negative mode).
Whatever arrives, the server must not answer with a 5xx. The run is bounded
and reproducible: a fixed number of examples per endpoint and mode, and
Hypothesis's derandomised mode.

(The strategies are driven by hand, not by ``schema.parametrize()``: the
lazy pytest loader of schemathesis 4.32 does not work with pytest 9.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from tests.support.tiny_data import TinyDataset  # noqa: E402
from tests.test_api import ApiProcess, build_tiny_models, start_api  # noqa: E402

pytestmark = [pytest.mark.network, pytest.mark.slow]

#: Generated requests per endpoint and generation mode.
MAX_EXAMPLES = 40
ENDPOINTS = ["/health", "/find_nuts", "/find_image", "/predict_image", "/predict_nuts"]


@pytest.fixture(scope="module")
def fuzzed_api(tiny_data: TinyDataset, tmp_path_factory) -> Iterator[ApiProcess]:
    folder = tmp_path_factory.mktemp("api-fuzz")
    models = build_tiny_models(folder)
    server = start_api(tiny_data.root, str(models.published_root), folder / "store", folder / "api.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed_api: ApiProcess):
    return schemathesis.openapi.from_url(f"{fuzzed_api.url}/openapi.json")


def test_the_fuzzed_endpoints_are_all_the_endpoints(api_schema):
    paths = sorted(result.ok().path for result in api_schema.get_all_operations())
    assert paths == sorted(ENDPOINTS)


VALID, INVALID = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
#: Every endpoint with valid requests, and with invalid ones where it takes parameters (not /health).
CASES = [pytest.param(p, VALID, id=f"{p}-valid") for p in ENDPOINTS] + [
    pytest.param(p, INVALID, id=f"{p}-invalid") for p in ENDPOINTS if p != "/health"
]


@pytest.mark.parametrize(("path", "mode"), CASES)
def test_no_request_gives_a_server_error(api_schema, fuzzed_api: ApiProcess, path: str, mode) -> None:
    operation = next(r.ok() for r in api_schema.get_all_operations() if r.ok().path == path)
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(base_url=fuzzed_api.url, timeout=60)
        statuses.append(response.status_code)
        assert response.status_code < 500, f"{case.method} {case.path} {case.query}: {response.text[:500]}"
        case.validate_response(response, checks=[not_a_server_error])

    run()
    assert statuses  # requests were really sent
    if mode == INVALID:
        assert any(400 <= s < 500 for s in statuses)  # and bad ones were refused
