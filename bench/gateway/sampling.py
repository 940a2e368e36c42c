"""Where the gateway's time goes on the quote path: py-spy samples the gateway's process
(from outside, so the gateway runs unchanged) while the load client sends authenticated
quotes, and every sample is put down to the concern of its innermost frame that has one.

A sample in ``jwt`` called from the token check is JWT verification; one in ``json``
called from pydantic is serialisation; one in the event loop's socket write called from
the downstream connection is the downstream client, because frames that name no concern
(the standard library's, the event loop's) are passed over on the way out. Samples whose
stack names no concern at all are the event loop waiting or doing its own bookkeeping.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from http_legs import Leg, load
from servers import log

SAMPLE_RATE = 1000  # per second


@dataclass(frozen=True)
class Concern:
    name: str
    # A frame belongs to the concern if its file path contains one of these (or, with
    # "::", its function is the one named in that file).
    markers: tuple[str, ...]

    def owns(self, frame: str) -> bool:
        for marker in self.markers:
            if "::" in marker:
                path, function = marker.split("::")
                if path in frame and frame.startswith(f"{function} "):
                    return True
            elif marker in frame:
                return True
        return False


# Innermost first wins, so a concern nested in another (the token check inside the
# edge middleware) keeps its own samples.
CONCERNS = (
    Concern(
        "JWT verify",
        (
            "/jwt/",
            "marketscope_gateway/auth/tokens.py",
            "marketscope_gateway/auth/verified.py",
            "marketscope_gateway/edge.py::RateLimitMiddleware._caller",
        ),
    ),
    Concern(
        "rate limit", ("/limits/", "marketscope_gateway/edge.py::RateLimitMiddleware.__call__")
    ),
    Concern("identity signing", ("marketscope_servicekit/identity.py",)),
    Concern(
        "downstream client",
        ("/httpx/", "/httpcore/", "/aiohttp/", "marketscope_gateway/downstream/"),
    ),
    Concern("serialisation", ("/json/", "/pydantic/", "/pydantic_core/", "/orjson")),
    Concern(
        "metrics", ("marketscope_servicekit/request_metrics.py", "marketscope_servicekit/metrics")
    ),
    Concern(
        "tracing",
        (
            "/opentelemetry/",
            "/aws_xray_sdk/",
            "marketscope_servicekit/trac",
            "marketscope_servicekit/sampling.py",
        ),
    ),
    Concern("request id and logging context", ("marketscope_servicekit/request_context.py",)),
    Concern(
        "edge middleware (CORS, body limits)",
        (
            "marketscope_gateway/edge.py",
            "marketscope_servicekit/request_body.py",
            "/starlette/middleware/",
        ),
    ),
    Concern("FastAPI routing and dependencies", ("/fastapi/", "/starlette/")),
    Concern("route handlers", ("marketscope_gateway/api/",)),
    Concern("uvicorn (HTTP parsing and writing)", ("/uvicorn/", "/httptools/")),
)
LOOP = "event loop (waiting, scheduling)"


def concern_of(stack: Sequence[str]) -> str:
    """``stack`` from the root out to the leaf, one frame per item."""
    for frame in reversed(stack):
        for concern in CONCERNS:
            if concern.owns(frame):
                return concern.name
    return LOOP


def breakdown(collapsed: str) -> dict[str, Any]:
    """py-spy's raw (collapsed) output: ``frame;frame;...;leaf count`` per line."""
    samples: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        samples[concern_of(frames)] += int(count)
    total = sum(samples.values())
    return {
        "samples": total,
        "share": {name: round(count / total, 3) for name, count in samples.most_common() if total},
    }


def py_spy() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed (uv sync installs the dev group)")
    return found


async def profile_leg(leg: Leg, pid: int, *, requests: int, concurrency: int) -> dict[str, Any]:
    """Samples ``pid`` while ``leg`` sends ``requests``; the share of samples per concern,
    of the samples where the gateway was on CPU (idle samples are left out)."""
    output = Path(tempfile.mkdtemp()) / "gateway.txt"
    recorder = await asyncio.create_subprocess_exec(
        py_spy(), "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE), "--format", "raw",
        "--nonblocking", "--full-filenames", "--output", str(output),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(1.0)  # py-spy attached
    rps = await load(leg, requests, concurrency)
    recorder.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
    _, errors = await asyncio.wait_for(recorder.communicate(), timeout=60)
    if not output.exists():
        raise RuntimeError(f"py-spy wrote nothing: {errors.decode(errors='replace')}")
    result = breakdown(output.read_text())
    result["rps_while_sampled"] = round(rps, 1)
    result["sample_rate"] = SAMPLE_RATE
    log(f"profile: {result['samples']} samples at {rps:.1f} requests/s")
    for name, share in result["share"].items():
        log(f"  {share:6.1%}  {name}")
    return result
