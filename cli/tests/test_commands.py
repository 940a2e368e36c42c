"""provision, dlq and replay against the AWS backend over HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest

from marketscope_cli.app import app
from marketscope_events import DynamoDBEventStore
from marketscope_events.catalog import dlq_name, queue_name
from marketscope_platform import AwsClients
from marketscope_platform.topology import SERVICES

from .helpers import drain, invoke, runner, stored_quote, take

pytestmark = pytest.mark.integration


def test_provision_is_idempotent(cli_env: None) -> None:
    invoke("provision")
    second = invoke("provision", "--verbose")
    lines = [line for line in second.splitlines() if line.startswith(("created", "exists"))]
    assert lines
    assert all(line.startswith("exists") for line in lines)
    assert "(0 created)" in second


async def test_dlq_show_and_redrive_move_messages_back(cli_env: None, aws: AwsClients) -> None:
    await asyncio.to_thread(invoke, "provision")
    sqs = await aws.client("sqs")
    dlq_url = (await sqs.get_queue_url(QueueName=dlq_name("chat")))["QueueUrl"]
    source_url = (await sqs.get_queue_url(QueueName=queue_name("chat")))["QueueUrl"]
    sent = ['{"broken": true}', "not json"]
    for body in sent:
        await sqs.send_message(QueueUrl=dlq_url, MessageBody=body)

    listed = await asyncio.to_thread(invoke, "dlq", "list")
    assert dlq_name("chat") in listed
    shown = await asyncio.to_thread(invoke, "dlq", "show", "chat")
    assert shown.count("malformed:") == 2

    moved = await asyncio.to_thread(invoke, "dlq", "redrive", "chat")
    assert "moved 2 message(s)" in moved
    # Other tests publish to the chat queue meanwhile: only the redriven two are ours.
    assert sorted(await take(sqs, source_url, sent)) == sorted(sent)
    attributes = await sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_unknown_service_is_a_clear_error(cli_env: None) -> None:
    result = runner.invoke(app, ["dlq", "show", "nope"])
    assert result.exit_code == 1
    assert "unknown service 'nope'" in result.output


async def test_replay_sends_stored_events_to_one_queue(cli_env: None, aws: AwsClients) -> None:
    await asyncio.to_thread(invoke, "provision")
    sqs = await aws.client("sqs")
    notifier_url = (await sqs.get_queue_url(QueueName=queue_name("notifier")))["QueueUrl"]
    chat_url = (await sqs.get_queue_url(QueueName=queue_name("chat")))["QueueUrl"]
    for url in (notifier_url, chat_url):
        await drain(sqs, url)
    store = DynamoDBEventStore(await aws.client("dynamodb"), "marketscope-market-data")
    stream = await stored_quote(store)

    output = await asyncio.to_thread(
        invoke, "replay", "market-data", "--to", "notifier", "--stream-prefix", stream
    )
    assert "replayed 1 event(s) to marketscope-notifier" in output
    messages = (await sqs.receive_message(QueueUrl=notifier_url, WaitTimeSeconds=1)).get(
        "Messages", []
    )
    assert [json.loads(m["Body"])["subject"] for m in messages] == [stream]
    assert (await sqs.receive_message(QueueUrl=chat_url)).get("Messages", []) == []


def test_status_shows_every_service_and_every_queue_depth(cli_env: None) -> None:
    invoke("provision")
    # No service listens 30000 ports up: each is reported unreachable, not an error.
    output = invoke("status", "--port-offset", "30000")
    for service in SERVICES.values():
        assert f"http://127.0.0.1:{30000 + service.port}" in output, service.name
    assert output.count("unreachable") == 5
    for queue in ("marketscope-chat", "marketscope-chat-dlq", "marketscope-gateway-dlq"):
        assert queue in output
