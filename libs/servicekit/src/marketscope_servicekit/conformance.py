"""Holding a served app to its own OpenAPI document (imported by tests only).

`exercise_api` sends schemathesis-generated requests, valid and invalid, to every
operation of the document and checks each answer against it: no server error, a
documented status code, content type, schema and headers. Every failing check is
collected (not just the first), so one run shows all that the document gets wrong.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation

CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class ApiExercise:
    """What a run of `exercise_api` did and found."""

    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: set[str] = field(default_factory=set)

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())


def exercise_api(
    base_url: str,
    *,
    examples_per_operation: int,
    session: requests.Session | None = None,
    headers: dict[str, str] | None = None,
) -> ApiExercise:
    """Every operation of ``base_url``'s ``/openapi.json``, valid and invalid input alike,
    held to `CONFORMANCE_CHECKS`; ``session`` and ``headers`` go with every request."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    exercise = ApiExercise()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        exercise.operations += 1
        for mode in GenerationMode:
            _exercise_operation(operation, mode, examples_per_operation, exercise, session, headers)
    return exercise


def _exercise_operation(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    examples: int,
    exercise: ApiExercise,
    session: requests.Session | None,
    headers: dict[str, str] | None,
) -> None:
    # Hypothesis directly: schemathesis' own pytest plugin does not run under this pytest.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # Failures are collected, not raised: there is nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: schemathesis.Case[Any]) -> None:
        response = case.call(session=session, headers=headers, timeout=30)
        exercise.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CONFORMANCE_CHECKS)
        # Every failing check of every case, not just the first (a group of them is a
        # BaseExceptionGroup, so ``except Exception`` would miss it).
        except (Failure, FailureGroup) as exc:
            exercise.failures.add(f"{operation.label} ({mode.value}): {_summary(exc)}")

    # Unsatisfiable: no invalid input exists (an operation without parameters).
    with contextlib.suppress(Unsatisfiable):
        send()


def _summary(exc: Failure | FailureGroup) -> str:
    """The failures ``exc`` names, one line each (schemathesis groups them)."""
    failures = getattr(exc, "exceptions", None) or [exc]
    return "; ".join(_one_line(failure) for failure in failures)


def _one_line(failure: BaseException) -> str:
    if isinstance(failure, Failure):
        first = failure.message.strip().splitlines()[:1]
        return f"{failure.title}: {first[0]}" if first else failure.title
    return f"{type(failure).__name__}: {failure}"
