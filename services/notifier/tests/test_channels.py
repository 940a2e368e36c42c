"""Delivery channels over HTTP, on the emulator: notifications made from another
service's event reach a webhook receiver on loopback (verified with the
``standardwebhooks`` package), retried through SQS after a 500, stopped by a 410; e-mail
and SMS go through SNS, checked with the emulator's own record of what was published."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from marketscope_emulator.backends import Backend, embedded_endpoint
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_platform.aws import AwsSettings
from marketscope_platform.topology import OPS_TOPIC
from marketscope_servicekit.testing import served

from .notifier_support import Notifier, analysis_done, private_notifier, user, wait_until
from .webhook_receiver import Receiver, receiver_app

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
LOOPBACK = "127.0.0.0/8"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def notifier(
    provisioned: str, aws_settings: AwsSettings, internal_key: str
) -> AsyncIterator[Notifier]:
    async with private_notifier(aws_settings, internal_key) as running:
        yield running


@pytest.fixture(scope="module")
def quiet_emulator(aws_backend: Backend) -> Iterator[AwsSettings]:
    """An emulator of this module's own, provisioned as the session's is. The SNS checks
    read the emulator's whole record (``moto-api/data.json``), which on the session's
    shared emulator grows with every test until one read takes longer than a timeout.
    The notifier here does not ship its logs: moto checks that each attribute of a model
    serialises and dumps them all later, so a log stream that gains an event in between
    makes the whole read fail with a 500."""
    if aws_backend is not Backend.EMBEDDED:
        pytest.skip(f"reads the embedded emulator's record of SNS; the backend is {aws_backend}")
    with embedded_endpoint() as endpoint:
        apply(load_spec(), Clients(endpoint, "us-east-1"))
        yield AwsSettings(endpoint_url=endpoint, default_region="us-east-1")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def quiet_notifier(quiet_emulator: AwsSettings, internal_key: str) -> AsyncIterator[Notifier]:
    async with private_notifier(quiet_emulator, internal_key) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver([])
    async with served(receiver_app(receiver)) as url:
        yield receiver, url


async def webhook(client: httpx.AsyncClient, url: str, **fields: Any) -> tuple[str, str]:
    created = await client.post(
        "/notification-channels", json={"type": "webhook", "url": url, **fields}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["channel"]["channel_id"], body["secret"]


async def deliveries(client: httpx.AsyncClient, channel_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/notification-channels/{channel_id}/deliveries")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def emulator_sns(notifier: Notifier) -> dict[str, Any]:
    """What the emulator holds of SNS: topics with what was published, subscriptions, SMS."""
    endpoint = notifier.aws_settings.resolved_endpoint
    assert endpoint is not None
    async with httpx.AsyncClient(timeout=30.0) as http:
        data: dict[str, Any] = (await http.get(f"{endpoint}/moto-api/data.json")).json()["sns"]
    return data


async def test_a_webhook_gets_a_signed_notification_retried_after_a_500(
    notifier: Notifier, receiver: tuple[Receiver, str]
) -> None:
    sink, base = receiver
    owner = user()
    event = analysis_done(owner)
    async with notifier.running(webhook_allow_networks=LOOPBACK), notifier.client(owner) as client:
        channel_id, secret = await webhook(client, f"{base}/script/flaky", kinds=["analysis"])
        assert secret.startswith("whsec_")
        sink.secrets.append(secret)
        sink.scripts["flaky"] = [500]
        shown = (await client.get(f"/notification-channels/{channel_id}")).json()
        assert secret not in json.dumps(shown)  # shown once, at creation
        assert shown["status"] == "active"
        assert shown["kinds"] == ["analysis"]
        for _ in range(2):  # the same event twice: one notification, one delivery
            await notifier.publisher.publish(event)

        async def first_failed() -> list[dict[str, Any]]:
            found = await deliveries(client, channel_id)
            return found if found and found[0]["attempts"] else []

        await wait_until(first_failed, "the first attempt")
    # The retry waits in SQS, not in the process: a restart loses it not.
    async with notifier.running(webhook_allow_networks=LOOPBACK), notifier.client(owner) as client:

        async def delivered() -> list[dict[str, Any]]:
            found = await deliveries(client, channel_id)
            return found if found and found[0]["status"] == "delivered" else []

        [delivery] = await wait_until(delivered, "the webhook delivered after its retry")
        first, second = delivery["attempts"]
        assert (first["outcome"], first["status_code"]) == ("retry", 500)
        assert (second["outcome"], second["status_code"]) == ("delivered", 200)
        waited = datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])
        assert 4.0 <= waited.total_seconds() <= 10.0  # 5 s, with jitter, through SQS
        calls = sink.at("/script/flaky")
        assert len(calls) == 2
        assert {call.headers["webhook-id"] for call in calls} == {delivery["delivery_id"]}
        assert sink.verified == [secret]  # the 200 was verified by standardwebhooks
        payload = json.loads(calls[1].body)
        assert payload["type"] == "notification.created"
        assert payload["data"]["title"] == "Stock analysis: AAPL"
        assert payload["data"]["url"].startswith("http://127.0.0.1:8000/api/v1/analyses/")
        assert "owner" not in payload["data"]
        await asyncio.sleep(1.0)
        assert len(sink.at("/script/flaky")) == 2  # never a third time

        other = user()
        async with notifier.client(other) as stranger:
            assert (await stranger.get(f"/notification-channels/{channel_id}")).status_code == 404
            path = f"/notification-channels/{channel_id}/deliveries"
            assert (await stranger.get(path)).status_code == 404
            assert (
                await stranger.post(f"/notification-channels/{channel_id}/test")
            ).status_code == 404
            assert (await stranger.get("/notification-channels")).json()["items"] == []


async def test_a_410_disables_the_webhook_and_tells_its_owner(
    notifier: Notifier, receiver: tuple[Receiver, str]
) -> None:
    sink, base = receiver
    owner = user()
    async with notifier.running(webhook_allow_networks=LOOPBACK), notifier.client(owner) as client:
        gone, _ = await webhook(client, f"{base}/status/410")
        healthy, secret = await webhook(client, f"{base}/hook")
        sink.secrets.append(secret)
        await notifier.publisher.publish(analysis_done(owner))

        async def disabled() -> dict[str, Any] | None:
            channel: dict[str, Any] = (await client.get(f"/notification-channels/{gone}")).json()
            return channel if channel["status"] == "disabled" else None

        channel = await wait_until(disabled, "the 410 channel disabled")
        assert channel["disabled_reason"] == "the endpoint answered 410 Gone"

        async def told() -> list[dict[str, Any]]:
            items = (await client.get("/notifications")).json()["items"]
            return [item for item in items if item["kind"] == "account"]

        [notice] = await wait_until(told, "the owner told")
        assert notice["title"] == "A webhook channel was disabled"
        assert gone in notice["link"]

        # The other channel got both the analysis and the notice; the gone one only the first.
        async def both() -> list[dict[str, Any]]:
            found = await deliveries(client, healthy)
            return (
                found if len(found) == 2 and {d["status"] for d in found} == {"delivered"} else []
            )

        await wait_until(both, "the healthy channel's deliveries")
        [only] = await deliveries(client, gone)
        assert only["status"] == "failed"
        assert len(only["attempts"]) == 1
        # Enabled again, it is active; a test event goes out at once.
        enabled = await client.patch(f"/notification-channels/{gone}", json={"enabled": True})
        assert enabled.json()["status"] == "active"
        assert enabled.json()["disabled_reason"] is None


async def test_rotation_signs_with_both_secrets_test_and_redeliver(
    notifier: Notifier, receiver: tuple[Receiver, str]
) -> None:
    sink, base = receiver
    owner = user()
    async with notifier.running(webhook_allow_networks=LOOPBACK), notifier.client(owner) as client:
        channel_id, old = await webhook(client, f"{base}/hook")
        rotated = await client.post(f"/notification-channels/{channel_id}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old
        assert new.startswith("whsec_")
        hints = rotated.json()["channel"]["secrets"]
        assert hints[0]["expires_at"] is None
        assert hints[1]["expires_at"] is not None
        for secret in (old, new):  # a receiver holding either one verifies the test event
            sink.secrets[:] = [secret]
            tested = await client.post(f"/notification-channels/{channel_id}/test")
            assert tested.status_code == 200, tested.text
            [attempt] = tested.json()["attempts"]
            assert attempt["outcome"] == "delivered", attempt
            assert json.loads(sink.received[-1].body)["type"] == "channel.test"
        assert sink.verified == [old, new]
        delivery_id = tested.json()["delivery_id"]
        again = await client.post(
            f"/notification-channels/{channel_id}/deliveries/{delivery_id}/redeliver"
        )
        assert again.status_code == 202, again.text

        async def redelivered() -> list[Any]:
            return [r for r in sink.received if r.headers["webhook-id"] == delivery_id][1:]

        [repeat] = await wait_until(redelivered, "the redelivery")
        assert repeat.headers["webhook-id"] == delivery_id
        missing = await client.post(
            f"/notification-channels/{channel_id}/deliveries/ntf_000000000000000000000/redeliver"
        )
        assert missing.status_code == 404


async def test_targets_that_are_not_public_are_refused(notifier: Notifier) -> None:
    owner = user()
    async with notifier.running(), notifier.client(owner) as client:
        for url, reason in [
            ("http://127.0.0.1:9/hook", "loopback"),
            ("http://10.1.2.3/hook", "private"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://[::1]/hook", "loopback"),
            ("http://[::ffff:10.0.0.1]/hook", "private"),
        ]:
            refused = await client.post(
                "/notification-channels", json={"type": "webhook", "url": url}
            )
            assert refused.status_code == 422, (url, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["reason"] == reason, url
        assert (await client.get("/notification-channels")).json()["items"] == []


async def test_email_and_sms_go_through_sns(quiet_notifier: Notifier) -> None:
    notifier = quiet_notifier
    owner = user()
    phone = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
    async with notifier.running(ship_logs=False), notifier.client(owner) as client:
        email = await client.post(
            "/notification-channels",
            json={"type": "email", "email": f"{owner}@example.com", "kinds": ["analysis"]},
        )
        assert email.status_code == 201, email.text
        email_id = email.json()["channel"]["channel_id"]
        assert email.json()["secret"] is None
        sms = await client.post("/notification-channels", json={"type": "sms", "phone": phone})
        assert sms.status_code == 201, sms.text
        sms_id = sms.json()["channel"]["channel_id"]
        assert sms.json()["channel"]["status"] == "pending_verification"

        sns = await emulator_sns(notifier)
        [subscription] = [s for s in sns["Subscription"] if s["endpoint"] == f"{owner}@example.com"]
        assert subscription["protocol"] == "email"
        assert json.loads(subscription["attributes"]["FilterPolicy"]) == {
            "owner": [owner],
            "channel": [email_id],
        }
        [code_text] = [m["message"] for m in sns["SMS"] if m["phone_number"] == phone]
        code = code_text.rsplit(" ", 1)[-1]
        wrong = "000000" if code != "000000" else "111111"
        bad = await client.post(f"/notification-channels/{sms_id}/verify", json={"code": wrong})
        assert bad.status_code == 422
        assert "4 tries left" in bad.text
        good = await client.post(f"/notification-channels/{sms_id}/verify", json={"code": code})
        assert good.status_code == 200, good.text
        assert good.json()["status"] == "active"

        await notifier.publisher.publish(analysis_done(owner))

        async def published() -> tuple[list[Any], list[Any]] | None:
            data = await emulator_sns(notifier)
            [topic] = [t for t in data["Topic"] if t["name"] == "marketscope-user-notifications"]
            mails = [
                n for n in topic["sent_notifications"] if n[3] and n[3]["owner"]["Value"] == owner
            ]
            texts = [m for m in data["SMS"] if m["phone_number"] == phone][1:]
            return (mails, texts) if mails and texts else None

        [mail], [text] = await wait_until(published, "the e-mail and the SMS")
        _, message, subject, attributes, _ = mail
        assert subject == "Stock analysis: AAPL"
        assert "AAPL at 430.00" in message
        assert "http://127.0.0.1:8000/api/v1/analyses/" in message
        assert attributes["channel"]["Value"] == email_id
        assert text["message"].startswith("MarketScope: Stock analysis: AAPL.")
        assert len(text["message"]) <= 160
        assert (await client.delete(f"/notification-channels/{email_id}")).status_code == 204
        sns_client = await notifier.aws.client("sns")
        left = await sns_client.list_subscriptions_by_topic(TopicArn=subscription["topic_arn"])
        assert subscription["arn"] not in {s["SubscriptionArn"] for s in left["Subscriptions"]}


async def test_an_alarm_from_the_ops_topic_reaches_the_admins_inbox(notifier: Notifier) -> None:
    admin, someone = user(), user()
    alarm = {
        "AlarmName": f"marketscope-gateway-latency-p95-{uuid.uuid4().hex[:6]}",
        "AlarmDescription": "gateway p95 latency above 2 s",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 1 datapoint [2500.0] was greater than 2000.0",
        "StateChangeTime": "2026-12-02T10:00:00.000+0000",
    }
    sns = await notifier.aws.client("sns")
    topics = await notifier.aws.client("sts")
    account = (await topics.get_caller_identity())["Account"]
    ops_arn = f"arn:aws:sns:us-east-1:{account}:{OPS_TOPIC}"
    subscription = await sns.subscribe(
        TopicArn=ops_arn,
        Protocol="sqs",
        Endpoint=notifier.queue.queue.arn,
        ReturnSubscriptionArn=True,  # not raw: SNS's JSON wrapper, as provisioned
    )
    notifier.queue.subscription_arns.append(subscription["SubscriptionArn"])
    async with notifier.running():
        async with notifier.client(admin, roles={"user", "admin"}) as client:
            assert (await client.get("/notifications/unread-count")).status_code == 200
        async with notifier.client(someone) as client:
            assert (await client.get("/notifications/unread-count")).status_code == 200
        for _ in range(2):  # the same notification twice: told once
            await sns.publish(TopicArn=ops_arn, Message=json.dumps(alarm), Subject="ALARM")
        async with notifier.client(admin, roles={"user", "admin"}) as client:

            async def ops() -> list[dict[str, Any]]:
                items = (await client.get("/notifications")).json()["items"]
                return [item for item in items if item["kind"] == "ops"]

            found = await wait_until(ops, "the ops notification")
            await asyncio.sleep(1.0)
            assert len(await ops()) == 1
            assert found[0]["title"] == f"{alarm['AlarmName']} is in alarm"
            assert "Threshold Crossed" in found[0]["body"]
        async with notifier.client(someone) as client:
            items = (await client.get("/notifications")).json()["items"]
            assert [item for item in items if item["kind"] == "ops"] == []
