"""One consumer process: the platform's `SqsConsumer` on one queue, with its
`DynamoDBIdempotencyStore` (one per shard table), running a QuoteUpdated handler
that writes the ledger.

Started (and SIGKILLed, and started again) by run.py. Every `MessageReport` goes to a
JSON-lines file of this incarnation's own, one line each, written as it happens, so that
a SIGKILL loses at most the line being written. SIGTERM stops it cleanly: the messages
in hand are finished, the poll in flight ends.

Usage: python bench/chaos/consumer.py --endpoint URL --name NAME --queue-url URL
       --idempotency-tables T,T,.. --ledger-tables T,T,.. --mode strict|fixed --incarnation N
       --reports PATH
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO

from handlers import FIXED, STRICT, quote_handler
from ledger import Ledger
from sharding import ShardedIdempotencyStore

from marketscope_events import (
    ConsumerSettings,
    MessageReport,
    SqsConsumer,
)
from marketscope_platform import AwsClients, AwsSettings


class ReportFile:
    """The consumer's ``on_report`` sink: one JSON line per message outcome."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("a", buffering=1, encoding="utf-8")

    def write(self, line: dict[str, object]) -> None:
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")

    def report(self, report: MessageReport) -> None:
        self.write(
            {
                "outcome": report.outcome.value,
                "event_id": report.event_id,
                "receive_count": report.receive_count,
                "reason": report.reason,
            }
        )

    def close(self) -> None:
        self._file.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A consumer process of bench/chaos")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--name", required=True, help="the consumer (idempotency namespace)")
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--idempotency-tables", required=True, help="comma-separated")
    parser.add_argument("--ledger-tables", required=True, help="comma-separated")
    parser.add_argument("--mode", choices=[STRICT, FIXED], required=True)
    parser.add_argument("--incarnation", type=int, required=True)
    parser.add_argument("--reports", type=Path, required=True)
    parser.add_argument("--visibility-timeout", type=int, default=30)
    parser.add_argument("--claim-seconds", type=int, default=20)
    parser.add_argument("--wait-time-seconds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=30)
    return parser.parse_args(argv)


async def consume(args: argparse.Namespace, reports: ReportFile) -> None:
    settings = AwsSettings(endpoint_url=args.endpoint, default_region="us-east-1")
    async with AwsClients(settings) as aws:
        sqs, dynamodb = await aws.client("sqs"), await aws.client("dynamodb")
        consumer = SqsConsumer(
            sqs,
            ConsumerSettings(
                name=args.name,
                queue_url=args.queue_url,
                wait_time_seconds=args.wait_time_seconds,
                visibility_timeout=args.visibility_timeout,
                concurrency=args.concurrency,
                claim_for=timedelta(seconds=args.claim_seconds),
            ),
            ShardedIdempotencyStore(dynamodb, args.idempotency_tables.split(",")),
            on_report=reports.report,
        )
        writer = f"{args.name}#{args.incarnation}"
        ledger = Ledger(dynamodb, args.ledger_tables.split(","), args.name, writer)
        consumer.on("QuoteUpdated", quote_handler(ledger, args.mode))
        consumer.install_signal_handlers()
        reports.write({"ready": writer, "pid": os.getpid(), "mode": args.mode})
        await consumer.run()
        reports.write({"stopped": writer})


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )
    reports = ReportFile(args.reports)
    try:
        asyncio.run(consume(args, reports))
    finally:
        reports.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
