"""``/api/v1/api-keys``: the caller's personal API keys (``auth/api_keys.py``). Managing
keys needs an access token: a key cannot create, list or revoke keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, status

from marketscope_gateway.api.deps import Gateway, SignedIn
from marketscope_gateway.auth.api_keys import display_prefix
from marketscope_gateway.errors import ApiKeyNotFound, Forbidden, TooManyApiKeys
from marketscope_gateway.schemas import ApiKey, NewApiKey, NewApiKeyIssued
from marketscope_gateway.store import ApiKeyRecord
from marketscope_servicekit.openapi_problems import problem_responses

router = APIRouter(prefix="/api/v1", tags=["api keys"])
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}$", examples=["1a2b3c4d"])]


def _time(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def _listed(record: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        id=record.key_id,
        name=record.name,
        prefix=display_prefix(record.key_id),
        created_at=_time(record.created_at),
        last_used_at=_time(record.last_used_at) if record.last_used_at is not None else None,
    )


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        Forbidden,
        TooManyApiKeys,
        descriptions={403: "Called with an API key", 409: "The caller holds 20 keys already"},
    ),
)
async def create_api_key(body: NewApiKey, caller: SignedIn, gateway: Gateway) -> NewApiKeyIssued:
    """A new key, usable as ``Authorization: Bearer <key>`` on the REST API and the
    OpenAI-compatible ``/openai/v1``. The whole key is in this answer only."""
    issued = await gateway.api_keys.create(caller.user_id, caller.email, body.name)
    return NewApiKeyIssued(
        id=issued.record.key_id,
        name=issued.record.name,
        prefix=issued.prefix,
        key=issued.key,
        created_at=_time(issued.record.created_at),
    )


@router.get("/api-keys", responses=problem_responses(Forbidden))
async def api_keys(caller: SignedIn, gateway: Gateway) -> list[ApiKey]:
    """The caller's keys, oldest first, without the keys themselves."""
    return [_listed(record) for record in await gateway.api_keys.keys_of(caller.user_id)]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Forbidden, ApiKeyNotFound),
)
async def revoke_api_key(key_id: KeyId, caller: SignedIn, gateway: Gateway) -> None:
    """Revoke one of the caller's keys: 401 for it from then on (on other instances of
    the gateway within seconds)."""
    await gateway.api_keys.revoke(caller.user_id, key_id)
