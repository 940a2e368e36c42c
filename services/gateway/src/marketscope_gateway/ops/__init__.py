"""What an operator of the platform sees (the admin-only ops API): each service's
readiness, the queues and dead-letter queues with redrive, event lag, the gateway's own
API latency and its recent errors."""
