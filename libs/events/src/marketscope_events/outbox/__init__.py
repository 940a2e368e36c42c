"""The transactional outbox relay."""

from marketscope_events.outbox.relay import EventPublisher, OutboxRelay

__all__ = ["EventPublisher", "OutboxRelay"]
