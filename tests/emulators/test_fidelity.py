"""The embedded emulator keeps AWS's behaviour where moto's differs (marketscope_emulator
.fidelity), checked over HTTP against the session's emulator."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

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


async def test_racing_conditional_writes_pass_their_condition_one_at_a_time(
    aws: AwsClients,
) -> None:
    """Sixty concurrent adds to a set capped at twenty by the condition: twenty succeed."""
    dynamodb = await aws.client("dynamodb")
    table = f"fidelity-{uuid.uuid4().hex[:8]}"
    await dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    async def add(member: str) -> bool:
        try:
            await dynamodb.update_item(
                TableName=table,
                Key={"pk": {"S": "capped"}},
                UpdateExpression="ADD #ids :id",
                ConditionExpression="attribute_not_exists(#ids) OR size(#ids) < :limit",
                ExpressionAttributeNames={"#ids": "ids"},
                ExpressionAttributeValues={":id": {"SS": [member]}, ":limit": {"N": "20"}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    try:
        passed = await asyncio.gather(*(add(f"m{i}") for i in range(60)))
        item = await dynamodb.get_item(TableName=table, Key={"pk": {"S": "capped"}})
    finally:
        await dynamodb.delete_table(TableName=table)
    assert sum(passed) == 20
    assert len(item["Item"]["ids"]["SS"]) == 20


async def _keyed_table(dynamodb: Any) -> str:
    table = f"fidelity-{uuid.uuid4().hex[:8]}"
    await dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return table


def _key(pk: str, sk: int) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


async def _items(dynamodb: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    found = await dynamodb.scan(TableName=table, ConsistentRead=True)
    return {(i["pk"]["S"], i["sk"]["N"]): i for i in found["Items"]}


async def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws: AwsClients) -> None:
    """Its earlier actions applied, a later condition fails: nothing of it stays."""
    dynamodb = await aws.client("dynamodb")
    table = await _keyed_table(dynamodb)
    try:
        await dynamodb.put_item(TableName=table, Item={**_key("s", 1), "v": {"N": "1"}})
        await dynamodb.put_item(TableName=table, Item={**_key("s", 2), "v": {"N": "1"}})
        before = await _items(dynamodb, table)
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            await dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {**_key("s", 3), "v": {"N": "9"}}}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": _key("s", 1),
                            "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": "2"}},
                        }
                    },
                    {"Delete": {"TableName": table, "Key": _key("s", 2)}},
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": _key("s", 4),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        after = await _items(dynamodb, table)
        await dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**_key("s", 3), "v": {"N": "3"}}}},
                {"Delete": {"TableName": table, "Key": _key("s", 2)}},
            ]
        )
        committed = await _items(dynamodb, table)
    finally:
        await dynamodb.delete_table(TableName=table)
    assert after == before
    assert sorted(committed) == [("s", "1"), ("s", "3")]
    assert committed[("s", "3")]["v"] == {"N": "3"}


async def test_a_refused_transaction_naming_one_item_twice_changes_nothing(
    aws: AwsClients,
) -> None:
    dynamodb = await aws.client("dynamodb")
    table = await _keyed_table(dynamodb)
    try:
        with pytest.raises(ClientError) as refused:
            await dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {**_key("t", 1), "v": {"N": "1"}}}},
                    {"Delete": {"TableName": table, "Key": _key("t", 1)}},
                ]
            )
        left = await _items(dynamodb, table)
    finally:
        await dynamodb.delete_table(TableName=table)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert left == {}


async def test_a_key_query_reads_its_partition_in_order_and_pages(aws: AwsClients) -> None:
    dynamodb = await aws.client("dynamodb")
    table = await _keyed_table(dynamodb)
    try:
        for sk in (5, 1, 12, 3, 8):  # written out of order
            await dynamodb.put_item(TableName=table, Item=_key("mine", sk))
            await dynamodb.put_item(TableName=table, Item=_key("other", sk))
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND sk > :low",
            "ExpressionAttributeValues": {":pk": {"S": "mine"}, ":low": {"N": "1"}},
            "Limit": 2,
        }
        pages = []
        while True:
            page = await dynamodb.query(**request)
            pages.append([int(item["sk"]["N"]) for item in page["Items"]])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        backwards = await dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "mine"}},
            ScanIndexForward=False,
        )
        missing = await dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "nobody"}},
        )
        everything = await dynamodb.scan(TableName=table)
    finally:
        await dynamodb.delete_table(TableName=table)
    assert [sk for page in pages for sk in page] == [3, 5, 8, 12]
    assert all(len(page) <= 2 for page in pages)
    assert [int(i["sk"]["N"]) for i in backwards["Items"]] == [12, 8, 5, 3, 1]
    assert missing["Items"] == []
    assert len(everything["Items"]) == 10  # the table's other uses still see every item
