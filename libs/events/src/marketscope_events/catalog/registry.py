"""The catalog: for every event, who produces it, its SNS topic and who subscribes.

Infra provisioning, the JSON Schema files and the AsyncAPI document are all generated
from this one registry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from marketscope_events.catalog.fields import EventData
from marketscope_events.catalog.upcasting import UpcasterChain
from marketscope_events.envelope import Envelope, EventType
from marketscope_events.errors import InvalidEventDataError, UnknownEventTypeError
from marketscope_events.timeutil import utc_now
from marketscope_events.tracing import current_traceparent

SERVICES: tuple[str, ...] = ("gateway", "chat", "market-data", "rag", "notifier")
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

    @property
    def topic(self) -> str:
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
    specs: Mapping[str, EventSpec]
    upcasters: UpcasterChain = field(default_factory=UpcasterChain)

    @classmethod
    def of(cls, specs: Iterable[EventSpec], upcasters: UpcasterChain) -> Catalog:
        by_name = {spec.name: spec for spec in specs}
        return cls(specs=by_name, upcasters=upcasters)

    def __iter__(self) -> Any:
        return iter(self.specs.values())

    def spec(self, name: str) -> EventSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise UnknownEventTypeError(name) from None

    def spec_for_type(self, event_type: str) -> EventSpec:
        parsed = EventType.parse(event_type)
        spec = self.specs.get(parsed.name)
        if spec is None or spec.producer != parsed.service or parsed.version not in spec.models:
            raise UnknownEventTypeError(event_type)
        return spec

    def subscriptions_of(self, service: str) -> list[EventSpec]:
        return [spec for spec in self.specs.values() if service in spec.subscribers]

    def produced_by(self, service: str) -> list[EventSpec]:
        return [spec for spec in self.specs.values() if spec.producer == service]

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
