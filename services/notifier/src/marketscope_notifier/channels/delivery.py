"""Delivering notifications to the channels their owner chose.

- `fan_out` (on the notifier's own NotificationCreated): one delivery record per channel
  that takes the notification's kind, made only if absent (a notification reaches a
  channel once), and a job for its first attempt. Channels are independent: each has its
  own job, so a slow or failing one holds up no other.
- `run` (the raw route ``delivery``): one attempt, recorded in the deliveries log; on
  failure the next attempt is a job delayed by the schedule. 410 disables the channel;
  so does failing every attempt for 5 days; either way the owner is told.
- `test` and `redeliver`: the owner's actions (one attempt each, never rescheduled).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from marketscope_events import ConcurrencyError
from marketscope_events.catalog.events import NotificationCreated
from marketscope_notifier.channels.base import DeliveryAttempt, DeliveryOutcome
from marketscope_notifier.channels.jobs import DeliveryJob, JobQueue
from marketscope_notifier.channels.messages import NOTIFICATION_EVENT, TEST_EVENT, outbound
from marketscope_notifier.channels.records import (
    AttemptRecord,
    ChannelRecord,
    DeliveryRecord,
    Trigger,
)
from marketscope_notifier.channels.repository import ChannelRepository
from marketscope_notifier.channels.schedule import must_wait, next_delay
from marketscope_notifier.channels.senders import Senders
from marketscope_notifier.errors import ChannelConflict, DeliveryNotFound
from marketscope_notifier.ids import timed_id
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
# Tells the owner something about their channel (a notification of kind "account").
TellOwner = Callable[[ChannelRecord, str, datetime], Awaitable[None]]
FAILING_LIMIT = timedelta(days=5)
GONE_REASON = "the endpoint answered 410 Gone"
FAILING_REASON = "every delivery failed for 5 days in a row"


class Deliveries:
    def __init__(
        self,
        channels: ChannelRepository,
        jobs: JobQueue,
        senders: Senders,
        tell_owner: TellOwner,
        metrics: MetricsRecorder,
        *,
        public_url: str,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._channels = channels
        self._jobs = jobs
        self._senders = senders
        self._tell_owner = tell_owner
        self._metrics = metrics
        self._public_url = public_url
        self._clock = clock

    async def fan_out(self, notification: NotificationCreated) -> int:
        """Schedule the notification on each of its owner's channels that takes its kind;
        how many jobs were sent."""
        now = self._clock()
        sent = 0
        for channel in await self._channels.of_owner(notification.owner):
            if not channel.receives(notification.kind):
                continue
            record = DeliveryRecord(
                delivery_id=notification.notification_id,
                channel_id=channel.channel_id,
                owner=channel.owner,
                event_type=NOTIFICATION_EVENT,
                notification=notification,
                created_at=now,
                next_attempt_at=now,
            )
            if await self._channels.add_delivery(record) is None:
                existing = await self._channels.delivery(channel.channel_id, record.delivery_id)
                if existing.status != "pending" or existing.attempts:
                    continue  # made before, and its jobs are under way or done
            job = DeliveryJob(
                owner=channel.owner,
                channel_id=channel.channel_id,
                delivery_id=record.delivery_id,
                attempt=1,
                trigger="schedule",
                due_at=now,
            )
            await self._jobs.send(job, now=now)
            sent += 1
        return sent

    async def run(self, job: DeliveryJob) -> None:
        """Make the attempt ``job`` stands for, unless it is not due yet (sent on), its
        channel or delivery is gone, or the attempt was made already."""
        now = self._clock()
        if must_wait((job.due_at - now).total_seconds()):
            await self._jobs.send(job.next_hop(), now=now)
            return
        channel = await self._channels.find(job.owner, job.channel_id)
        if channel is None:
            return
        try:
            delivery = await self._channels.delivery(job.channel_id, job.delivery_id)
        except DeliveryNotFound:
            return
        if job.trigger == "schedule" and (
            delivery.status != "pending" or delivery.scheduled_attempts >= job.attempt
        ):
            return
        if channel.status != "active":
            await self._record(
                delivery,
                None,
                trigger=job.trigger,
                now=now,
                stop=f"the channel is {channel.status.replace('_', ' ')}",
            )
            return
        attempt = await self._senders.send(
            channel, outbound(delivery, now=now, public_url=self._public_url)
        )
        self._metrics.increment(
            "Deliveries", dimensions={"Channel": channel.type, "Outcome": attempt.outcome.value}
        )
        if attempt.outcome is DeliveryOutcome.RETRY and job.trigger == "schedule":
            delay = next_delay(job.attempt, attempt.retry_after_seconds)
            if delay is not None:
                due = now + timedelta(seconds=delay)
                # The next job goes first: if the record below is lost, this attempt is
                # made again (and the next job, the same job id, once).
                await self._jobs.send(
                    job.model_copy(update={"attempt": job.attempt + 1, "due_at": due, "hop": 0}),
                    now=now,
                )
                await self._record(delivery, attempt, trigger=job.trigger, now=now, next_at=due)
                await self._after(channel, attempt, now)
                return
        await self._record(delivery, attempt, trigger=job.trigger, now=now)
        await self._after(channel, attempt, now)

    async def test(self, channel: ChannelRecord) -> DeliveryRecord:
        """Send a test event to ``channel`` now and record it; the attempt is the answer."""
        if channel.status != "active":
            raise ChannelConflict(
                channel.channel_id,
                f"Channel {channel.channel_id} is {channel.status.replace('_', ' ')}: "
                "nothing is sent to it.",
            )
        now = self._clock()
        record = DeliveryRecord(
            delivery_id=timed_id("tst_", now),
            channel_id=channel.channel_id,
            owner=channel.owner,
            event_type=TEST_EVENT,
            created_at=now,
        )
        saved = await self._channels.add_delivery(record)
        assert saved is not None  # a fresh random id
        attempt = await self._senders.send(
            channel, outbound(saved, now=now, public_url=self._public_url)
        )
        return await self._record(saved, attempt, trigger="test", now=now)

    async def redeliver(self, channel: ChannelRecord, delivery_id: str) -> DeliveryRecord:
        """Queue one more attempt of a delivery (whatever became of it): the owner asked."""
        if channel.status != "active":
            raise ChannelConflict(
                channel.channel_id,
                f"Channel {channel.channel_id} is {channel.status.replace('_', ' ')}; "
                "enable it before redelivering.",
            )
        delivery = await self._channels.delivery(channel.channel_id, delivery_id)
        now = self._clock()
        manual = sum(1 for attempt in delivery.attempts if attempt.trigger == "manual")
        job = DeliveryJob(
            owner=channel.owner,
            channel_id=channel.channel_id,
            delivery_id=delivery_id,
            attempt=manual + 1,
            trigger="manual",
            due_at=now,
        )
        await self._jobs.send(job, now=now)
        return delivery

    async def log(
        self, channel_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        return await self._channels.deliveries(channel_id, limit=limit, cursor=cursor)

    async def _record(
        self,
        delivery: DeliveryRecord,
        attempt: DeliveryAttempt | None,
        *,
        trigger: Trigger,
        now: datetime,
        next_at: datetime | None = None,
        stop: str | None = None,
    ) -> DeliveryRecord:
        attempts = list(delivery.attempts)
        if attempt is None:
            attempt = DeliveryAttempt(DeliveryOutcome.REFUSED, None, 0, stop)
        attempts.append(
            AttemptRecord.of(attempt, number=len(attempts) + 1, at=now, trigger=trigger)
        )
        status = delivery.status
        if attempt.outcome is DeliveryOutcome.DELIVERED:
            status = "delivered"
        elif next_at is None and status == "pending" and trigger != "manual":
            status = "failed"  # refused, gone, or the schedule's last attempt failed
        return await self._channels.save_delivery(
            delivery.model_copy(
                update={"attempts": attempts, "status": status, "next_attempt_at": next_at}
            )
        )

    async def _after(self, channel: ChannelRecord, attempt: DeliveryAttempt, now: datetime) -> None:
        """What the attempt says about the channel: healthy again, failing since when, or
        to be disabled (410, or failing for 5 days)."""
        for _ in range(3):
            changed, reason = _judged(channel, attempt, now)
            if changed is None:
                return
            try:
                await self._channels.save(changed)
            except ConcurrencyError:
                found = await self._channels.find(channel.owner, channel.channel_id)
                if found is None:
                    return
                channel = found
                continue
            if reason is not None:
                logger.warning("channel %s disabled: %s", channel.channel_id, reason)
                await self._tell_owner(changed, reason, now)
            return
        raise ConcurrencyError(f"Channel#{channel.channel_id}", channel.version)


def _judged(
    channel: ChannelRecord, attempt: DeliveryAttempt, now: datetime
) -> tuple[ChannelRecord | None, str | None]:
    """The channel as the attempt leaves it (None when unchanged), and why it is now
    disabled (None when it is not)."""
    if attempt.outcome is DeliveryOutcome.DELIVERED:
        if channel.failing_since is None:
            return None, None
        return channel.model_copy(update={"failing_since": None}), None
    if channel.status != "active":
        return None, None
    failing_since = channel.failing_since or now
    reason: str | None = None
    if attempt.outcome is DeliveryOutcome.GONE:
        reason = GONE_REASON
    elif now - failing_since >= FAILING_LIMIT:
        reason = FAILING_REASON
    if reason is None:
        if channel.failing_since is not None:
            return None, None
        return channel.model_copy(update={"failing_since": failing_since}), None
    disabled = channel.model_copy(
        update={
            "status": "disabled",
            "disabled_reason": reason,
            "disabled_at": now,
            "failing_since": failing_since,
        }
    )
    return disabled, reason
