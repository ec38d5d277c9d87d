"""Schemathesis against each running service's OpenAPI document (`/openapi.json`).

Every operation of every service is called with generated requests, valid (positive) and invalid
(negative) by the schema, carrying a token that reaches past 401 (a receiver of the right office;
compliance staff for the registry). Checks: no 5xx (`not_a_server_error`), the status code and
content type are ones the document declares, and the body conforms to the declared response
schema.

Short run by default (CI, `SIPUMA_FUZZ_CASES=50`: about 50–100 cases per service). Long run,
≥ 1,000 cases per service with operations (intake ≈ 1,500, registry ≈ 1,100, evidence slower:
each upload to an unknown complaint waits 0.2 s for it):

    SIPUMA_FUZZ_CASES=1000 uv run pytest tests/fuzz/test_schemathesis.py -q -s

Each operation gets ceil(SIPUMA_FUZZ_CASES / operations) examples per mode (positive, negative);
Hypothesis stops early where an operation has fewer distinct inputs. `-s` prints the counts.
Every answered status code and content type must be declared in the OpenAPI document.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sipuma.shared.auth import Role
from tests.e2e.stack import OFFICE, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

CASES = int(os.environ.get("SIPUMA_FUZZ_CASES", "50"))
# Every status code and content type answered must be declared in the document too
# (`sipuma.shared.openapi` declares each problem+json error an operation can give).
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
ROLES: dict[str, tuple[Role, ...]] = {
    "intake": (Role.RECEIVER,),
    "registry": (Role.RECEIVER, Role.COMPLIANCE),
    "evidence": (Role.RECEIVER,),
    "notifier": (Role.RECEIVER,),
}


def _fuzz_test(
    operation: Any,
    mode: GenerationMode,
    base: str,
    headers: dict[str, str],
    n: int,
    seen: list[Any],
) -> Any:
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        seen.append(case)
        response = case.call(base_url=base, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    return run


def fuzz_service(stack: Stack, service: str, budget: int) -> tuple[int, int, list[str]]:
    """Run about `budget` generated cases against `service`; answer (operations, cases run,
    failures)."""
    base = stack.url(service)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert operations, f"{service} publishes no operation"
    per_run = max(3, -(-budget // len(operations)))  # per mode: small spaces run out early
    headers = {"Authorization": f"Bearer {stack.token(roles=ROLES[service], office=OFFICE)}"}
    ran = 0
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            seen: list[Any] = []
            try:
                _fuzz_test(operation, mode, base, headers, per_run, seen)()
            except Unsatisfiable:  # e.g. no invalid request exists for GET /healthz
                pass
            except (
                Exception,
                BaseExceptionGroup,
            ) as failure:  # keep going: report every operation that fails
                failures.append(f"{service} {operation.label} [{mode.value}]:\n{failure}")
            ran += len(seen)
    return len(operations), ran, failures


@pytest.mark.parametrize("service", ["intake", "registry", "evidence", "notifier"])
def test_openapi_fuzz(fuzz_stack: Stack, service: str) -> None:
    started = time.monotonic()
    operations, ran, failures = fuzz_service(fuzz_stack, service, CASES)
    print(f"{service}: {operations} operations, {ran} cases in {time.monotonic() - started:.1f}s")
    assert not failures, "\n\n".join(failures)
    assert ran >= operations, f"only {ran} cases for {operations} operations"
