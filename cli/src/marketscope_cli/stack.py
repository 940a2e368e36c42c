"""`marketscope up`: emulator, provisioning, the five services, until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from marketscope_cli.provisioning import provision_with_progress
from marketscope_cli.supervisor import ManagedProcess, StartupFailed, Supervisor
from marketscope_emulator.process import HEALTH_PATHS, ServerKind, server_command, server_env
from marketscope_platform.topology import SERVICES, ServiceInfo
from marketscope_servicekit.identity import Identity, sign_identity
from marketscope_servicekit.internal_key import ENV_VARIABLE, generate_internal_key

EmulatorChoice = Literal["moto", "ministack"]
LOG_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")


@dataclass(frozen=True)
class StackOptions:
    emulator: EmulatorChoice = "moto"
    emulator_port: int = 4566
    port_offset: int = 0
    ready_timeout: float = 60.0
    host: str = "127.0.0.1"
    seed: bool = True

    @property
    def emulator_kind(self) -> ServerKind:
        return "ministack" if self.emulator == "ministack" else "gunicorn"

    @property
    def embedded_endpoint(self) -> str:
        return f"http://{self.host}:{self.emulator_port}"

    def port_of(self, service: ServiceInfo) -> int:
        return service.port + self.port_offset

    def url_of(self, service: ServiceInfo) -> str:
        return f"http://{self.host}:{self.port_of(service)}"


def endpoint_for(options: StackOptions) -> tuple[str | None, bool]:
    """(endpoint, whether we run the emulator): ``AWS_ENDPOINT_URL`` pointing elsewhere
    (LocalStack, or '' for AWS) means no embedded emulator."""
    configured = os.environ.get("AWS_ENDPOINT_URL")
    if configured is None or configured == options.embedded_endpoint:
        return options.embedded_endpoint, True
    return configured or None, False


async def probe(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


# What a service keeps on local disk beside AWS: the setting that places it.
LOCAL_STATE = {"rag": "INDEX_PATH"}


def local_state_env(run_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Settings that put each service's local state under ``run_dir`` (one run's),
    except where the environment already names a place."""
    env = {}
    for name, field in LOCAL_STATE.items():
        variable = f"{SERVICES[name].env_prefix}{field}"
        if variable not in environ:
            env[variable] = str(run_dir / name / "index")
    return env


def service_env(
    options: StackOptions,
    endpoint: str | None,
    service: ServiceInfo,
    internal_key: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint or "",
        ENV_VARIABLE: internal_key,
        f"{service.env_prefix}HOST": options.host,
        f"{service.env_prefix}PORT": str(options.port_of(service)),
        "PYTHONUNBUFFERED": "1",
        **{k: v for k, v in (extra or {}).items() if k.startswith(service.env_prefix)},
    }
    for called in service.calls:
        field = called.replace("-", "_").upper()
        env[f"{service.env_prefix}{field}_URL"] = options.url_of(SERVICES[called])
    return env


def service_process(
    options: StackOptions,
    endpoint: str | None,
    service: ServiceInfo,
    internal_key: str,
    extra: Mapping[str, str] | None = None,
) -> ManagedProcess:
    """``python -m <module>``, as in the image: host, port and the run's internal key
    reach its settings through ``service_env``."""
    command = [sys.executable, "-m", service.module]
    ready_url = f"{options.url_of(service)}/readyz"
    env = service_env(options, endpoint, service, internal_key, extra)
    return ManagedProcess(service.name, command, env, lambda: probe(ready_url))


class Stack:
    def __init__(self, options: StackOptions, console: Console) -> None:
        self.options = options
        self.console = console
        # One key per run, known only to this process and the services it starts: no
        # published key signs identities, and the stack's own signed calls use it too.
        self.internal_key = generate_internal_key()
        self.supervisor = Supervisor(self._print_line)
        self._started_emulator = False
        self._run_dir: Path | None = None
        self._colours = {
            name: LOG_COLOURS[index % len(LOG_COLOURS)]
            for index, name in enumerate(["emulator", *SERVICES])
        }

    def _print_line(self, name: str, line: str) -> None:
        colour = self._colours.get(name, "white")
        self.console.print(
            f"[{colour}]{name:>11} |[/] {escape(line)}", highlight=False, soft_wrap=True
        )

    async def run(self) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        started = time.monotonic()
        try:
            endpoint = await self._start_emulator()
            await provision_with_progress(endpoint, self.console)
            extra = self._local_state()
            services = [
                service_process(self.options, endpoint, service, self.internal_key, extra)
                for service in SERVICES.values()
            ]
            for managed in services:
                await self.supervisor.start(managed)
            with self.console.status("waiting for the services to be ready..."):
                await self.supervisor.wait_ready(services, self.options.ready_timeout)
            if self.options.seed:
                await self._seed_knowledge_base()
            self._print_ready(endpoint, time.monotonic() - started)
            return await self._watch(stop)
        except StartupFailed as failure:
            self._report_failure(failure)
            return 1
        finally:
            with self.console.status("stopping..."):
                await self.supervisor.stop_all()
            if self._run_dir is not None:
                shutil.rmtree(self._run_dir, ignore_errors=True)
            self.console.print("stopped")

    def _local_state(self) -> dict[str, str]:
        """An emulator this run started holds its state in memory and forgets it at
        exit; local state (rag's index) then lives in a directory of this run, removed
        with it, so nothing outlives the store it projects. With an emulator that was
        already running, LocalStack or AWS, the store persists and so does local state
        (each service's default path)."""
        if not self._started_emulator:
            return {}
        self._run_dir = Path(tempfile.mkdtemp(prefix="marketscope-run-"))
        return local_state_env(self._run_dir, os.environ)

    async def _start_emulator(self) -> str | None:
        endpoint, embedded = endpoint_for(self.options)
        if not embedded:
            self.console.print(f"using the AWS endpoint {endpoint or 'of AWS itself'}")
            return endpoint
        assert endpoint is not None
        kind = self.options.emulator_kind
        health = f"{endpoint}{HEALTH_PATHS[kind]}"
        if await probe(health):
            self.console.print(f"using the emulator already running at {endpoint}")
            return endpoint
        host, port = self.options.host, self.options.emulator_port
        emulator = ManagedProcess(
            "emulator",
            server_command(host, port, kind),
            server_env(host, port, kind),
            lambda: probe(health),
        )
        await self.supervisor.start(emulator)
        with self.console.status(f"starting the {self.options.emulator} emulator..."):
            await self.supervisor.wait_ready([emulator], 120 if kind == "ministack" else 30)
        self._started_emulator = True
        return endpoint

    async def _watch(self, stop: asyncio.Event) -> int:
        stopped = asyncio.create_task(stop.wait())
        crashed = asyncio.create_task(self.supervisor.wait_for_exit())
        done, _ = await asyncio.wait({stopped, crashed}, return_when=asyncio.FIRST_COMPLETED)
        if crashed in done:
            managed = crashed.result()
            code = managed.process.returncode if managed.process else None
            self._report_failure(StartupFailed(managed, f"exited with code {code}"))
            return 1
        crashed.cancel()
        return 0

    async def _seed_knowledge_base(self) -> None:
        """The rag service uploads the starter documents it ships (``POST
        /knowledge-base/starter``, as an admin) as any upload; a second `up` finds them
        already there (dedup by content)."""
        rag_url = self.options.url_of(SERVICES["rag"])
        uploader = Identity("marketscope-starter", frozenset({"admin"}))
        path = "/knowledge-base/starter"
        headers = sign_identity(self.internal_key, uploader, method="POST", path_with_query=path)
        with self.console.status("uploading the starter knowledge base..."):
            try:
                async with httpx.AsyncClient(base_url=rag_url, timeout=60.0) as client:
                    response = await client.post(path, headers=headers)
                    response.raise_for_status()
            except httpx.HTTPError as exc:
                self.console.print(f"[yellow]starter knowledge base not uploaded: {exc}[/]")
                return
        ids = [document["document_id"] for document in response.json()["documents"]]
        self.console.print(f"starter knowledge base: {len(ids)} shared documents (indexing)")

    def _print_ready(self, endpoint: str | None, seconds: float) -> None:
        web = self.options.url_of(SERVICES["gateway"]) + "/"
        self.console.print(f"[bold]Open the web app: {web}[/]", highlight=False)
        table = Table(title=f"MarketScope is ready ({seconds:.1f} s)")
        table.add_column("service")
        table.add_column("URL")
        table.add_column("API docs")
        for service in SERVICES.values():
            url = self.options.url_of(service)
            table.add_row(service.name, url, f"{url}/docs")
        table.add_row("AWS endpoint", endpoint or "AWS", "")
        self.console.print(table)
        self.console.print("Ctrl-C stops everything.")

    def _report_failure(self, failure: StartupFailed) -> None:
        self.console.print(f"[bold red]{failure}[/]")
        if failure.managed.tail:
            self.console.print(f"last lines of {failure.managed.name}:")
            for line in failure.managed.tail:
                self.console.print(f"  {line}", markup=False, highlight=False)


def run_up(options: StackOptions, console: Console) -> int:
    return asyncio.run(Stack(options, console).run())
