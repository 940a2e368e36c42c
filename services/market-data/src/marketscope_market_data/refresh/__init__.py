"""The scheduled quote refresh: EventBridge's Scheduled Event and the cron expressions it
fires on, the Lambda entry point (AWS's way of consuming the queue), and what the
embedded stack adds because its emulator fires no schedules (a scheduler that puts the
rule's event on the bus, and a live refresh loop). The app's own consumer of the queue
is handlers.py."""
