"""What each DLQ holds after delivery, read as `marketscope dlq show` reads it
(`marketscope_platform.queues.peek`), with the reason each dead event was refused.

A message moved by the redrive policy carries its original body and attributes only:
nothing on it says why it was refused. The reason is what the consumer's `MessageReport`
said when it rejected the message (``REJECTED``, ``reason`` = the handler's error), from
the consumers' report files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fleet import ConsumerSpec
from tally import ConsumerTally

from marketscope_events import Envelope, MalformedEnvelopeError
from marketscope_platform.queues import peek


@dataclass
class DeadLetters:
    consumer: str
    event_ids: Counter[str] = field(default_factory=Counter)
    summaries: dict[str, str] = field(default_factory=dict)  # what `dlq show` prints
    unreadable: int = 0

    def detail(self, poison: set[str], tally: ConsumerTally) -> dict[str, Any]:
        held = set(self.event_ids)
        entries = []
        for event_id in sorted(held, key=str):
            reasons = tally.rejections.get(event_id, [])
            entries.append(
                {
                    "event_id": event_id,
                    "poison": event_id in poison,
                    "copies": self.event_ids[event_id],
                    "summary": self.summaries[event_id],
                    "rejections": len(reasons),
                    "reason": reasons[-1] if reasons else None,
                }
            )
        return {
            "messages": sum(self.event_ids.values()) + self.unreadable,
            "poison": len(held & poison),
            "poison_missing": sorted(poison - held),
            "not_poison": sorted(held - poison),
            "unreadable": self.unreadable,
            "with_reason": sum(1 for entry in entries if entry["reason"]),
            "letters": entries,
        }


async def read_dead_letters(sqs: Any, spec: ConsumerSpec, limit: int) -> DeadLetters:
    letters = DeadLetters(spec.name)
    for letter in await peek(sqs, spec.dlq_url, limit):
        try:
            event_id = Envelope.from_json(letter.body).id
        except MalformedEnvelopeError:
            letters.unreadable += 1
            continue
        letters.event_ids[event_id] += 1
        letters.summaries[event_id] = letter.summary
    return letters
