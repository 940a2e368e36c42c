"""The one family of errors raised by marketscope_events.

Every AWS error code is translated into one of these at the adapter that saw it, so that
callers never have to look inside a botocore ``ClientError``.
"""

from __future__ import annotations


class EventsError(Exception):
    """Base class of every error this library raises."""


class MalformedEnvelopeError(EventsError):
    """A message is not a valid MarketScope CloudEvents envelope."""

    def __init__(self, reason: str, *, event_id: str | None = None) -> None:
        super().__init__(reason if event_id is None else f"{reason} (event {event_id})")
        self.reason = reason
        self.event_id = event_id


class UnknownEventTypeError(EventsError):
    """An envelope names an event type or version that the catalog does not know."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class InvalidEventDataError(EventsError):
    """The ``data`` of an envelope does not validate against its event model."""

    def __init__(self, event_type: str, event_id: str, detail: str) -> None:
        super().__init__(f"invalid data for {event_type} (event {event_id}): {detail}")
        self.event_type = event_type
        self.event_id = event_id
        self.detail = detail


class UpcastError(EventsError):
    """No upcaster chain leads from a stored version to the requested one."""

    def __init__(self, event_name: str, from_version: int, to_version: int) -> None:
        super().__init__(f"cannot upcast {event_name} from v{from_version} to v{to_version}")
        self.event_name = event_name
        self.from_version = from_version
        self.to_version = to_version


class ConcurrencyError(EventsError):
    """An append expected a stream version that is no longer (or not yet) current."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is not at version {expected_version}: "
            "another writer appended first"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version


class StoreUnavailableError(EventsError):
    """The event store could not be reached or throttled the request (retry later)."""


class EventStoreError(EventsError):
    """The event store refused a request for a reason retrying will not fix (a missing
    table, a validation error). ``code`` is the AWS error code, ``stream_id`` the stream
    the request was about (None for requests that span streams)."""

    def __init__(self, stream_id: str | None, code: str, detail: str) -> None:
        about = "the event store" if stream_id is None else f"stream {stream_id!r}"
        super().__init__(f"{code or 'error'} on {about}: {detail}")
        self.stream_id = stream_id
        self.code = code
        self.detail = detail


class PublishError(EventsError):
    """SNS refused or failed to publish one or more events."""

    def __init__(self, failed_event_ids: list[str], detail: str) -> None:
        super().__init__(f"failed to publish {len(failed_event_ids)} event(s): {detail}")
        self.failed_event_ids = failed_event_ids
        self.detail = detail


class UnpublishedEventError(EventsError):
    """An event the catalog keeps in its producer's stream only was handed to a publisher."""

    def __init__(self, event_type: str, event_id: str) -> None:
        super().__init__(
            f"{event_type} (event {event_id}) is stream-only: it has no topic and is never "
            "published; append it with publish=False"
        )
        self.event_type = event_type
        self.event_id = event_id


class IdempotencyError(EventsError):
    """Base class of idempotency-record conflicts."""


class EventAlreadyHandledError(IdempotencyError):
    """The event was already handled by this consumer: acknowledge without running again."""

    def __init__(self, consumer: str, event_id: str) -> None:
        super().__init__(f"{consumer} already handled event {event_id}")
        self.consumer = consumer
        self.event_id = event_id


class EventInProgressError(IdempotencyError):
    """Another worker is handling the event right now: try again after it finishes."""

    def __init__(self, consumer: str, event_id: str) -> None:
        super().__init__(f"{consumer} is already handling event {event_id}")
        self.consumer = consumer
        self.event_id = event_id


class HandlerError(EventsError):
    """Base class for failures raised by event handlers to say how to treat them."""


class TransientHandlerError(HandlerError):
    """Retry later: a timeout, a throttle, a dependency that is down."""


class TerminalHandlerError(HandlerError):
    """Retrying cannot help: the event is bad for this handler. It goes to the DLQ."""
