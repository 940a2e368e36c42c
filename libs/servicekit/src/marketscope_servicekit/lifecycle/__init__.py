"""A service's life: its built components, its background jobs (consumers, the outbox
relay, schedulers), and how both start and stop."""

from marketscope_servicekit.lifecycle.background import BackgroundJob, BackgroundTasks
from marketscope_servicekit.lifecycle.components import components_of
from marketscope_servicekit.lifecycle.consumers import ConsumerOptions, queue_url_of, run_consumer
from marketscope_servicekit.lifecycle.publishing import build_relay, run_relay
from marketscope_servicekit.stopping import pause, until_stopped

__all__ = [
    "BackgroundJob",
    "BackgroundTasks",
    "ConsumerOptions",
    "build_relay",
    "components_of",
    "pause",
    "queue_url_of",
    "run_consumer",
    "run_relay",
    "until_stopped",
]
