"""The chat service's event consumers: what `run_consumer`'s ``register`` adds.

The catalog routes AnalysisRequested to the chat queue; the analysis worker handles it
(`analyses/worker.py`). The consumer's visibility heartbeat keeps a long job's message
hidden and its claim held; a worker that dies lets both lapse, and the message comes
back to run the job's next attempt.
"""

from __future__ import annotations

from marketscope_chat.analyses.worker import AnalysisWorker
from marketscope_events import SqsConsumer


class ChatHandlers:
    def __init__(self, worker: AnalysisWorker) -> None:
        self._worker = worker

    def register(self, consumer: SqsConsumer) -> None:
        consumer.on("AnalysisRequested", self._worker.handle)
