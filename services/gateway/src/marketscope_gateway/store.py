"""The gateway's table: users, refresh-token families, personal API keys and the
throttles' counters.

One DynamoDB table (``pk`` S, ``sk`` N, TTL attribute ``expires_at``), single items at
``sk = 0`` except the counters, whose ``sk`` is the fixed window they count in:

| item | pk | holds |
|---|---|---|
| user | ``User#<user_id>`` | email, argon2 hash, roles, created_at |
| email claim | ``Email#<canonical email>`` | user_id (makes emails unique) |
| refresh family | ``RefreshFamily#<family_id>`` | user_id, generation, revoked, expires_at |
| API key | ``ApiKey#<key id>`` | user_id, email, name, key_sha256, created_at, last_used_at |
| a user's API keys | ``UserApiKeys#<user_id>`` | key_ids (string set), at most the cap |
| counter | ``Counter#<name>`` (sk = window number) | count, last_at, expires_at |
| handled event | ``Idempotency#gateway-<instance>#<event id>`` | the live feed consumer's |

Reads ignore items whose ``expires_at`` has passed: DynamoDB deletes them late, the
emulator never.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import cancellation_codes, error_code
from marketscope_gateway.errors import (
    ApiKeyIdTaken,
    ApiKeyNotFound,
    EmailTaken,
    StoreUnavailable,
    TooManyApiKeys,
    UserNotFound,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import DeleteTypeDef, PutTypeDef, UpdateTypeDef

CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    email: str
    password_hash: str
    roles: frozenset[str]
    created_at: int


@dataclass(frozen=True)
class CounterValue:
    count: int
    last_at: float | None  # when it was last incremented (epoch seconds)


@dataclass(frozen=True)
class FamilyRecord:
    family_id: str
    user_id: str
    generation: int
    revoked: bool
    expires_at: int


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    user_id: str
    email: str
    name: str
    key_sha256: str  # never the key itself
    created_at: int
    last_used_at: int | None = None


AwsFailure = ClientError | BotoCoreError


def _unavailable(action: str, exc: AwsFailure) -> StoreUnavailable:
    """What the table said (an error code), or that it did not answer at all (botocore's
    connection and timeout errors): either way the request may work later."""
    reason = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return StoreUnavailable(f"{action} failed: {reason}")


def _condition_failed(exc: AwsFailure) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) == CONDITION_FAILED


class GatewayStore:
    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._clock = clock

    def _key(self, pk: str, sk: int = 0) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"N": str(sk)}}

    async def _get(self, pk: str, sk: int = 0) -> dict[str, Any] | None:
        try:
            response = await self._db.get_item(
                TableName=self._table, Key=self._key(pk, sk), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("reading the gateway table", exc) from exc
        item: dict[str, Any] | None = response.get("Item")
        if item is None:
            return None
        expires = item.get("expires_at")
        if expires is not None and int(expires["N"]) <= self._clock():
            return None
        return item

    # ------------------------------------------------------------------ users

    async def create_user(self, user: UserRecord) -> None:
        """Raises EmailTaken when another account holds the email."""
        user_item = {
            **self._key(f"User#{user.user_id}"),
            "email": {"S": user.email},
            "password_hash": {"S": user.password_hash},
            "roles": {"SS": sorted(user.roles)},
            "created_at": {"N": str(user.created_at)},
        }
        email_item = {**self._key(f"Email#{user.email}"), "user_id": {"S": user.user_id}}
        try:
            await self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": email_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": user_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and "ConditionalCheckFailed" in cancellation_codes(exc):
                raise EmailTaken() from exc
            raise _unavailable("creating the user", exc) from exc

    async def get_user(self, user_id: str) -> UserRecord | None:
        item = await self._get(f"User#{user_id}")
        if item is None:
            return None
        return UserRecord(
            user_id=user_id,
            email=item["email"]["S"],
            password_hash=item["password_hash"]["S"],
            roles=frozenset(item.get("roles", {}).get("SS", [])),
            created_at=int(item["created_at"]["N"]),
        )

    async def find_user_by_email(self, email: str) -> UserRecord | None:
        claim = await self._get(f"Email#{email}")
        return None if claim is None else await self.get_user(claim["user_id"]["S"])

    async def _update_user(self, user_id: str, attribute: str, value: dict[str, Any]) -> None:
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(f"User#{user_id}"),
                # Names, not words: some attribute names are DynamoDB reserved words.
                UpdateExpression="SET #attribute = :value",
                ExpressionAttributeNames={"#attribute": attribute},
                ExpressionAttributeValues={":value": value},
                ConditionExpression="attribute_exists(pk)",
            )
        except (ClientError, BotoCoreError) as exc:
            if _condition_failed(exc):
                raise UserNotFound(user_id) from exc
            raise _unavailable("updating the user", exc) from exc

    async def set_roles(self, user_id: str, roles: frozenset[str]) -> None:
        await self._update_user(user_id, "roles", {"SS": sorted(roles)})

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._update_user(user_id, "password_hash", {"S": password_hash})

    # ---------------------------------------------------------- refresh families

    async def create_family(self, family_id: str, user_id: str, expires_at: int) -> None:
        try:
            await self._db.put_item(
                TableName=self._table,
                Item={
                    **self._key(f"RefreshFamily#{family_id}"),
                    "user_id": {"S": user_id},
                    "generation": {"N": "1"},
                    "revoked": {"BOOL": False},
                    "expires_at": {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("creating a session", exc) from exc

    async def get_family(self, family_id: str) -> FamilyRecord | None:
        item = await self._get(f"RefreshFamily#{family_id}")
        if item is None:
            return None
        return FamilyRecord(
            family_id=family_id,
            user_id=item["user_id"]["S"],
            generation=int(item["generation"]["N"]),
            revoked=bool(item["revoked"]["BOOL"]),
            expires_at=int(item["expires_at"]["N"]),
        )

    async def advance_family(self, family_id: str, generation: int, expires_at: int) -> bool:
        """Move the family from ``generation`` to the next one; False when another use of
        the same token got there first (which is a reuse)."""
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(f"RefreshFamily#{family_id}"),
                UpdateExpression="SET #generation = :next, #expires = :expires",
                ConditionExpression="#generation = :current AND #revoked = :no",
                ExpressionAttributeNames={
                    "#generation": "generation",
                    "#expires": "expires_at",
                    "#revoked": "revoked",
                },
                ExpressionAttributeValues={
                    ":current": {"N": str(generation)},
                    ":next": {"N": str(generation + 1)},
                    ":expires": {"N": str(expires_at)},
                    ":no": {"BOOL": False},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            if _condition_failed(exc):
                return False
            raise _unavailable("rotating the session", exc) from exc
        return True

    async def revoke_family(self, family_id: str) -> None:
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(f"RefreshFamily#{family_id}"),
                UpdateExpression="SET #revoked = :yes",
                ExpressionAttributeNames={"#revoked": "revoked"},
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not _condition_failed(exc):  # no such family: nothing to revoke
                raise _unavailable("revoking", exc) from exc

    # ------------------------------------------------------------------ API keys

    async def create_api_key(self, key: ApiKeyRecord, *, limit: int) -> None:
        """The key and its place in its user's list, together. Raises ApiKeyIdTaken when
        the id is another key's, TooManyApiKeys when the user holds ``limit`` already."""
        item = {
            **self._key(f"ApiKey#{key.key_id}"),
            "user_id": {"S": key.user_id},
            "email": {"S": key.email},
            "name": {"S": key.name},
            "key_sha256": {"S": key.key_sha256},
            "created_at": {"N": str(key.created_at)},
        }
        listed: UpdateTypeDef = {
            "TableName": self._table,
            "Key": self._key(f"UserApiKeys#{key.user_id}"),
            # The condition counts the list: concurrent creations cannot pass the cap.
            "UpdateExpression": "ADD #ids :id",
            "ConditionExpression": "attribute_not_exists(#ids) OR size(#ids) < :limit",
            "ExpressionAttributeNames": {"#ids": "key_ids"},
            "ExpressionAttributeValues": {":id": {"SS": [key.key_id]}, ":limit": {"N": str(limit)}},
        }
        new_item: PutTypeDef = {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            await self._db.transact_write_items(
                TransactItems=[{"Put": new_item}, {"Update": listed}]
            )
        except (ClientError, BotoCoreError) as exc:
            codes = cancellation_codes(exc) if isinstance(exc, ClientError) else []
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise ApiKeyIdTaken(key.key_id) from exc
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise TooManyApiKeys(limit) from exc
            raise _unavailable("creating the API key", exc) from exc

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        item = await self._get(f"ApiKey#{key_id}")
        if item is None:
            return None
        last_used = item.get("last_used_at")
        return ApiKeyRecord(
            key_id=key_id,
            user_id=item["user_id"]["S"],
            email=item["email"]["S"],
            name=item["name"]["S"],
            key_sha256=item["key_sha256"]["S"],
            created_at=int(item["created_at"]["N"]),
            last_used_at=int(last_used["N"]) if last_used else None,
        )

    async def api_keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        """The user's keys, oldest first."""
        listed = await self._get(f"UserApiKeys#{user_id}")
        key_ids = listed.get("key_ids", {}).get("SS", []) if listed else []
        found = await asyncio.gather(*(self.get_api_key(key_id) for key_id in key_ids))
        keys = [key for key in found if key is not None and key.user_id == user_id]
        return sorted(keys, key=lambda key: (key.created_at, key.key_id))

    async def delete_api_key(self, user_id: str, key_id: str) -> None:
        """Raises ApiKeyNotFound unless the key exists and is ``user_id``'s."""
        owned: DeleteTypeDef = {
            "TableName": self._table,
            "Key": self._key(f"ApiKey#{key_id}"),
            "ConditionExpression": "#user = :user",
            "ExpressionAttributeNames": {"#user": "user_id"},
            "ExpressionAttributeValues": {":user": {"S": user_id}},
        }
        unlisted: UpdateTypeDef = {
            "TableName": self._table,
            "Key": self._key(f"UserApiKeys#{user_id}"),
            "UpdateExpression": "DELETE #ids :id",
            "ExpressionAttributeNames": {"#ids": "key_ids"},
            "ExpressionAttributeValues": {":id": {"SS": [key_id]}},
        }
        try:
            await self._db.transact_write_items(
                TransactItems=[{"Delete": owned}, {"Update": unlisted}]
            )
        except (ClientError, BotoCoreError) as exc:
            codes = cancellation_codes(exc) if isinstance(exc, ClientError) else []
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise ApiKeyNotFound(key_id) from exc
            raise _unavailable("revoking the API key", exc) from exc

    async def touch_api_key(self, key_id: str, at: int, *, unless_since: int) -> bool:
        """Record a use at ``at`` unless one at ``unless_since`` or later is recorded
        already (so instances that all see the key write once); False when not written."""
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(f"ApiKey#{key_id}"),
                UpdateExpression="SET #used = :at",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(#used) OR #used < :since)"
                ),
                ExpressionAttributeNames={"#used": "last_used_at"},
                ExpressionAttributeValues={
                    ":at": {"N": str(at)},
                    ":since": {"N": str(unless_since)},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            if _condition_failed(exc):
                return False
            raise _unavailable("recording the API key's use", exc) from exc
        return True

    # ------------------------------------------------------------------ counters

    async def count(self, counter: str, window: int) -> CounterValue:
        """The counter's value in ``window`` (zero when it has none yet)."""
        item = await self._get(f"Counter#{counter}", window)
        if item is None:
            return CounterValue(0, None)
        return CounterValue(int(item["count"]["N"]), float(item["last_at"]["N"]))

    async def increment(
        self, counter: str, window: int, *, at: float, expires_at: int, below: int | None = None
    ) -> int | None:
        """Add one to the counter of ``window`` and return the new value; with ``below``,
        only while the value is under it (atomically, so concurrent callers never get
        past it together), returning None when it has reached it."""
        names = {"#count": "count", "#last": "last_at", "#expires": "expires_at"}
        values: dict[str, Any] = {
            ":one": {"N": "1"},
            ":at": {"N": repr(at)},
            ":expires": {"N": str(expires_at)},
        }
        condition: dict[str, Any] = {}
        if below is not None:
            condition["ConditionExpression"] = "attribute_not_exists(#count) OR #count < :below"
            values[":below"] = {"N": str(below)}
        try:
            response = await self._db.update_item(
                TableName=self._table,
                Key=self._key(f"Counter#{counter}", window),
                UpdateExpression="ADD #count :one SET #last = :at, #expires = :expires",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                **condition,
            )
        except (ClientError, BotoCoreError) as exc:
            if _condition_failed(exc):
                return None
            raise _unavailable("counting", exc) from exc
        return int(response["Attributes"]["count"]["N"])

    async def decrement(self, counter: str, window: int) -> None:
        """Take back one ``increment`` (of an attempt that turned out not to count)."""
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._key(f"Counter#{counter}", window),
                UpdateExpression="ADD #count :minus_one",
                ConditionExpression="attribute_exists(#count)",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={":minus_one": {"N": "-1"}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not _condition_failed(exc):  # already gone: nothing to take back
                raise _unavailable("counting", exc) from exc

    async def clear(self, counter: str, window: int) -> None:
        try:
            await self._db.delete_item(
                TableName=self._table, Key=self._key(f"Counter#{counter}", window)
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("clearing a counter", exc) from exc
