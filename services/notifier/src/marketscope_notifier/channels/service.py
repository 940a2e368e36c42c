"""Setting up a user's delivery channels (no HTTP): webhooks with their signing secrets,
e-mail as an SNS subscription filtered on the owner and channel, SMS to a number the
owner proved with a code. Another user's channel is not found."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.catalog.events import NotificationKind
from marketscope_notifier.channels.base import DeliveryOutcome
from marketscope_notifier.channels.records import (
    ROTATION_GRACE,
    ChannelRecord,
    SigningSecret,
    Verification,
)
from marketscope_notifier.channels.repository import ChannelRepository
from marketscope_notifier.channels.sns import SmsSender, TopicArn
from marketscope_notifier.channels.ssrf import IPNetwork, Resolver, resolve_public
from marketscope_notifier.channels.webhook import new_secret
from marketscope_notifier.errors import ChannelConflict, InvalidChannel
from marketscope_notifier.ids import timed_id
from marketscope_servicekit.errors import DependencyUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient

Clock = Callable[[], datetime]
CODE_LIFETIME = timedelta(minutes=15)
CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class NewWebhook:
    url: str
    kinds: list[NotificationKind]
    description: str | None


@dataclass(frozen=True)
class NewEmail:
    email: str
    kinds: list[NotificationKind]
    description: str | None


@dataclass(frozen=True)
class NewSms:
    phone: str
    kinds: list[NotificationKind]
    description: str | None


@dataclass(frozen=True)
class ChannelChange:
    """What the owner changes; None leaves it as it is."""

    kinds: list[NotificationKind] | None = None
    description: str | None = None
    enabled: bool | None = None
    url: str | None = None


def _code_hash(channel_id: str, code: str) -> str:
    return hashlib.sha256(f"{channel_id}:{code}".encode()).hexdigest()


class ChannelService:
    def __init__(
        self,
        channels: ChannelRepository,
        sns: SNSClient,
        sms: SmsSender,
        *,
        email_topic: TopicArn,
        allow: Sequence[IPNetwork] = (),
        resolver: Resolver | None = None,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._channels = channels
        self._sns = sns
        self._sms = sms
        self._topic = email_topic
        self._allow = tuple(allow)
        self._resolver = resolver
        self._clock = clock

    def _new(
        self, owner: str, kinds: list[NotificationKind], description: str | None
    ) -> dict[str, object]:
        now = self._clock()
        return {
            "channel_id": timed_id("chn_", now),
            "owner": owner,
            "kinds": kinds,
            "description": description,
            "created_at": now,
        }

    async def _check_url(self, url: str) -> None:
        """Refuse now what the sender would refuse at send time (422 problem)."""
        await resolve_public(url, allow=self._allow, resolver=self._resolver)

    async def create_webhook(self, owner: str, spec: NewWebhook) -> tuple[ChannelRecord, str]:
        """The channel and its signing secret (shown this once)."""
        await self._check_url(spec.url)
        secret = new_secret()
        channel = ChannelRecord.model_validate(
            {
                **self._new(owner, spec.kinds, spec.description),
                "type": "webhook",
                "status": "active",
                "url": spec.url,
                "secrets": [SigningSecret(value=secret)],
            }
        )
        return await self._channels.create(channel), secret

    async def create_email(self, owner: str, spec: NewEmail) -> ChannelRecord:
        fields = self._new(owner, spec.kinds, spec.description)
        policy = {"owner": [owner], "channel": [fields["channel_id"]]}
        try:
            subscription = await self._sns.subscribe(
                TopicArn=await self._topic.get(),
                Protocol="email",
                Endpoint=spec.email,
                Attributes={"FilterPolicy": json.dumps(policy)},
                ReturnSubscriptionArn=True,
            )
            arn = subscription["SubscriptionArn"]
            pending = await self._pending_confirmation(arn)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"SNS: {exc}", dependency="sns") from exc
        channel = ChannelRecord.model_validate(
            {
                **fields,
                "type": "email",
                "status": "pending_verification" if pending else "active",
                "email": spec.email,
                "subscription_arn": arn,
            }
        )
        return await self._channels.create(channel)

    async def _pending_confirmation(self, subscription_arn: str) -> bool:
        attributes = (
            await self._sns.get_subscription_attributes(SubscriptionArn=subscription_arn)
        )["Attributes"]
        return str(attributes.get("PendingConfirmation", "false")).lower() == "true"

    async def create_sms(self, owner: str, spec: NewSms) -> ChannelRecord:
        """The channel, awaiting the code just sent to the number."""
        channel = ChannelRecord.model_validate(
            {
                **self._new(owner, spec.kinds, spec.description),
                "type": "sms",
                "status": "pending_verification",
                "phone": spec.phone,
            }
        )
        channel = await self._send_code(channel)
        return await self._channels.create(channel)

    async def _send_code(self, channel: ChannelRecord) -> ChannelRecord:
        assert channel.phone is not None
        code = f"{secrets.randbelow(10**6):06d}"
        attempt = await self._sms.send_text(channel.phone, f"Your MarketScope code is {code}")
        if attempt.outcome is DeliveryOutcome.REFUSED:
            raise InvalidChannel(f"No SMS can be sent to {channel.phone}: {attempt.error}")
        if attempt.outcome is not DeliveryOutcome.DELIVERED:
            raise DependencyUnavailable(attempt.error or "SMS not sent", dependency="sns")
        verification = Verification(
            code_hash=_code_hash(channel.channel_id, code),
            expires_at=self._clock() + CODE_LIFETIME,
            attempts_left=CODE_ATTEMPTS,
        )
        return channel.model_copy(update={"verification": verification})

    async def get(self, owner: str, channel_id: str) -> ChannelRecord:
        channel = await self._channels.get(owner, channel_id)
        if channel.type == "email" and channel.status == "pending_verification":
            return await self._confirmed_email(channel)
        return channel

    async def _confirmed_email(self, channel: ChannelRecord) -> ChannelRecord:
        """Active once its owner confirmed the subscription (SNS says so)."""
        assert channel.subscription_arn is not None
        try:
            pending = await self._pending_confirmation(channel.subscription_arn)
        except (ClientError, BotoCoreError):
            return channel  # asked again next time
        if pending:
            return channel
        return await self._channels.save(channel.model_copy(update={"status": "active"}))

    async def list(self, owner: str) -> list[ChannelRecord]:
        return await self._channels.of_owner(owner)

    async def change(self, owner: str, channel_id: str, change: ChannelChange) -> ChannelRecord:
        channel = await self.get(owner, channel_id)
        update: dict[str, object] = {}
        if change.kinds is not None:
            update["kinds"] = change.kinds
        if change.description is not None:
            update["description"] = change.description
        if change.url is not None:
            if channel.type != "webhook":
                raise InvalidChannel("Only a webhook has a URL.")
            await self._check_url(change.url)
            update["url"] = change.url
        if change.enabled is True and channel.status == "disabled":
            update |= {"status": "active", "disabled_reason": None, "disabled_at": None}
            update["failing_since"] = None
        elif change.enabled is False and channel.status != "disabled":
            if channel.status == "pending_verification":
                raise ChannelConflict(channel_id, f"Channel {channel_id} is not verified yet.")
            update |= {
                "status": "disabled",
                "disabled_reason": "disabled by its owner",
                "disabled_at": self._clock(),
            }
        if not update:
            return channel
        return await self._channels.save(channel.model_copy(update=update))

    async def rotate_secret(self, owner: str, channel_id: str) -> tuple[ChannelRecord, str]:
        """A new signing secret (shown this once); the current ones stay valid for 24 h."""
        channel = await self.get(owner, channel_id)
        if channel.type != "webhook":
            raise ChannelConflict(channel_id, f"Channel {channel_id} is not a webhook.")
        now = self._clock()
        grace = now + ROTATION_GRACE
        kept = [
            secret.model_copy(update={"expires_at": min(secret.expires_at or grace, grace)})
            for secret in channel.secrets
            if secret.valid_at(now)
        ]
        secret = new_secret()
        rotated = channel.model_copy(update={"secrets": [SigningSecret(value=secret), *kept]})
        return await self._channels.save(rotated), secret

    async def verify(self, owner: str, channel_id: str, code: str) -> ChannelRecord:
        channel = await self.get(owner, channel_id)
        verification = channel.verification
        if channel.status != "pending_verification" or verification is None:
            raise ChannelConflict(channel_id, f"Channel {channel_id} awaits no code.")
        if verification.attempts_left <= 0 or verification.expires_at <= self._clock():
            raise ChannelConflict(
                channel_id, "The code has expired or was tried too often; ask for a new one."
            )
        if hmac.compare_digest(verification.code_hash, _code_hash(channel_id, code.strip())):
            verified = channel.model_copy(update={"status": "active", "verification": None})
            return await self._channels.save(verified)
        left = verification.attempts_left - 1
        await self._channels.save(
            channel.model_copy(
                update={"verification": verification.model_copy(update={"attempts_left": left})}
            )
        )
        raise InvalidChannel(f"That is not the code sent to {channel.phone} ({left} tries left).")

    async def resend_code(self, owner: str, channel_id: str) -> ChannelRecord:
        channel = await self.get(owner, channel_id)
        if channel.type != "sms" or channel.status != "pending_verification":
            raise ChannelConflict(channel_id, f"Channel {channel_id} awaits no code.")
        return await self._channels.save(await self._send_code(channel))

    async def delete(self, owner: str, channel_id: str) -> None:
        channel = await self._channels.get(owner, channel_id)
        if channel.subscription_arn is not None:
            try:
                await self._sns.unsubscribe(SubscriptionArn=channel.subscription_arn)
            except ClientError as exc:
                if "NotFound" not in str(exc):
                    raise DependencyUnavailable(f"SNS: {exc}", dependency="sns") from exc
            except BotoCoreError as exc:
                raise DependencyUnavailable(f"SNS: {exc}", dependency="sns") from exc
        await self._channels.delete(owner, channel_id)
