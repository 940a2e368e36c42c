"""The CloudEvents 1.0 envelope every MarketScope event travels in.

Structured JSON mode: the context attributes and ``data`` are members of one JSON object.
Extensions: ``traceparent`` (W3C trace context), ``sequence`` (the event's version in its
stream) and ``dataversion`` (the version of ``data``'s schema, equal to the ``vN`` suffix
of ``type``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from marketscope_events.errors import MalformedEnvelopeError
from marketscope_events.timeutil import ensure_utc

EVENT_TYPE_PATTERN = re.compile(
    r"^marketscope\.(?P<service>[a-z][a-z0-9-]*)\.(?P<name>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)$"
)
TRACEPARENT_PATTERN = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class EventType:
    """A parsed ``marketscope.<service>.<Event>.v<N>`` type name."""

    service: str
    name: str
    version: int

    @classmethod
    def parse(cls, value: str) -> EventType:
        match = EVENT_TYPE_PATTERN.match(value)
        if match is None:
            raise MalformedEnvelopeError(
                f"type {value!r} is not of the form marketscope.<service>.<Event>.v<N>"
            )
        return cls(match["service"], match["name"], int(match["version"]))

    def __str__(self) -> str:
        return f"marketscope.{self.service}.{self.name}.v{self.version}"


class Envelope(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode with MarketScope's extensions."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1)
    type: str = Field(pattern=EVENT_TYPE_PATTERN.pattern)
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]
    traceparent: str | None = None
    sequence: int | None = Field(default=None, ge=1)
    dataversion: int = Field(ge=1)

    @field_validator("time")
    @classmethod
    def _time_in_utc(cls, value: datetime) -> datetime:
        return ensure_utc(value)

    @field_validator("traceparent", mode="before")
    @classmethod
    def _drop_unusable_traceparent(cls, value: object) -> object:
        # A broken trace header must not make an otherwise good event poison: drop it.
        if isinstance(value, str) and TRACEPARENT_PATTERN.match(value):
            return value
        return None

    @model_validator(mode="after")
    def _dataversion_matches_type(self) -> Self:
        if EventType.parse(self.type).version != self.dataversion:
            raise ValueError(
                f"dataversion {self.dataversion} does not match the version in type {self.type}"
            )
        return self

    @property
    def event_type(self) -> EventType:
        return EventType.parse(self.type)

    def with_sequence(self, sequence: int) -> Envelope:
        return self.model_copy(update={"sequence": sequence})

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Envelope:
        """Parse a JSON envelope; anything unusable raises `MalformedEnvelopeError`."""
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedEnvelopeError(f"not JSON: {exc}") from exc
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: object) -> Envelope:
        if not isinstance(document, dict):
            raise MalformedEnvelopeError("an envelope must be a JSON object")
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            event_id = document.get("id") if isinstance(document.get("id"), str) else None
            raise MalformedEnvelopeError(_describe(exc), event_id=event_id) from exc


def _describe(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'envelope'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    ]
    return "invalid envelope: " + "; ".join(problems)
