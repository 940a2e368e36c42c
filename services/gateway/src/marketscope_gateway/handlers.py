"""The gateway's event consumers: events from the instance's queue, pushed to the
WebSocket clients entitled to them.

QuoteUpdated goes to ``quotes:<SYMBOL>`` subscribers; DocumentIndexed, NotificationCreated,
AnalysisProgressed, AnalysisCompleted and AnalysisFailed go to their ``owner``'s sockets
only, on ``documents``, ``notifications`` and ``analyses``. Each event is encoded once,
whatever the number of recipients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from marketscope_events import DecodedEvent, SqsConsumer
from marketscope_gateway.live.hub import Hub
from marketscope_gateway.live.protocol import EventMessage, encode
from marketscope_servicekit import MetricsRecorder

CHANNELS: dict[str, str] = {
    "QuoteUpdated": "quotes:{symbol}",
    "DocumentIndexed": "documents",
    "NotificationCreated": "notifications",
    "AnalysisProgressed": "analyses",
    "AnalysisCompleted": "analyses",
    "AnalysisFailed": "analyses",
}


class LivePush:
    def __init__(
        self,
        hub: Hub,
        metrics: MetricsRecorder,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._hub = hub
        self._metrics = metrics
        self._clock = clock

    def register(self, consumer: SqsConsumer) -> None:
        """What ``run_consumer`` calls with the instance queue's consumer."""
        for name in CHANNELS:
            consumer.on(name, self.handle)

    async def handle(self, event: DecodedEvent[Any]) -> None:
        started = time.perf_counter()
        envelope = event.envelope
        name = envelope.event_type.name
        data: dict[str, Any] = envelope.data
        channel = CHANNELS[name].format(symbol=data.get("symbol", ""))
        owner = None if name == "QuoteUpdated" else str(data["owner"])
        frame = encode(
            EventMessage(
                channel=channel,
                event=name,  # type: ignore[arg-type]  # a key of CHANNELS
                event_type=envelope.type,
                event_id=envelope.id,
                time=envelope.time,
                received_at=self._clock(),
                data=data,
            )
        )
        delivered = self._hub.publish(channel, frame, owner=owner)
        elapsed_ms = (time.perf_counter() - started) * 1000
        dimensions = {"Event": name}
        self._metrics.record(
            "WebSocketFanoutTime", elapsed_ms, unit="Milliseconds", dimensions=dimensions
        )
        self._metrics.increment("WebSocketMessages", delivered, dimensions=dimensions)
