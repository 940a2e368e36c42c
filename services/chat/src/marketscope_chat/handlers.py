"""The chat service's event consumers: what `run_consumer`'s ``register`` adds.

The catalog routes QuoteUpdated and AnalysisRequested to the chat queue. None has a
handler yet, so main.py starts no consumer: a consumer without handlers would reject
every message to the dead-letter queue. Until one runs, the messages wait on the queue
(4 days' retention).
"""
