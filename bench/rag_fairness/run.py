"""Benchmark of fair indexing in the rag service: while one owner's large documents are
being indexed, how long does another owner's small upload take to be indexed?

The whole rag app runs in this process (API, indexing consumer, outbox relay) against
its own emulator over real HTTP. In each round, owner A uploads ``--large`` documents of
``--chunks`` chunks each, then owner B uploads one document of one chunk. Times come from
the document streams: DocumentUploaded to DocumentIndexed. B uploads once all of A's
documents are being indexed. Two modes, side by side:

- ``sliced``    the default: embedding takes one turn per 16 chunks, turns go round-robin
                between owners (`FairTurns`);
- ``unsliced``  ``MARKETSCOPE_RAG_INDEXING_SLICE_CHUNKS`` = the chunk cap: one turn per
                whole document, which is how indexing ran before turns were sliced.

Usage: uv run python bench/rag_fairness/run.py [--large 3] [--chunks 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from marketscope_emulator.process import EmulatorProcess, free_port
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_platform.aws import AwsSettings
from marketscope_rag.documents.state import stream_id
from marketscope_rag.main import create_app
from marketscope_rag.settings import Settings
from marketscope_servicekit.testing import GatewaySigner, identity_headers, running

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "rag_fairness.json"
MODES = {"sliced": Settings().indexing_slice_chunks, "unsliced": Settings().max_document_chunks}


def paragraphs(count: int, topic: str) -> bytes:
    """``count`` paragraphs of about 130 word pieces: the chunker makes one chunk of each."""
    return "\n\n".join(
        f"Note {i} on {topic}: "
        + " ".join(f"{topic} measure {i} moves with factor {j} of the ledger." for j in range(9))
        for i in range(count)
    ).encode()


async def upload(client: httpx.AsyncClient, owner: str, name: str, data: bytes) -> str:
    response = await client.post(
        "/documents",
        headers=identity_headers(owner),
        files={"file": (name, data, "text/plain")},
    )
    response.raise_for_status()
    return str(response.json()["document_id"])


async def wait_for(
    client: httpx.AsyncClient, owner: str, document_id: str, wanted: set[str]
) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        response = await client.get(f"/documents/{document_id}", headers=identity_headers(owner))
        status = response.json()["status"]
        if status in wanted:
            return
        if status == "failed":
            raise RuntimeError(f"{document_id} failed: {response.json()['failure_reason']}")
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{document_id} did not reach {wanted} within 300 s")


async def seconds_to_index(app: Any, document_id: str) -> float:
    events = await app.state.components.store.read(stream_id(document_id))
    times = {event.event_type.name: event.time for event in events}
    return (times["DocumentIndexed"] - times["DocumentUploaded"]).total_seconds()


async def one_round(
    aws: AwsSettings, slice_chunks: int, args: argparse.Namespace
) -> dict[str, Any]:
    settings = Settings(
        index_path=Path(tempfile.mkdtemp()) / "chroma",
        poll_wait_seconds=1,
        indexing_slice_chunks=slice_chunks,
    )
    app = create_app(settings, aws)
    async with running(app) as client:
        client.auth = GatewaySigner(app.state.internal_key)
        large_owner, small_owner = (f"bench-{uuid.uuid4().hex[:8]}" for _ in range(2))
        tag = uuid.uuid4().hex[:6]
        large = [
            await upload(
                client, large_owner, f"large-{n}.txt", paragraphs(args.chunks, f"t{tag}{n}")
            )
            for n in range(args.large)
        ]
        # B uploads once every one of A's documents is being indexed.
        for document_id in large:
            await wait_for(client, large_owner, document_id, {"indexing", "indexed"})
        small = await upload(client, small_owner, "small.txt", paragraphs(1, f"s{tag}"))
        await wait_for(client, small_owner, small, {"indexed"})
        for document_id in large:
            await wait_for(client, large_owner, document_id, {"indexed"})
        large_seconds = [await seconds_to_index(app, document_id) for document_id in large]
        return {
            "small_seconds": round(await seconds_to_index(app, small), 3),
            "large_seconds": [round(value, 3) for value in large_seconds],
            "small_finished_first": (await seconds_to_index(app, small)) < min(large_seconds),
        }


async def benchmark(endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    aws = AwsSettings(endpoint_url=endpoint, default_region="us-east-1")
    modes: dict[str, Any] = {}
    for mode, slice_chunks in MODES.items():
        rounds = []
        for number in range(1, args.rounds + 1):
            result = await one_round(aws, slice_chunks, args)
            print(
                f"{mode:9} round {number}: small doc indexed in {result['small_seconds']:.2f} s"
                f" (large docs {', '.join(f'{s:.1f}' for s in result['large_seconds'])} s)",
                flush=True,
            )
            rounds.append(result)
        modes[mode] = {
            "slice_chunks": slice_chunks,
            "small_seconds_median": round(statistics.median(r["small_seconds"] for r in rounds), 3),
            "small_seconds_max": max(r["small_seconds"] for r in rounds),
            "small_finished_first": sum(r["small_finished_first"] for r in rounds),
            "rounds": rounds,
        }
    return modes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=3, help="large documents of owner A")
    parser.add_argument("--chunks", type=int, default=100, help="chunks per large document")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per mode")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    load_at_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    emulator = EmulatorProcess(port=free_port())
    print(f"starting the emulator on {emulator.endpoint}", flush=True)
    with emulator:
        apply(load_spec(), Clients(emulator.endpoint, "us-east-1"))
        modes = asyncio.run(benchmark(emulator.endpoint, args))
    sliced, unsliced = modes["sliced"], modes["unsliced"]
    print(
        f"\nsmall document while {args.large} x {args.chunks} chunks of another owner index:"
        f"\n  sliced   median {sliced['small_seconds_median']:.2f} s"
        f"\n  unsliced median {unsliced['small_seconds_median']:.2f} s"
    )
    results = {
        "benchmark": "rag_fairness",
        "started_at": started.isoformat(),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "parameters": {
            "large_documents": args.large,
            "chunks_each": args.chunks,
            "rounds": args.rounds,
        },
        "modes": modes,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
