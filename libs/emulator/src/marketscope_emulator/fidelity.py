"""Where moto's server behaves unlike AWS in a way that breaks a correct client, the
embedded emulator behaves like AWS. Applied once in the emulator process (``wsgi``).

- SNS delivery to a deleted SQS queue: AWS drops that one delivery and goes on with the
  topic's other subscriptions. moto raises ``QueueDoesNotExist`` out of ``Publish``, so a
  single queue deleted without unsubscribing (a gateway instance that died) would make
  every later publish to its topic fail for everyone.
- DynamoDB conditional writes: AWS checks a write's condition and applies it as one step
  (a transaction likewise). moto checks, then writes, with nothing between them, and the
  server answers requests on many threads: two creations racing for a list's last place
  both pass a ``size(...) < :limit`` condition. Writes are serialised by one lock.
"""

from __future__ import annotations

import logging
import threading
from functools import wraps
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.sns.models import Subscription
from moto.sqs.exceptions import QueueDoesNotExist

logger = logging.getLogger(__name__)
_APPLIED = "_marketscope_skips_deleted_queues"
_ATOMIC = "_marketscope_atomic_writes"
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def skip_deliveries_to_deleted_queues() -> None:
    """Make an SNS delivery to a queue that no longer exists a dropped delivery."""
    if getattr(Subscription, _APPLIED, False):
        return
    publish = Subscription.publish

    @wraps(publish)
    def publish_like_aws(self: Subscription, *args: Any, **kwargs: Any) -> None:
        try:
            publish(self, *args, **kwargs)
        except QueueDoesNotExist:
            if self.protocol != "sqs":
                raise
            logger.warning("dropped an SNS delivery to deleted queue %s", self.endpoint)

    Subscription.publish = publish_like_aws  # type: ignore[method-assign]
    setattr(Subscription, _APPLIED, True)


def atomic_dynamodb_writes() -> None:
    """Check a write's condition and apply it with no other write in between."""
    if getattr(DynamoDBBackend, _ATOMIC, False):
        return
    lock = threading.RLock()  # a transaction's own writes may go through put_item
    for name in DYNAMODB_WRITES:
        write = getattr(DynamoDBBackend, name)

        def serialised(*args: Any, _write: Any = write, **kwargs: Any) -> Any:
            with lock:
                return _write(*args, **kwargs)

        setattr(DynamoDBBackend, name, wraps(write)(serialised))
    setattr(DynamoDBBackend, _ATOMIC, True)


def apply() -> None:
    skip_deliveries_to_deleted_queues()
    atomic_dynamodb_writes()
