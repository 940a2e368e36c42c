"""The guarantees, checked against what is stored rather than against what the consumers
said: the ledger table (each consumer's side effects) and the queues themselves.

After delivery: nothing lost (every normal event in every consumer's ledger), no side
effect attempted twice, every poison event in every DLQ with the reason it was refused,
nothing else there. After the redrive: every event, poison included, in every ledger,
every DLQ and source queue empty, still no side effect attempted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleet import Fleet
from ledger import LedgerContents, read_ledger
from producer import Published
from wiring import Aws

from marketscope_platform.queues import queue_depth


@dataclass(frozen=True)
class Check:
    name: str
    what: str
    met: bool
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "met": self.met, "value": self.value}


async def read_ledgers(aws: Aws, fleet: Fleet, tables: Sequence[str]) -> dict[str, LedgerContents]:
    return {
        c.spec.name: await read_ledger(aws.dynamodb, tables, c.spec.name) for c in fleet.consumers
    }


def duplicates_by_cause(ledgers: dict[str, LedgerContents], killed: set[str]) -> dict[str, int]:
    """A second attempt after its first writer was SIGKILLed, or anything else (with the
    side effect and the idempotency completion in one transaction, both should be 0)."""
    causes = {"first_writer_killed": 0, "first_writer_alive": 0}
    for contents in ledgers.values():
        for duplicate in contents.duplicates:
            killed_first = duplicate.first_writer in killed
            causes["first_writer_killed" if killed_first else "first_writer_alive"] += 1
    return causes


def attempted_again_by_first_writer(ledgers: dict[str, LedgerContents]) -> dict[str, int]:
    """How many side effects each incarnation wrote that were attempted again later."""
    counts: dict[str, int] = {}
    for contents in ledgers.values():
        for duplicate in contents.duplicates:
            counts[duplicate.first_writer] = counts.get(duplicate.first_writer, 0) + 1
    return counts


def after_delivery(
    published: Published,
    ledgers: dict[str, LedgerContents],
    detail: dict[str, dict[str, Any]],
    pending_in_outbox: int | None,
    events: int,
) -> tuple[dict[str, Any], list[Check]]:
    normal, poison = published.normal_ids, set(published.poison_ids)
    lost = {name: sorted(normal - contents.event_ids) for name, contents in ledgers.items()}
    early_poison = {name: len(poison & contents.event_ids) for name, contents in ledgers.items()}
    duplicates = sum(contents.duplicate_attempts for contents in ledgers.values())
    figures = {
        "events_published": len(published.event_ids) if pending_in_outbox == 0 else None,
        "appends_retried_by_the_sdk": published.retried_appends,
        "ledger_transactions_retried_by_the_sdk": sum(c.sdk_retries for c in ledgers.values()),
        "refused_whole_claim_lost": sum(c.claim_lost_attempts for c in ledgers.values()),
        "events_appended": len(published.event_ids),
        "normal_events": len(normal),
        "poison_events": len(poison),
        "handled": {name: len(normal & contents.event_ids) for name, contents in ledgers.items()},
        "lost": {name: len(ids) for name, ids in lost.items()},
        "lost_event_ids": {name: ids[:20] for name, ids in lost.items() if ids},
        "poison_in_ledger": early_poison,
        "duplicate_side_effects": duplicates,
        "dlq": detail,
    }
    dead_right = all(
        not d["poison_missing"] and not d["not_poison"] and not d["unreadable"]
        for d in detail.values()
    )
    with_reason = all(
        entry["reason"] and "TerminalHandlerError" in entry["reason"]
        for d in detail.values()
        for entry in d["letters"]
        if entry["poison"]
    )
    checks = [
        Check(
            "published",
            "every event appended and published (no outbox marker left)",
            len(published.event_ids) == events and pending_in_outbox == 0,
            {"appended": len(published.event_ids), "pending_in_outbox": pending_in_outbox},
        ),
        Check(
            "no_loss",
            "every normal event in every consumer's ledger after delivery",
            all(not ids for ids in lost.values()),
            figures["lost"],
        ),
        Check(
            "poison_dead_lettered",
            "each DLQ holds every poison event and nothing else, each with the reason "
            "its consumer refused it (TerminalHandlerError)",
            dead_right and with_reason and not any(early_poison.values()),
            {name: d["poison"] for name, d in detail.items()},
        ),
    ]
    return figures, checks


async def after_redrive(
    aws: Aws, fleet: Fleet, published: Published, ledgers: dict[str, LedgerContents]
) -> tuple[dict[str, Any], list[Check]]:
    every, poison = set(published.event_ids), set(published.poison_ids)
    missing = {name: sorted(every - contents.event_ids) for name, contents in ledgers.items()}
    queues: dict[str, dict[str, int]] = {}
    for consumer in fleet.consumers:
        source = await queue_depth(aws.sqs, consumer.spec.queue_url)
        dead = await queue_depth(aws.sqs, consumer.spec.dlq_url)
        queues[consumer.spec.name] = {
            "queue": source.visible + source.in_flight,
            "dlq": dead.visible + dead.in_flight,
        }
    figures = {
        "handled": {name: len(every & c.event_ids) for name, c in ledgers.items()},
        "poison_handled": {name: len(poison & c.event_ids) for name, c in ledgers.items()},
        "missing": {name: len(ids) for name, ids in missing.items()},
        "missing_event_ids": {name: ids[:20] for name, ids in missing.items() if ids},
        "messages_left": queues,
    }
    checks = [
        Check(
            "all_handled_after_redrive",
            "after the fix and the redrive: every event, poison included, in every ledger; "
            "every DLQ and source queue empty",
            all(not ids for ids in missing.values())
            and all(not any(left.values()) for left in queues.values()),
            {"missing": figures["missing"], "messages_left": queues},
        ),
    ]
    return figures, checks


def duplicate_check(ledgers: dict[str, LedgerContents], killed: set[str]) -> Check:
    total = sum(contents.duplicate_attempts for contents in ledgers.values())
    return Check(
        "no_duplicate_side_effects",
        "no ledger write found its item there already (a side effect attempted twice), "
        "over both phases",
        total == 0,
        {"total": total, **duplicates_by_cause(ledgers, killed)},
    )


def kills_check(planned: int, done: int) -> Check:
    return Check("kills_done", "every planned SIGKILL carried out", done == planned, {"done": done})


def phases_check(statuses: dict[str, str]) -> Check:
    return Check(
        "phases_completed",
        "each phase ended with its queues drained, not stalled",
        all(status == "complete" for status in statuses.values()),
        statuses,
    )
