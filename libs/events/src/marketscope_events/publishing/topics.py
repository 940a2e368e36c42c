"""Topic ARNs from the catalog's topic names, without listing or creating topics."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_aiobotocore_sts import STSClient


class TopicDirectory:
    def __init__(self, *, region: str, account_id: str, partition: str = "aws") -> None:
        self.region = region
        self.account_id = account_id
        self.partition = partition

    @classmethod
    async def from_sts(cls, sts: STSClient, region: str) -> TopicDirectory:
        identity = await sts.get_caller_identity()
        partition = str(identity["Arn"]).split(":")[1]
        return cls(region=region, account_id=str(identity["Account"]), partition=partition)

    def arn(self, topic_name: str) -> str:
        return f"arn:{self.partition}:sns:{self.region}:{self.account_id}:{topic_name}"
