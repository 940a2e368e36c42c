"""The embedded emulator keeps AWS's behaviour where moto's differs (marketscope_emulator
.fidelity), checked over HTTP against the session's emulator."""

from __future__ import annotations

import uuid

import pytest

from marketscope_platform.aws import AwsClients

pytestmark = pytest.mark.integration


async def test_a_deleted_subscribed_queue_does_not_stop_delivery_to_the_others(
    aws: AwsClients,
) -> None:
    sns, sqs = await aws.client("sns"), await aws.client("sqs")
    suffix = uuid.uuid4().hex[:8]
    topic = (await sns.create_topic(Name=f"fidelity-{suffix}"))["TopicArn"]
    urls = []
    for name in (f"fidelity-gone-{suffix}", f"fidelity-kept-{suffix}"):
        url = (await sqs.create_queue(QueueName=name))["QueueUrl"]
        attributes = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        await sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"]
        )
        urls.append(url)
    gone, kept = urls
    await sqs.delete_queue(QueueUrl=gone)  # deleted without unsubscribing, as a crash leaves it

    await sns.publish(TopicArn=topic, Message="still delivered")

    received = await sqs.receive_message(QueueUrl=kept, WaitTimeSeconds=2)
    assert ["still delivered" in message["Body"] for message in received["Messages"]] == [True]
    await sqs.delete_queue(QueueUrl=kept)
    await sns.delete_topic(TopicArn=topic)
