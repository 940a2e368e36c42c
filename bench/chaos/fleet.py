"""The consumer processes: started, SIGKILLed, started again, stopped with SIGTERM.

Each start is a new incarnation (``<name>#<n>``) with a report file and a log of its own
in the run's directory. Only processes started here are ever signalled, by their pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tally import ReportReader

CONSUMER_SCRIPT = Path(__file__).resolve().with_name("consumer.py")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class FleetSettings:
    endpoint: str
    ledger_tables: tuple[str, ...]
    visibility_timeout: int
    claim_seconds: int
    wait_time_seconds: int
    concurrency: int
    run_dir: Path


@dataclass(frozen=True)
class ConsumerSpec:
    name: str  # the consumer, as idempotency records and the ledger name it
    service: str  # whose subscriptions its queue has
    queue_url: str
    dlq_url: str
    idempotency_tables: tuple[str, ...]


@dataclass
class ConsumerProcess:
    spec: ConsumerSpec
    settings: FleetSettings
    reader: ReportReader
    incarnation: int = 0
    mode: str = ""
    process: subprocess.Popen[bytes] | None = None
    kills: list[float] = field(default_factory=list)  # perf_counter of each SIGKILL
    _log: IO[bytes] | None = None

    @property
    def writer(self) -> str:
        return f"{self.spec.name}#{self.incarnation}"

    def start(self, mode: str) -> None:
        self.incarnation += 1
        self.mode = mode
        stem = self.settings.run_dir / f"{self.spec.name}.{self.incarnation}"
        reports = stem.with_suffix(".jsonl")
        self.reader.follow(self.spec.name, reports)
        self._close_log()
        self._log = stem.with_suffix(".log").open("ab")
        command = [
            sys.executable, str(CONSUMER_SCRIPT),
            "--endpoint", self.settings.endpoint,
            "--name", self.spec.name,
            "--queue-url", self.spec.queue_url,
            "--idempotency-tables", ",".join(self.spec.idempotency_tables),
            "--ledger-tables", ",".join(self.settings.ledger_tables),
            "--mode", mode,
            "--incarnation", str(self.incarnation),
            "--reports", str(reports),
            "--visibility-timeout", str(self.settings.visibility_timeout),
            "--claim-seconds", str(self.settings.claim_seconds),
            "--wait-time-seconds", str(self.settings.wait_time_seconds),
            "--concurrency", str(self.settings.concurrency),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no handler finishes, no claim is released, nothing is deleted."""
        process = self._running()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.kills.append(time.perf_counter())

    def terminate(self) -> None:
        """SIGTERM: the consumer finishes the messages in hand and its poll, then exits."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not finished its messages in time."""
        self.terminate()
        process, self.process = self.process, None
        if process is None:
            return None
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        self._close_log()
        return process.returncode

    def check_alive(self) -> None:
        process = self._running()
        if process.poll() is not None:
            raise RuntimeError(
                f"consumer {self.writer} exited with {process.returncode}; see "
                f"{self.settings.run_dir / f'{self.spec.name}.{self.incarnation}.log'}"
            )

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError(f"consumer {self.spec.name} is not running")
        return self.process

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class Fleet:
    """The three consumer processes."""

    def __init__(
        self, specs: list[ConsumerSpec], settings: FleetSettings, reader: ReportReader
    ) -> None:
        self.reader = reader
        self.consumers = [ConsumerProcess(spec, settings, reader) for spec in specs]

    def by_name(self, name: str) -> ConsumerProcess:
        return next(c for c in self.consumers if c.spec.name == name)

    async def start(self, mode: str) -> None:
        self.launch(mode)
        await self.ready()

    def launch(self, mode: str) -> None:
        """Start every consumer; `ready` waits until they poll."""
        for consumer in self.consumers:
            consumer.start(mode)

    async def ready(self) -> None:
        """Wait until every running incarnation polls its queue."""
        deadline = time.perf_counter() + READY_TIMEOUT_S
        while True:
            self.reader.read()
            waiting = [
                c for c in self.consumers if c.writer not in self.reader.tallies[c.spec.name].ready
            ]
            if not waiting:
                return
            for consumer in waiting:
                consumer.check_alive()
            if time.perf_counter() > deadline:
                names = ", ".join(c.writer for c in waiting)
                raise TimeoutError(f"consumers not ready after {READY_TIMEOUT_S:.0f} s: {names}")
            await asyncio.sleep(0.1)

    def check_alive(self) -> None:
        for consumer in self.consumers:
            consumer.check_alive()

    def stop(self) -> dict[str, int | None]:
        """Stop them all at once; each incarnation's exit code (-9: it had to be killed)."""
        for consumer in self.consumers:
            consumer.terminate()
        return {consumer.writer: consumer.stop() for consumer in self.consumers}
