"""The catalog: for every event, who produces it, its SNS topic and who subscribes.

Infra provisioning, the JSON Schema files and the AsyncAPI document are all generated
from this one registry. A few events are kept in their producer's stream only (rag's
DocumentIndexingStarted): they are in the catalog so they decode and upcast like any
other, but they are unpublished, with no topic and no subscribers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from marketscope_events.catalog.fields import EventData
from marketscope_events.catalog.upcasting import UpcasterChain
from marketscope_events.envelope import Envelope, EventType
from marketscope_events.errors import (
    InvalidEventDataError,
    MalformedEnvelopeError,
    UnknownEventTypeError,
)
from marketscope_events.timeutil import utc_now
from marketscope_events.tracing import current_traceparent

RESOURCE_PREFIX = "marketscope"

DataT = TypeVar("DataT", bound=EventData)


def kebab_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def queue_name(service: str) -> str:
    """The SQS queue a service consumes from (gateway instances add a suffix)."""
    return f"{RESOURCE_PREFIX}-{service}"


def dlq_name(service: str) -> str:
    return f"{RESOURCE_PREFIX}-{service}-dlq"


def table_name(service: str) -> str:
    return f"{RESOURCE_PREFIX}-{service}"


def schema_uri(event_type: str) -> str:
    return f"urn:marketscope:schema:{event_type}"


@dataclass(frozen=True)
class EventSpec:
    """One event of the catalog, across all its versions."""

    name: str
    producer: str
    subscribers: frozenset[str]
    models: Mapping[int, type[EventData]]
    description: str
    published: bool = True

    def __post_init__(self) -> None:
        if not self.published and self.subscribers:
            raise ValueError(f"{self.name} is unpublished: nobody can subscribe to it")

    @property
    def topic(self) -> str | None:
        """The SNS topic, shared by all versions; None for an unpublished event."""
        if not self.published:
            return None
        return f"{RESOURCE_PREFIX}-{kebab_case(self.name)}"

    @property
    def latest_version(self) -> int:
        return max(self.models)

    def type_name(self, version: int | None = None) -> str:
        return str(EventType(self.producer, self.name, version or self.latest_version))

    def model(self, version: int) -> type[EventData]:
        try:
            return self.models[version]
        except KeyError:
            raise UnknownEventTypeError(self.type_name(version)) from None


@dataclass(frozen=True)
class DecodedEvent(Generic[DataT]):
    """An envelope together with its validated payload at the catalog's latest version."""

    envelope: Envelope
    data: DataT


@dataclass
class Catalog:
    """``specs`` are the published events, each with its topic, and iterating the catalog
    yields them: that is the contract between services that infra and the AsyncAPI
    document are made from. ``unpublished`` are the stream-only events. Lookups by name
    or type (`spec`, `new_event`, `decode`) know both."""

    specs: Mapping[str, EventSpec]
    upcasters: UpcasterChain = field(default_factory=UpcasterChain)
    unpublished: Mapping[str, EventSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(not spec.published for spec in self.specs.values()):
            raise ValueError("specs holds the published events only")
        if any(spec.published for spec in self.unpublished.values()):
            raise ValueError("unpublished holds the unpublished events only")
        if both := self.specs.keys() & self.unpublished.keys():
            raise ValueError(f"events both published and not: {sorted(both)}")

    @classmethod
    def of(cls, specs: Iterable[EventSpec], upcasters: UpcasterChain) -> Catalog:
        every = list(specs)
        return cls(
            specs={spec.name: spec for spec in every if spec.published},
            upcasters=upcasters,
            unpublished={spec.name: spec for spec in every if not spec.published},
        )

    def __iter__(self) -> Iterator[EventSpec]:
        """The published events."""
        return iter(self.specs.values())

    def all_specs(self) -> list[EventSpec]:
        """Every event, published ones first."""
        return [*self.specs.values(), *self.unpublished.values()]

    def spec(self, name: str) -> EventSpec:
        spec = self.specs.get(name) or self.unpublished.get(name)
        if spec is None:
            raise UnknownEventTypeError(name)
        return spec

    def spec_for_type(self, event_type: str) -> EventSpec:
        parsed = EventType.parse(event_type)
        spec = self.specs.get(parsed.name) or self.unpublished.get(parsed.name)
        if spec is None or spec.producer != parsed.service or parsed.version not in spec.models:
            raise UnknownEventTypeError(event_type)
        return spec

    def is_unpublished(self, event_type: str) -> bool:
        """True when ``event_type`` is a stream-only event of this catalog (False for a
        published or an unknown one)."""
        try:
            return not self.spec_for_type(event_type).published
        except (UnknownEventTypeError, MalformedEnvelopeError):
            return False

    def subscriptions_of(self, service: str) -> list[EventSpec]:
        return [spec for spec in self.specs.values() if service in spec.subscribers]

    def produced_by(self, service: str) -> list[EventSpec]:
        """The events ``service`` produces, published or not."""
        return [spec for spec in self.all_specs() if spec.producer == service]

    def new_event(
        self,
        data: EventData,
        *,
        subject: str | None = None,
        traceparent: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Wrap a payload in an envelope of its catalog type (sequence is set on append).
        With no ``traceparent`` the active span's is taken, so a trace follows the event
        through SNS and SQS without every producer having to pass it."""
        spec = self.spec(data.event_name)
        if spec.models.get(data.event_version) is not type(data):
            raise UnknownEventTypeError(spec.type_name(data.event_version))
        event_type = spec.type_name(data.event_version)
        return Envelope(
            id=event_id or str(uuid.uuid4()),
            source=f"/{RESOURCE_PREFIX}/{spec.producer}",
            type=event_type,
            time=time or utc_now(),
            subject=subject,
            dataschema=schema_uri(event_type),
            data=data.model_dump(mode="json"),
            traceparent=traceparent or current_traceparent(),
            dataversion=data.event_version,
        )

    def decode(self, envelope: Envelope) -> DecodedEvent[EventData]:
        """Validate ``data`` at its stored version and upcast it to the latest version."""
        spec = self.spec_for_type(envelope.type)
        stored_version = envelope.dataversion
        stored = self._validate(spec, stored_version, envelope.data, envelope.id)
        latest = spec.latest_version
        if stored_version == latest:
            return DecodedEvent(envelope, stored)
        upcast_data = self.upcasters.upcast(
            spec.name, stored.model_dump(mode="json"), stored_version, latest
        )
        current = self._validate(spec, latest, upcast_data, envelope.id)
        upcast_type = spec.type_name(latest)
        upcast_envelope = envelope.model_copy(
            update={
                "type": upcast_type,
                "dataversion": latest,
                "dataschema": schema_uri(upcast_type),
                "data": current.model_dump(mode="json"),
            }
        )
        return DecodedEvent(upcast_envelope, current)

    @staticmethod
    def _validate(
        spec: EventSpec, version: int, data: Mapping[str, Any], event_id: str
    ) -> EventData:
        try:
            return spec.model(version).model_validate(data)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors(include_url=False)
            )
            raise InvalidEventDataError(spec.type_name(version), event_id, detail) from exc
