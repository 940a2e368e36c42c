"""Queue look-ups shared by `status` and `dlq`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketscope_cli.errors import CliError
from marketscope_events.catalog.registry import RESOURCE_PREFIX


@dataclass(frozen=True)
class QueueDepth:
    name: str
    url: str
    visible: int
    in_flight: int

    @property
    def is_dlq(self) -> bool:
        return self.name.endswith("-dlq")


async def queue_depths(sqs: Any, prefix: str = RESOURCE_PREFIX) -> list[QueueDepth]:
    urls: list[str] = []
    paginator = sqs.get_paginator("list_queues")
    async for page in paginator.paginate(QueueNamePrefix=prefix):
        urls.extend(page.get("QueueUrls", []))
    depths = []
    for url in sorted(urls):
        attributes = (
            await sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
        )["Attributes"]
        depths.append(
            QueueDepth(
                name=url.rsplit("/", 1)[-1],
                url=url,
                visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    return depths


async def queue_url(sqs: Any, name: str) -> str:
    try:
        return str((await sqs.get_queue_url(QueueName=name))["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist as exc:
        raise CliError(f"there is no queue named {name}") from exc
