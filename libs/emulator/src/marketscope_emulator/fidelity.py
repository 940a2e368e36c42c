"""Where moto's server behaves unlike AWS in a way that breaks a correct client, the
embedded emulator behaves like AWS. Applied once in the emulator process (``wsgi``).

- SNS delivery to a deleted SQS queue: AWS drops that one delivery and goes on with the
  topic's other subscriptions. moto raises ``QueueDoesNotExist`` out of ``Publish``, so a
  single queue deleted without unsubscribing (a gateway instance that died) would make
  every later publish to its topic fail for everyone.
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any

from moto.sns.models import Subscription
from moto.sqs.exceptions import QueueDoesNotExist

logger = logging.getLogger(__name__)
_APPLIED = "_marketscope_skips_deleted_queues"


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


def apply() -> None:
    skip_deliveries_to_deleted_queues()
