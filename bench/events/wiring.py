"""The AWS side: the emulator, the clients and topics, and the tables and subscriptions a
phase makes and removes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from params import SERVICES
from stats import RequestCounter

from marketscope_emulator.process import (
    MINISTACK_REQUIREMENT,
    EmulatorProcess,
    ServerKind,
    free_port,
)
from marketscope_events import CATALOG, Catalog
from marketscope_events.publishing import TopicDirectory
from marketscope_events.store import ensure_table
from marketscope_events.subscriptions import (
    ServiceSubscription,
    ensure_topic,
    remove_subscription,
)
from marketscope_platform import AwsClients

# ministack's first start makes its uv tool environment (a download).
STARTUP_TIMEOUT_S: dict[ServerKind, float] = {
    "gunicorn": 30.0,
    "werkzeug": 30.0,
    "ministack": 180.0,
}

# The platform's catalog, but with every benchmark service subscribed to QuoteUpdated.
FAN_OUT_CATALOG = Catalog.of(
    [
        replace(spec, subscribers=frozenset(SERVICES)) if spec.name == "QuoteUpdated" else spec
        for spec in CATALOG.all_specs()
    ],
    CATALOG.upcasters,
)


@dataclass(frozen=True)
class EmulatorInfo:
    kind: str
    endpoint: str
    pid: int | None

    def as_dict(self) -> dict[str, Any]:
        versions = {"moto": package_version("moto")}
        if self.kind == "ministack":
            versions = {"ministack": MINISTACK_REQUIREMENT.partition("==")[2]}
        return {"kind": self.kind, "endpoint": self.endpoint, **versions}


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@contextlib.contextmanager
def emulator_at(endpoint: str | None, kind: str = "moto") -> Iterator[EmulatorInfo]:
    """``endpoint`` when given (an emulator someone else runs), else a fresh emulator of
    ``kind`` (moto under gunicorn, or ministack in its own uv tool environment)."""
    if endpoint:
        yield EmulatorInfo(kind="external", endpoint=endpoint, pid=None)
        return
    server: ServerKind = "ministack" if kind == "ministack" else "gunicorn"
    process = EmulatorProcess(port=free_port(), kind=server)
    print(f"starting the emulator ({kind}) on {process.endpoint}", flush=True)
    process.start(timeout=STARTUP_TIMEOUT_S[server])
    try:
        yield EmulatorInfo(kind=kind, endpoint=process.endpoint, pid=process.pid)
    finally:
        process.stop()


@dataclass
class Aws:
    sqs: Any
    sns: Any
    dynamodb: Any
    topics: TopicDirectory
    requests: RequestCounter


async def connect(clients: AwsClients) -> Aws:
    counter = RequestCounter()
    sqs, sns, dynamodb = [await clients.client(name) for name in ("sqs", "sns", "dynamodb")]
    for client in (sqs, sns, dynamodb):
        counter.attach(client)
    for spec in CATALOG:
        await ensure_topic(sns, spec.topic)
    region = clients.settings.default_region
    topics = await TopicDirectory.from_sts(await clients.client("sts"), region)
    return Aws(sqs=sqs, sns=sns, dynamodb=dynamodb, topics=topics, requests=counter)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Resources:
    tables: list[str] = field(default_factory=list)
    subscriptions: list[ServiceSubscription] = field(default_factory=list)

    async def table(self, aws: Aws, name: str) -> str:
        await ensure_table(aws.dynamodb, name)
        self.tables.append(name)
        return name

    async def remove(self, aws: Aws) -> None:
        for subscription in self.subscriptions:
            await remove_subscription(aws.sns, aws.sqs, subscription, delete_dlq=True)
        for table in self.tables:
            await aws.dynamodb.delete_table(TableName=table)
