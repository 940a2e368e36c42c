"""Personal API keys: a bearer credential for scripts and OpenAI-compatible clients,
usable wherever an access token is on the REST API and the OpenAI-compatible door.

A key reads ``msk_<id>_<secret>``: ``id`` is 8 random hex characters (the key's id and
what lists show), ``secret`` 32 random bytes (``secrets.token_urlsafe``). The table
holds the SHA-256 of the whole key, never the key: a password hash (argon2) exists to
slow the guessing of low-entropy secrets, and nobody guesses 256 random bits, so a
plain digest compared in constant time (``hmac.compare_digest``) is as strong and
costs microseconds per request rather than a worker thread's 50 ms.

Resolving a key costs a table read, so what it resolved to is kept here for
``cache_seconds``: a key revoked on this instance stops at once, on another instance
within that time. Its use is written at most once a ``touch_every_seconds`` per key
(conditionally, so instances that all see it write once between them).

A key acts with the ``user`` role only, and names no session: admin routes, the
management of keys themselves and the WebSocket need an access token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from marketscope_gateway.auth.tokens import AccessClaims
from marketscope_gateway.errors import ApiKeyIdTaken, InvalidToken, StoreUnavailable
from marketscope_gateway.store import ApiKeyRecord, GatewayStore

KEY_MARK = "msk_"
KEY_PATTERN = re.compile(r"^msk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$")
SECRET_BYTES = 32
MAX_KEYS_PER_USER = 20
CACHE_SECONDS = 5.0
TOUCH_EVERY_SECONDS = 60
MAX_CACHED = 10_000
NEW_ID_ATTEMPTS = 3
ROLES = frozenset({"user"})

logger = logging.getLogger(__name__)


def is_api_key(credential: str) -> bool:
    """Whether a bearer credential is meant as an API key (JWTs start ``eyJ``)."""
    return credential.startswith(KEY_MARK)


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    record: ApiKeyRecord
    key: str  # shown once, at creation

    @property
    def prefix(self) -> str:
        return display_prefix(self.record.key_id)


def display_prefix(key_id: str) -> str:
    """What every key with this id starts with, for lists to show."""
    return f"{KEY_MARK}{key_id}"


@dataclass
class _Resolved:
    record: ApiKeyRecord | None  # None: no such key (or no longer)
    until: float


class ApiKeys:
    def __init__(
        self,
        store: GatewayStore,
        *,
        limit: int = MAX_KEYS_PER_USER,
        cache_seconds: float = CACHE_SECONDS,
        touch_every_seconds: int = TOUCH_EVERY_SECONDS,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: secrets.token_hex(4),
        new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(SECRET_BYTES),
    ) -> None:
        self._store = store
        self.limit = limit
        self._cache_seconds = cache_seconds
        self._touch_every = touch_every_seconds
        self._clock = clock
        self._new_id = new_id
        self._new_secret = new_secret
        # By the presented key's digest, so a wrong secret for a known id (or a key
        # nobody holds) is answered from here too without another read.
        self._resolved: dict[str, _Resolved] = {}

    async def create(self, user_id: str, email: str, name: str) -> IssuedApiKey:
        """A new key of ``user_id``; TooManyApiKeys past the cap."""
        attempts = 0
        while True:
            attempts += 1
            key_id = self._new_id()
            key = f"{KEY_MARK}{key_id}_{self._new_secret()}"
            record = ApiKeyRecord(
                key_id=key_id,
                user_id=user_id,
                email=email,
                name=name,
                key_sha256=key_sha256(key),
                created_at=int(self._clock()),
            )
            try:
                await self._store.create_api_key(record, limit=self.limit)
            except ApiKeyIdTaken:
                if attempts >= NEW_ID_ATTEMPTS:
                    raise
                continue  # one chance in 4 billion per existing key: another id
            return IssuedApiKey(record, key)

    async def keys_of(self, user_id: str) -> list[ApiKeyRecord]:
        return await self._store.api_keys_of(user_id)

    async def revoke(self, user_id: str, key_id: str) -> None:
        """ApiKeyNotFound unless ``key_id`` is one of ``user_id``'s keys."""
        await self._store.delete_api_key(user_id, key_id)
        self._forget(key_id)

    async def resolve(self, key: str) -> AccessClaims:
        """The caller a key stands for, or InvalidToken (401) for a malformed, unknown
        or revoked one; StoreUnavailable (503) when the table does not answer."""
        match = KEY_PATTERN.match(key)
        if match is None:
            raise InvalidToken("The API key is malformed.")
        now = self._clock()
        digest = key_sha256(key)
        cached = self._resolved.get(digest)
        if cached is None or cached.until <= now:
            cached = _Resolved(
                await self._lookup(match.group(1), digest), now + self._cache_seconds
            )
            self._remember(digest, cached, now)
        if cached.record is None:
            raise InvalidToken("The API key is not valid: unknown or revoked.")
        cached.record = await self._touched(cached.record, int(now))
        record = cached.record
        return AccessClaims(
            user_id=record.user_id,
            email=record.email,
            roles=ROLES,
            expires_at=int(cached.until),
            api_key_id=record.key_id,
        )

    async def _lookup(self, key_id: str, digest: str) -> ApiKeyRecord | None:
        record = await self._store.get_api_key(key_id)
        if record is None or not hmac.compare_digest(record.key_sha256, digest):
            return None
        return record

    async def _touched(self, record: ApiKeyRecord, now: int) -> ApiKeyRecord:
        """``record`` with its use recorded, when none was this past minute."""
        since = now - self._touch_every
        if record.last_used_at is not None and record.last_used_at > since:
            return record
        try:
            await self._store.touch_api_key(record.key_id, now, unless_since=since + 1)
        except StoreUnavailable:
            # Bookkeeping: the request goes on; the next use past the minute tries again.
            logger.warning("could not record the use of API key %s", record.key_id, exc_info=True)
            return record
        # Written here or by another instance: either way this minute's use is recorded.
        return replace(record, last_used_at=now)

    def _remember(self, digest: str, resolved: _Resolved, now: float) -> None:
        if len(self._resolved) >= MAX_CACHED:
            self._resolved = {d: r for d, r in self._resolved.items() if r.until > now}
            if len(self._resolved) >= MAX_CACHED:
                self._resolved.clear()  # a flood of distinct keys: start over
        self._resolved[digest] = resolved

    def _forget(self, key_id: str) -> None:
        self._resolved = {
            digest: resolved
            for digest, resolved in self._resolved.items()
            if resolved.record is None or resolved.record.key_id != key_id
        }
