"""The notifier service's event consumers: what `run_consumer`'s ``register`` adds.

The catalog routes QuoteUpdated, DocumentIndexed, AnalysisCompleted and AlertTriggered
to the notifier queue, and the ops alerts topic sends its CloudWatch alarms there too
(SNS-wrapped, not raw). None has a handler yet, so main.py starts no consumer: a
consumer without handlers would reject every message to the dead-letter queue. Until one
runs, the messages wait on the queue (4 days' retention).
"""
