"""The layout of a service table: event streams, snapshots, idempotency records, cache items.

Every service owns one table of this shape. Keys: ``pk`` (string) and ``sk`` (number: the
stream version, 0 for single items). Two sparse indexes: ``streams`` (only the first event
of a stream carries ``stream_category``, and single items a service lists by category,
such as market-data's watchlists) and ``outbox`` (only unpublished events carry
``outbox_status``). ``expires_at`` is the TTL attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import CreateTableInputTypeDef

STREAMS_INDEX = "streams"
OUTBOX_INDEX = "outbox"
TTL_ATTRIBUTE = "expires_at"
OUTBOX_PENDING = "pending"


def table_definition(table_name: str) -> dict[str, Any]:
    """Arguments for ``CreateTable``."""
    definition: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "stream_category", "AttributeType": "S"},
            {"AttributeName": "outbox_status", "AttributeType": "S"},
            {"AttributeName": "outbox_order", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": STREAMS_INDEX,
                "KeySchema": [
                    {"AttributeName": "stream_category", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": OUTBOX_INDEX,
                "KeySchema": [
                    {"AttributeName": "outbox_status", "KeyType": "HASH"},
                    {"AttributeName": "outbox_order", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    }
    return definition


async def ensure_table(dynamodb: DynamoDBClient, table_name: str) -> bool:
    """Create the table (and turn TTL on) unless it exists. Returns True when created."""
    try:
        await dynamodb.describe_table(TableName=table_name)
        return False
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    try:
        # table_definition is plain JSON (infra writes it to resources.json), so it is
        # typed as such; its shape is CreateTable's.
        definition = cast("CreateTableInputTypeDef", table_definition(table_name))
        await dynamodb.create_table(**definition)
    except dynamodb.exceptions.ResourceInUseException:
        return False
    waiter = dynamodb.get_waiter("table_exists")
    await waiter.wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    await dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return True
