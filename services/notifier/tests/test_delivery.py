"""The delivery rules that need no emulator: what an attempt does to its channel (healthy
again, failing since, disabled by a 410 or after 5 days), what each channel is sent, the
job ids that keep a retry from running twice, and an alarm in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from marketscope_events.catalog.events import NotificationCreated
from marketscope_notifier.channels.base import DeliveryAttempt, DeliveryOutcome
from marketscope_notifier.channels.delivery import FAILING_REASON, GONE_REASON, _judged
from marketscope_notifier.channels.jobs import DeliveryJob
from marketscope_notifier.channels.messages import outbound
from marketscope_notifier.channels.records import (
    ChannelRecord,
    DeliveryRecord,
    SigningSecret,
)
from marketscope_notifier.channels.sns import email_subject, sms_text
from marketscope_notifier.inbox.ops import alarm_text

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DELIVERED = DeliveryAttempt(DeliveryOutcome.DELIVERED, 200, 12)
FAILED = DeliveryAttempt(DeliveryOutcome.RETRY, 500, 12, "the receiver answered 500")
GONE = DeliveryAttempt(DeliveryOutcome.GONE, 410, 12, "the receiver answered 410")


def channel(**fields: object) -> ChannelRecord:
    base: dict[str, object] = {
        "channel_id": "chn_0661a439930f47251caf0d65ed1ba68e05315d",
        "owner": "user-1",
        "type": "webhook",
        "kinds": ["alert"],
        "created_at": NOW - timedelta(days=30),
        "status": "active",
        "url": "https://example.com/hook",
        "secrets": [SigningSecret(value="whsec_a")],
    }
    return ChannelRecord.model_validate(base | fields)


def test_a_first_failure_marks_the_channel_failing_from_now() -> None:
    changed, reason = _judged(channel(), FAILED, NOW)
    assert changed is not None
    assert changed.failing_since == NOW
    assert changed.status == "active"
    assert reason is None


def test_failures_within_five_days_change_nothing_more() -> None:
    failing = channel(failing_since=NOW - timedelta(days=4, hours=23))
    assert _judged(failing, FAILED, NOW) == (None, None)


@pytest.mark.parametrize("days", [5, 6])
def test_five_days_of_failures_disable_it(days: int) -> None:
    failing = channel(failing_since=NOW - timedelta(days=days))
    changed, reason = _judged(failing, FAILED, NOW)
    assert reason == FAILING_REASON
    assert changed is not None
    assert changed.status == "disabled"
    assert changed.disabled_reason == FAILING_REASON
    assert changed.disabled_at == NOW


def test_a_success_ends_the_failing_streak() -> None:
    failing = channel(failing_since=NOW - timedelta(days=4))
    changed, reason = _judged(failing, DELIVERED, NOW)
    assert changed is not None
    assert changed.failing_since is None
    assert reason is None
    assert _judged(channel(), DELIVERED, NOW) == (None, None)


def test_a_410_disables_at_once() -> None:
    changed, reason = _judged(channel(), GONE, NOW)
    assert reason == GONE_REASON
    assert changed is not None
    assert changed.status == "disabled"


def test_a_disabled_channel_is_not_disabled_again() -> None:
    assert _judged(channel(status="disabled"), GONE, NOW) == (None, None)


def test_secrets_past_their_grace_do_not_sign() -> None:
    rotated = channel(
        secrets=[
            SigningSecret(value="whsec_new"),
            SigningSecret(value="whsec_old", expires_at=NOW + timedelta(hours=1)),
            SigningSecret(value="whsec_older", expires_at=NOW - timedelta(seconds=1)),
        ]
    )
    assert rotated.valid_secrets(NOW) == ("whsec_new", "whsec_old")


def test_only_active_channels_of_the_kind_receive() -> None:
    assert channel().receives("alert")
    assert not channel().receives("analysis")
    assert not channel(status="disabled").receives("alert")
    assert not channel(status="pending_verification").receives("alert")


def notification() -> NotificationCreated:
    return NotificationCreated(
        notification_id="ntf_0661a439930f47aaaaaaaaaaaaaaaaaaaaaaaa",
        owner="user-1",
        kind="alert",
        title="AAPL crossed 200.00",
        body="AAPL at 201.50 crossed 200.00 (once).",
        link="/api/v1/alerts/alr_1",
        created_at=NOW,
    )


def test_what_each_channel_is_sent() -> None:
    delivery = DeliveryRecord(
        delivery_id="ntf_0661a439930f47aaaaaaaaaaaaaaaaaaaaaaaa",
        channel_id="chn_1",
        owner="user-1",
        event_type="notification.created",
        notification=notification(),
        created_at=NOW,
    )
    later = NOW + timedelta(hours=2)
    message = outbound(delivery, now=later, public_url="https://app.example.com/")
    assert message.message_id == delivery.delivery_id
    assert message.timestamp == later  # the attempt's, so a retry is not refused as stale
    body = json.loads(message.payload)
    assert body["type"] == "notification.created"
    assert body["timestamp"] == "2026-12-02T12:00:00Z"
    assert body["data"]["url"] == "https://app.example.com/api/v1/alerts/alr_1"
    assert "owner" not in body["data"]
    assert message.subject == "AAPL crossed 200.00"
    assert message.text.endswith("\n\nhttps://app.example.com/api/v1/alerts/alr_1")


def test_subjects_and_texts_fit_sns() -> None:
    assert email_subject("Line one\nline\ttwo é" + "x" * 200).startswith("Line one line two ?")
    assert len(email_subject("x" * 300)) == 100
    assert email_subject("\n") == "MarketScope"
    text = sms_text("AAPL crossed 200.00", "y" * 400)
    assert len(text) == 160
    assert text.startswith("MarketScope: AAPL crossed 200.00. y")


def test_each_attempt_and_hop_has_its_own_job_id() -> None:
    job = DeliveryJob(
        owner="user-1",
        channel_id="chn_1",
        delivery_id="ntf_1",
        attempt=2,
        trigger="schedule",
        due_at=NOW,
    )
    ids = {
        job.job_id,
        job.next_hop().job_id,
        job.model_copy(update={"attempt": 3}).job_id,
        job.model_copy(update={"trigger": "manual"}).job_id,
    }
    assert len(ids) == 4
    assert DeliveryJob.model_validate_json(job.model_dump_json()) == job


def test_an_alarm_in_words() -> None:
    title, body = alarm_text(
        {
            "AlarmName": "marketscope-dlq-depth",
            "AlarmDescription": "A DLQ holds messages",
            "NewStateValue": "ALARM",
            "OldStateValue": "OK",
            "NewStateReason": "Threshold Crossed",
        }
    )
    assert title == "marketscope-dlq-depth is in alarm"
    assert body == "A DLQ holds messages Threshold Crossed (was OK)"
    recovered, _ = alarm_text({"AlarmName": "a", "NewStateValue": "OK"})
    assert recovered == "a is back to OK"
