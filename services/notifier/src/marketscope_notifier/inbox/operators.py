"""Who gets ops notifications: the users the gateway signed with the admin role.

The gateway owns users and roles; the notifier learns its admins from the identities that
call it (every request carries its roles, signed). An admin is recorded at their first
request (the web app asks for the unread count at sign-in) and removed when the same user
comes without the role. One item per admin under ``Operators``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from marketscope_servicekit import Identity
from marketscope_servicekit.owned_index import table_errors

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

PARTITION = "Operators"


def _sort_key(user_id: str) -> str:
    return str(int(hashlib.sha256(user_id.encode()).hexdigest()[:15], 16))


class Operators:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name
        # What this process last wrote for each user: no write per request.
        self._known: dict[str, bool] = {}

    async def note(self, identity: Identity) -> None:
        """Record or forget ``identity`` as an admin, if that changed."""
        is_admin = identity.is_admin
        if self._known.get(identity.user_id) == is_admin:
            return
        key = {"pk": {"S": PARTITION}, "sk": {"N": _sort_key(identity.user_id)}}
        with table_errors():
            if is_admin:
                await self._db.put_item(
                    TableName=self._table, Item={**key, "user_id": {"S": identity.user_id}}
                )
            else:
                await self._db.delete_item(TableName=self._table, Key=key)
        self._known[identity.user_id] = is_admin

    async def admins(self) -> list[str]:
        users: list[str] = []
        request: dict[str, object] = {}
        while True:
            with table_errors():
                response = await self._db.query(
                    TableName=self._table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": PARTITION}},
                    ConsistentRead=True,
                    **request,  # type: ignore[arg-type]
                )
            users.extend(item["user_id"]["S"] for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return sorted(users)
            request = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
