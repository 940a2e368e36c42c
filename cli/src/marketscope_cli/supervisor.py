"""Child processes of `marketscope up`: started in their own process groups, their output
streamed with a name prefix, probed until ready, and stopped together (no orphans)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

LinePrinter = Callable[[str, str], None]
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies, even by SIGKILL, so
    nothing it started outlives it (Linux; elsewhere only a clean stop reaps them)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


ReadyProbe = Callable[[], Awaitable[bool]]


# Started first and stopped last: the services need it until they have stopped.
INFRASTRUCTURE = frozenset({"emulator"})


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    ready: ReadyProbe
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    process: asyncio.subprocess.Process | None = None

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None


class StartupFailed(Exception):
    def __init__(self, process: ManagedProcess, reason: str) -> None:
        super().__init__(f"{process.name} {reason}")
        self.managed = process
        self.reason = reason


class Supervisor:
    def __init__(self, print_line: LinePrinter) -> None:
        self._print_line = print_line
        self.processes: list[ManagedProcess] = []
        self._pumps: list[asyncio.Task[None]] = []

    async def start(self, managed: ManagedProcess) -> None:
        managed.process = await asyncio.create_subprocess_exec(
            *managed.command,
            env=managed.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            # Its own group: Ctrl-C reaches us only, and we stop children in order.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.processes.append(managed)
        self._pumps.append(asyncio.create_task(self._pump(managed)))

    async def _pump(self, managed: ManagedProcess) -> None:
        assert managed.process is not None
        assert managed.process.stdout is not None
        async for raw in managed.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            managed.tail.append(line)
            self._print_line(managed.name, line)

    async def wait_ready(self, managed: Sequence[ManagedProcess], limit_seconds: float) -> None:
        """Return when every process answers its probe; raise StartupFailed otherwise."""
        waiting = list(managed)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_seconds
        while waiting:
            for item in list(waiting):
                if item.exited:
                    code = item.process.returncode if item.process else None
                    raise StartupFailed(item, f"exited with code {code} while starting")
                if await item.ready():
                    waiting.remove(item)
            if waiting and loop.time() > deadline:
                raise StartupFailed(waiting[0], f"was not ready after {limit_seconds:.0f} s")
            if waiting:
                await asyncio.sleep(0.2)

    async def wait_for_exit(self) -> ManagedProcess:
        """The first child to exit (while all should be running, that is a crash)."""
        waits = {
            asyncio.create_task(item.process.wait()): item
            for item in self.processes
            if item.process is not None
        }
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return waits[done.pop()]

    async def stop_all(self, grace_seconds: float = 10.0) -> None:
        """Stop the services first, all at once, then what they depend on (the emulator),
        so a service can still remove what it made (a gateway its instance queue) while
        stopping. SIGTERM, then SIGKILL for what outlives the grace period."""
        services = [item for item in self.processes if item.name not in INFRASTRUCTURE]
        infrastructure = [item for item in self.processes if item.name in INFRASTRUCTURE]
        for wave in (services, infrastructure):
            await asyncio.gather(*(_stop(item, grace_seconds) for item in wave))
        for pump in self._pumps:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(pump, 2)


async def _stop(item: ManagedProcess, grace_seconds: float) -> None:
    if item.process is None:
        return
    _signal_group(item, signal.SIGTERM)
    try:
        await asyncio.wait_for(item.process.wait(), grace_seconds)
    except TimeoutError:
        _signal_group(item, signal.SIGKILL)
        await item.process.wait()
    # Workers a server forked may outlive their parent; the group goes with it.
    _signal_group(item, signal.SIGKILL)


def _signal_group(managed: ManagedProcess, signum: signal.Signals) -> None:
    if managed.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(managed.process.pid, signum)
