"""Which traces a service samples: X-Ray's sampling rules, in the OpenTelemetry pipeline.

A trace that starts here is decided by the X-Ray SDK's own ``LocalSampler`` with X-Ray's
rule semantics: per rule, a reservoir of traces each second, then a fixed rate of the
rest; custom rules match on host, method and path in order, the default rule takes the
others. X-Ray's default rule, the first request each second and 5 % of the others, is the
default here too. A trace that arrives (``traceparent`` on an HTTP call, or in an event
through SNS/SQS) keeps the caller's decision, so a trace is sent whole or not at all.

Spans that are not sampled are still recorded (``RECORD_ONLY``), never dropped outright:
`trace_keeping.KeepFailedOrSlow` decides when the request ends whether it failed or was
slow, and sends it anyway if so. Recording without sampling leaves the decision that
travels on (the W3C ``sampled`` flag, X-Ray's ``Sampled=0``) as the rule made it.

The SDK's centralised ``DefaultSampler`` (rules from ``GetSamplingRules``, quotas from
``GetSamplingTargets``) is not used: its two pollers are threads that cannot be stopped
and call X-Ray through a daemon address with a synchronous botocore client of their own,
where a service here talks to X-Ray with its app's aiobotocore client and has no daemon;
and the emulator has neither API. The same rules documents load locally instead
(``MARKETSCOPE_<SERVICE>_TRACE_SAMPLING_RULES``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from aws_xray_sdk.core.exceptions.exceptions import (  # type: ignore[import-untyped]
    InvalidSamplingManifestError,
)
from aws_xray_sdk.core.sampling.local.sampler import (  # type: ignore[import-untyped]
    LocalSampler,
)
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    StaticSampler,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_RESERVOIR",
    "RECORD_ONLY",
    "InvalidSamplingRules",
    "XRayRuleSampler",
    "check_rules",
    "sampling_request",
    "trace_sampler",
    "xray_rules",
]

# X-Ray's default rule: one trace a second, then five percent of the rest.
DEFAULT_RESERVOIR = 1
DEFAULT_RATE = 0.05
# The version of the X-Ray SDK's local rules document that names the host ``host``.
RULES_VERSION = 2


class InvalidSamplingRules(ValueError):
    """A sampling rules document the X-Ray SDK refuses (the reason is its own)."""


class _RecordOnly(StaticSampler):
    """Record, do not sample: the span can still be kept when its request ends."""

    def __init__(self) -> None:
        super().__init__(Decision.RECORD_ONLY)

    def get_description(self) -> str:
        return "RecordOnlySampler"


RECORD_ONLY: Sampler = _RecordOnly()


def xray_rules(*, rate: float = DEFAULT_RATE, reservoir: int = DEFAULT_RESERVOIR) -> dict[str, Any]:
    """The local rules document with only a default rule: ``reservoir`` traces a second,
    then ``rate`` (0 to 1) of the others."""
    return {
        "version": RULES_VERSION,
        "default": {"fixed_target": reservoir, "rate": rate},
        "rules": [],
    }


def check_rules(rules: Mapping[str, Any]) -> None:
    """Raise `InvalidSamplingRules` unless the X-Ray SDK loads ``rules``: settings check
    them at start, so a bad document stops the service instead of its first request."""
    _local_sampler(rules)


def _local_sampler(rules: Mapping[str, Any]) -> Any:
    try:
        # The SDK keeps the dicts it is given: a copy of its own, so no caller mutates it.
        return LocalSampler(copy.deepcopy(dict(rules)))
    except (InvalidSamplingManifestError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidSamplingRules(f"sampling rules refused: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    # The SDK raises with logging-style arguments: ("Manifest version: %s ...", 9).
    message, *values = exc.args or (str(exc),)
    if isinstance(message, str) and values:
        try:
            return message % tuple(values)
        except TypeError:
            pass
    return str(exc)


def _first(attributes: Mapping[str, Any], *names: str) -> str | None:
    # Old and new HTTP semantic conventions name the same thing differently.
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return str(value)
    return None


def sampling_request(attributes: Attributes) -> dict[str, str] | None:
    """What X-Ray's rules match on (host, method, path), from a starting span's
    attributes; None for a span that is no HTTP request (the default rule decides it:
    the SDK would let an empty request match its first custom rule)."""
    if not attributes:
        return None
    request: dict[str, str] = {}
    host = _first(attributes, "http.host", "server.address", "net.host.name")
    method = _first(attributes, "http.request.method", "http.method")
    path = _first(attributes, "url.path", "http.target")
    if host is not None:
        request["host"] = host
    if method is not None:
        request["method"] = method
    if path is not None:
        request["path"] = path.split("?", 1)[0]
    return request or None


class XRayRuleSampler(Sampler):
    """The X-Ray SDK's ``LocalSampler`` as an OpenTelemetry sampler, for traces that
    start here: sampled when the rule says so, recorded only otherwise."""

    def __init__(self, rules: Mapping[str, Any] | None = None) -> None:
        self._rules: Mapping[str, Any] = rules if rules is not None else xray_rules()
        self._sampler = _local_sampler(self._rules)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampled = bool(self._sampler.should_trace(sampling_request(attributes)))
        decision = Decision.RECORD_AND_SAMPLE if sampled else Decision.RECORD_ONLY
        # The span's attributes are the ones the result carries: hand them all back.
        return SamplingResult(decision, attributes, trace_state)

    def get_description(self) -> str:
        default = self._rules.get("default", {})
        custom = len(self._rules.get("rules", []))
        return (
            f"XRayRuleSampler{{reservoir={default.get('fixed_target')}/s,"
            f"rate={default.get('rate')},custom_rules={custom}}}"
        )


def trace_sampler(rules: Mapping[str, Any] | None = None) -> Sampler:
    """A service's sampler: X-Ray's ``rules`` for a trace that starts here, the parent's
    decision for every other span; what is not sampled is recorded only."""
    return ParentBased(
        root=XRayRuleSampler(rules),
        remote_parent_sampled=ALWAYS_ON,
        remote_parent_not_sampled=RECORD_ONLY,
        local_parent_sampled=ALWAYS_ON,
        local_parent_not_sampled=RECORD_ONLY,
    )
