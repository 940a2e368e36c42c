"""The scheduled quote refresh, the Lambda way: a ``handler(event, context)`` fed by the
EventBridge rule through the market-data queue, plus what the embedded stack adds because
its emulator fires no schedules (a scheduler that puts the rule's event on the bus, a
poller that plays Lambda's SQS event source mapping, and a live refresh loop)."""
