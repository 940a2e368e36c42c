"""Benchmark of the rag index: indexing throughput, search latency at 10,000 chunks
(query embedding included), and memory.

The corpus is real text available offline: the starter knowledge base plus the
docstrings of the Python standard library and installed packages (read with ``ast``,
nothing is imported), cut by the service's own chunker. Documents are spread over 20
owners and the shared knowledge base, so every search filters by owner as in service.

Phases:
1. index   chunk -> embed (MiniLM int8 ONNX, one thread, as the service runs it) ->
           Chroma upsert + BM25 bookkeeping, via `ChunkIndex.replace_document`.
2. search  hybrid (BM25 + vector, RRF), vector-only and BM25-only searches as one owner,
           each timed end to end including the query embedding; the first search after
           indexing rebuilds the BM25 snapshot and is reported separately.
3. quality hit@1, hit@5 and MRR@10 of each mode on the four labelled sets of
           `services/rag/tests/` (the guides' own words, paraphrases, and two held-out
           sets never used for tuning), searching as
           the same owner, so the other documents it sees are distractors.

`--quality-only` skips the timed searches and replaces only the `quality` figures of an
existing results file (`--chunks 65` is the starter guides alone).

Usage: uv run python bench/rag/run.py [--chunks 10000] [--queries 300] [--quick]
       [--quality-only]
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import platform
import random
import resource
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil

from marketscope_rag.embeddings.minilm import MiniLMEmbedder
from marketscope_rag.embeddings.tokens import TokenCounter
from marketscope_rag.indexing.chunking import Chunker
from marketscope_rag.search.records import ChunkRecord
from marketscope_rag.search.retrieval import ChunkIndex, SearchMode
from marketscope_rag.starter import STARTER_DOCUMENTS, starter_document

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "rag.json"
TARGET_P95_MS = 50.0
OWNERS = [f"user-{i:02d}" for i in range(20)] + ["shared"]
LABELS = Path(__file__).resolve().parents[2] / "services/rag/tests"
LABELLED_SETS = {
    "questions": LABELS / "retrieval_questions.json",
    "paraphrases": LABELS / "retrieval_paraphrases.json",
    "held_out": LABELS / "retrieval_held_out.json",
    "held_out_strict": LABELS / "retrieval_held_out_strict.json",
}
MODES: tuple[SearchMode, ...] = ("bm25", "vector", "hybrid")


def source_roots() -> list[Path]:
    site = Path(sysconfig.get_paths()["purelib"])
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = ["numpy", "pandas", "scipy", "bokeh", "pydantic", "fastapi", "chromadb"]
    return [stdlib] + [site / name for name in packages if (site / name).is_dir()]


def documents() -> Iterator[tuple[str, str]]:
    """(name, text): starter guides first, then one document per source file's docstrings."""
    for name in STARTER_DOCUMENTS:
        yield name, starter_document(name).decode()
    for root in source_roots():
        for path in sorted(root.rglob("*.py")):
            if "test" in path.parts or "tests" in path.parts:
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            docstrings = [
                doc.strip()
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                and (doc := ast.get_docstring(node))
                and len(doc) > 200
            ]
            if docstrings:
                yield str(path.relative_to(root.parent)), "\n\n".join(docstrings)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.50), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "mean_ms": round(sum(values) / len(values), 2),
    }


def relevant(record: ChunkRecord, label: dict[str, str]) -> bool:
    # As the quality test decides it: the labelled passage, whitespace-insensitive.
    return record.filename == label["document"] and label["answer"] in " ".join(record.text.split())


def quality(index: ChunkIndex, owners: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """hit@1, hit@5 and MRR@10 of each mode on each labelled set."""
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for set_name, path in LABELLED_SETS.items():
        labels = json.loads(path.read_text())
        figures[set_name] = {}
        for mode in MODES:
            firsts: list[int | None] = []
            for label in labels:
                hits = index.search(label["question"], k=10, owners=owners, mode=mode)
                ranks = [i for i, h in enumerate(hits, start=1) if relevant(h.record, label)]
                firsts.append(ranks[0] if ranks else None)
            n = len(labels)
            figures[set_name][mode] = {
                "hit@1": round(sum(r == 1 for r in firsts) / n, 3),
                "hit@5": round(sum(r is not None and r <= 5 for r in firsts) / n, 3),
                "mrr": round(sum(1 / r for r in firsts if r is not None) / n, 3),
            }
            m = figures[set_name][mode]
            print(
                f"  {set_name:<11} {mode:<6} hit@1 {m['hit@1']:.3f} hit@5 {m['hit@5']:.3f}"
                f" MRR {m['mrr']:.3f}",
                flush=True,
            )
    return figures


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="1,000 chunks, 60 queries")
    parser.add_argument(
        "--quality-only",
        action="store_true",
        help="measure retrieval quality only; update the quality figures of the results file",
    )
    args = parser.parse_args()
    if args.quick:
        args.chunks, args.queries = 1_000, 60
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as workdir:
        return run(args, Path(workdir))


def run(args: argparse.Namespace, workdir: Path) -> int:
    rng = random.Random(7)
    rss_start = rss_mib()
    embedder = MiniLMEmbedder()
    chunker = Chunker(TokenCounter(), chunk_tokens=200, overlap_tokens=32)
    index = ChunkIndex.open(workdir / "chroma", embedder)
    rss_model = rss_mib()

    print(f"indexing {args.chunks} chunks into {workdir}", flush=True)
    total, embed_s, write_s, chunk_s, docs = 0, 0.0, 0.0, 0.0, 0
    sample_texts: list[str] = []
    started = time.perf_counter()
    last_report = started
    for number, (name, text) in enumerate(documents()):
        if total >= args.chunks:
            break
        t0 = time.perf_counter()
        chunks = chunker.split(text)[: args.chunks - total]
        t1 = time.perf_counter()
        owner = "shared" if number < len(STARTER_DOCUMENTS) else rng.choice(OWNERS)
        records = [
            ChunkRecord(
                f"doc{number}:v1:{c.index}",
                f"doc{number}",
                owner,
                name,
                "v1",
                c.index,
                c.start,
                c.end,
                c.section,
                c.text,
                ("bench",),
            )
            for c in chunks
        ]
        vectors = embedder.embed([r.search_text for r in records])
        t2 = time.perf_counter()
        index.replace_document(f"doc{number}", records, vectors)
        t3 = time.perf_counter()
        chunk_s, embed_s, write_s = chunk_s + t1 - t0, embed_s + t2 - t1, write_s + t3 - t2
        total += len(records)
        docs += 1
        if owner == OWNERS[0] and len(sample_texts) < 200:
            sample_texts += [c.text for c in chunks[:2]]
        if time.perf_counter() - last_report > 5:
            last_report = time.perf_counter()
            rate = total / (last_report - started)
            eta = (args.chunks - total) / rate if rate else 0
            print(f"  {total:>6}/{args.chunks} chunks, {rate:6.1f}/s, eta {eta:4.0f}s", flush=True)
    index_seconds = time.perf_counter() - started
    print(f"indexed {total} chunks from {docs} documents in {index_seconds:.1f}s", flush=True)

    owner = OWNERS[0]
    print(f"retrieval quality as {owner} over {total} chunks", flush=True)
    quality_figures = {
        "corpus_chunks": total,
        "searched_as": [owner, "shared"],
        "k": 10,
        "glossary_phrasings": len(index.glossary),
        "sets": quality(index, [owner, "shared"]),
    }
    if args.quality_only:
        index.close()
        existing = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else {}
        existing["quality"] = quality_figures
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_FILE.write_text(json.dumps(existing, indent=2) + "\n")
        print(f"updated the quality figures of {RESULTS_FILE}")
        return 0

    labelled = [item["question"] for item in json.loads(LABELLED_SETS["questions"].read_text())]
    derived = [" ".join(text.split()[:8]) for text in sample_texts]
    queries = [rng.choice(labelled + derived) for _ in range(args.queries)]
    t0 = time.perf_counter()
    index.search(queries[0], k=5, owners=[owner, "shared"])
    first_search_ms = (time.perf_counter() - t0) * 1000
    for query in queries[:10]:  # warm-up
        index.search(query, k=5, owners=[owner, "shared"])

    latencies: dict[str, list[float]] = {"hybrid": [], "vector": [], "bm25": [], "embed": []}
    print(f"searching: {len(queries)} queries per mode as {owner}", flush=True)
    timed: tuple[SearchMode, ...] = ("hybrid", "vector", "bm25")
    for mode in timed:
        for number, query in enumerate(queries, start=1):
            t0 = time.perf_counter()
            index.search(query, k=5, owners=[owner, "shared"], mode=mode)
            latencies[mode].append((time.perf_counter() - t0) * 1000)
            if number % 100 == 0:
                print(f"  {mode}: {number}/{len(queries)}", flush=True)
    for query in queries:
        t0 = time.perf_counter()
        embedder.embed([query])
        latencies["embed"].append((time.perf_counter() - t0) * 1000)

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hybrid = summary(latencies["hybrid"])
    result = {
        "benchmark": "rag",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": psutil.cpu_count(),
        },
        "corpus": {"chunks": total, "documents": docs, "owners": len(OWNERS)},
        "indexing": {
            "seconds": round(index_seconds, 1),
            "chunks_per_second": round(total / index_seconds, 1),
            "embedding_seconds": round(embed_s, 1),
            "chroma_write_seconds": round(write_s, 1),
            "chunking_seconds": round(chunk_s, 1),
        },
        "search": {
            "queries_per_mode": len(queries),
            "k": 5,
            "first_search_ms_bm25_snapshot_build": round(first_search_ms, 1),
            "hybrid": hybrid,
            "vector": summary(latencies["vector"]),
            "bm25": summary(latencies["bm25"]),
            "query_embedding": summary(latencies["embed"]),
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": hybrid["p95_ms"] <= TARGET_P95_MS,
        },
        "memory_mib": {
            "rss_at_start": round(rss_start, 1),
            "rss_with_model": round(rss_model, 1),
            "rss_after_search": round(rss_mib(), 1),
            "peak_rss": round(peak_rss, 1),
        },
        "quality": quality_figures,
    }
    index.close()
    print(json.dumps(result, indent=2))
    if not args.quick:
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_FILE.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
