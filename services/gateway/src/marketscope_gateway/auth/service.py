"""Accounts and sessions: register, log in, rotate refresh tokens, log out, roles.

A session is a refresh-token family. Each refresh hands out the family's next generation
and retires the one presented; presenting a retired generation again means the token was
copied, so the whole family is revoked and its holder (honest or not) must log in again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from marketscope_gateway.auth.emails import canonical_email, fold_email, legacy_email
from marketscope_gateway.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Passwords
from marketscope_gateway.auth.throttle import LoginThrottle, RegistrationThrottle
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidRequest,
    InvalidToken,
    RefreshTokenReused,
    UserNotFound,
)
from marketscope_gateway.store import GatewayStore, UserRecord

ROLES = frozenset({"user", "admin"})


@dataclass(frozen=True)
class Session:
    access_token: str
    access_expires_at: int
    refresh_token: str
    refresh_expires_at: int
    user: UserRecord
    roles: frozenset[str]


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )


class AuthService:
    def __init__(
        self,
        store: GatewayStore,
        tokens: TokenCodec,
        throttle: LoginThrottle,
        registrations: RegistrationThrottle,
        *,
        passwords: Passwords | None = None,
        admin_emails: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        on_session_ended: Callable[[str], object] = lambda _session_id: None,
    ) -> None:
        self._store = store
        self.tokens = tokens
        self._throttle = throttle
        self._registrations = registrations
        self._passwords = passwords or Passwords()
        self._admin_emails = frozenset(fold_email(email) for email in admin_emails)
        self._clock = clock
        self._new_id = new_id
        # Told the family id of every session that ends here (its open sockets close).
        self._on_session_ended = on_session_ended

    def roles_of(self, user: UserRecord) -> frozenset[str]:
        """Stored roles, plus admin for the operator-listed emails."""
        if fold_email(user.email) in self._admin_emails:
            return user.roles | {"admin"}
        return user.roles

    async def register(self, email: str, password: str, client_ip: str) -> UserRecord:
        """A new account under the canonical form of ``email``; each attempt from
        ``client_ip`` that gets as far as hashing the password counts against its limit."""
        typed, email = email, canonical_email(email)
        check_password_policy(password)
        await self._registrations.admit(client_ip)
        if await self._find_user(typed, email) is not None:
            raise EmailTaken()
        user = UserRecord(
            user_id=self._new_id(),
            email=email,
            password_hash=await self._passwords.hash(password),
            roles=frozenset({"user"}),  # admin is granted, never chosen at sign-up
            created_at=int(self._clock()),
        )
        await self._store.create_user(user)
        return user

    async def login(self, email: str, password: str, client_ip: str) -> Session:
        typed, email = email, canonical_email(email)
        attempt = await self._throttle.admit(email, client_ip)
        user = await self._find_user(typed, email)
        if user is None:
            await self._passwords.burn(password)
        if user is None or not await self._passwords.verify(user.password_hash, password):
            await attempt.failed()
            raise InvalidCredentials()
        await attempt.succeeded()
        if self._passwords.needs_rehash(user.password_hash):
            await self._store.set_password_hash(user.user_id, await self._passwords.hash(password))
        family_id = self._new_id()
        refresh_expires = int(self._clock()) + self.tokens.refresh_ttl
        await self._store.create_family(family_id, user.user_id, refresh_expires)
        return self._session(user, family_id, 1)

    async def _find_user(self, typed: str, email: str) -> UserRecord | None:
        """The account of the canonical ``email``, or else the one stored under the
        earlier form (``strip().lower()``) of what was typed."""
        user = await self._store.find_user_by_email(email)
        if user is None and legacy_email(typed) != email:
            user = await self._store.find_user_by_email(legacy_email(typed))
        return user

    async def refresh(self, refresh_token: str) -> Session:
        claims = self.tokens.read_refresh(refresh_token)
        family = await self._store.get_family(claims.family_id)
        if family is None or family.revoked or family.user_id != claims.user_id:
            raise InvalidToken("The session has ended; log in again.")
        if claims.generation > family.generation:
            raise InvalidToken("The refresh token is not valid.")
        if claims.generation < family.generation:
            await self._end_session(family.family_id)
            raise RefreshTokenReused()
        refresh_expires = int(self._clock()) + self.tokens.refresh_ttl
        if not await self._store.advance_family(
            family.family_id, claims.generation, refresh_expires
        ):
            # Two uses of one token raced: the loser is a reuse all the same.
            await self._end_session(family.family_id)
            raise RefreshTokenReused()
        user = await self._store.get_user(claims.user_id)
        if user is None:
            await self._end_session(family.family_id)
            raise InvalidToken("The account no longer exists.")
        return self._session(user, family.family_id, claims.generation + 1)

    async def logout(self, refresh_token: str) -> None:
        """Ends the session (every generation of its family) and closes its WebSockets.
        Access tokens already handed out stay valid for HTTP requests until they expire,
        at most the access token lifetime."""
        claims = self.tokens.read_refresh(refresh_token)
        await self._end_session(claims.family_id)

    async def _end_session(self, family_id: str) -> None:
        await self._store.revoke_family(family_id)
        self._on_session_ended(family_id)

    async def user(self, user_id: str) -> UserRecord:
        user = await self._store.get_user(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user

    async def set_role(self, user_id: str, role: str, *, granted: bool) -> UserRecord:
        if role not in ROLES or role == "user":
            raise InvalidRequest(f"Only the admin role can be granted or revoked, not {role!r}.")
        user = await self.user(user_id)
        roles = user.roles | {role} if granted else user.roles - {role}
        await self._store.set_roles(user_id, roles)
        return await self.user(user_id)

    def _session(self, user: UserRecord, family_id: str, generation: int) -> Session:
        roles = self.roles_of(user)
        access = self.tokens.issue_access(user.user_id, user.email, roles, session_id=family_id)
        refresh = self.tokens.issue_refresh(user.user_id, family_id, generation)
        return Session(
            access_token=access.token,
            access_expires_at=access.expires_at,
            refresh_token=refresh.token,
            refresh_expires_at=refresh.expires_at,
            user=user,
            roles=roles,
        )
