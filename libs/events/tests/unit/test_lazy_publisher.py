"""LazySnsPublisher: topic ARNs from STS on first publish; an STS failure is a PublishError
(which the relay retries), and the next publish asks STS again."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from marketscope_events import LazySnsPublisher
from marketscope_events.errors import PublishError

from ..helpers import quote_event

IDENTITY = {"Account": "123456789012", "Arn": "arn:aws-cn:iam::123456789012:user/ci"}


class FlakySts:
    """Fails with each of ``failures`` in turn, then answers."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def get_caller_identity(self) -> dict[str, str]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return IDENTITY


class RecordingSns:
    def __init__(self) -> None:
        self.topic_arns: list[str] = []

    async def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.topic_arns.append(kwargs["TopicArn"])
        entries = kwargs["PublishBatchRequestEntries"]
        return {"Successful": [{"Id": e["Id"], "MessageId": "m"} for e in entries], "Failed": []}


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "ExpiredToken", "Message": "x"}}, "GetCallerIdentity"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
)
async def test_sts_failure_is_a_publish_error_and_the_next_publish_asks_again(
    failure: Exception,
) -> None:
    sts, sns = FlakySts(failure), RecordingSns()
    publisher = LazySnsPublisher(sns, sts, "cn-north-1")  # type: ignore[arg-type]
    events = [quote_event(), quote_event(price="1")]

    with pytest.raises(PublishError) as caught:
        await publisher.publish_batch(events)

    assert caught.value.failed_event_ids == [e.id for e in events]
    assert caught.value.__cause__ is failure
    assert sns.topic_arns == []
    assert sorted(await publisher.publish_batch(events)) == sorted(e.id for e in events)
    assert sns.topic_arns == ["arn:aws-cn:sns:cn-north-1:123456789012:marketscope-quote-updated"]
    await publisher.publish_batch(events)
    assert sts.calls == 2  # resolved once, then kept
