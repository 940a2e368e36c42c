"""DocumentUploaded, DocumentIndexed and DocumentDeleted, as the rag service really
publishes them (captured from SNS through a queue of this test), validate against the
committed JSON Schemas in libs/events/schemas."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import jsonschema
import pytest

from marketscope_events.catalog import CATALOG
from marketscope_events.publishing import TopicDirectory
from marketscope_events.subscriptions import ensure_queue, queue_policy, subscribe_queue
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_rag.main import create_app
from marketscope_rag.settings import Settings
from marketscope_servicekit.testing import GatewaySigner, identity_headers, running

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[3] / "libs" / "events" / "schemas"
RAG_EVENTS = ("DocumentUploaded", "DocumentIndexed", "DocumentDeleted")


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


async def captured(sqs, queue_url: str, wanted: int, within: float = 60) -> list[dict]:
    bodies: list[dict] = []
    deadline = time.monotonic() + within
    while len(bodies) < wanted and time.monotonic() < deadline:
        response = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in response.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


async def test_published_document_events_match_the_committed_schemas(
    aws_endpoint: str, aws_settings: AwsSettings, aws: AwsClients, tmp_path: Path
) -> None:
    await asyncio.to_thread(apply, load_spec(), Clients(aws_endpoint, "us-east-1"))
    sns, sqs = await aws.client("sns"), await aws.client("sqs")
    topics = await TopicDirectory.from_sts(await aws.client("sts"), "us-east-1")
    queue = await ensure_queue(sqs, f"contract-rag-{uuid.uuid4().hex[:8]}")
    topic_arns = [topics.arn(CATALOG.spec(name).topic) for name in RAG_EVENTS]
    await sqs.set_queue_attributes(
        QueueUrl=queue.url, Attributes={"Policy": queue_policy(queue.arn, topic_arns)}
    )
    for topic_arn in topic_arns:
        await subscribe_queue(sns, topic_arn, queue.arn)

    settings = Settings(
        index_path=tmp_path / "chroma", poll_wait_seconds=1, reconcile_index_at_start=False
    )
    app = create_app(settings, aws_settings)
    owner = f"contract-{uuid.uuid4().hex[:8]}"
    async with running(app) as client:
        client.auth = GatewaySigner(app.state.internal_key)
        headers = identity_headers(owner)  # signed per request by the client's signer
        upload = await client.post(
            "/documents",
            headers=headers,
            files={"file": ("c.md", b"# Contract\n\nThe tapir index.\n", "text/markdown")},
        )
        document_id = upload.json()["document_id"]
        deadline = time.monotonic() + 60
        while (await client.get(f"/documents/{document_id}", headers=headers)).json()[
            "status"
        ] != "indexed":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        deleted = await client.delete(f"/documents/{document_id}", headers=headers)
        assert deleted.status_code == 204
        bodies = await captured(sqs, queue.url, wanted=3)

    mine = [body for body in bodies if body["data"].get("document_id") == document_id]
    assert sorted(body["type"] for body in mine) == sorted(
        CATALOG.spec(name).type_name() for name in RAG_EVENTS
    )
    envelope_schema = schema("envelope")
    for body in mine:
        jsonschema.validate(body, envelope_schema)
        jsonschema.validate(body["data"], schema(body["type"]))
        assert body["subject"] == f"Document#{document_id}"
        assert body["data"]["owner"] == owner
    await sqs.delete_queue(QueueUrl=queue.url)
