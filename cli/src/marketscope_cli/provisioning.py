"""Provisioning with a progress bar (the applier itself lives in marketscope_infra)."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import StepResult, apply, load_spec
from marketscope_platform.aws import AwsSettings


def provision(
    endpoint: str | None,
    console: Console,
    *,
    verbose: bool = False,
    spec: dict[str, Any] | None = None,
) -> list[StepResult]:
    """Apply ``spec`` (resources.json when not given) with a progress bar."""
    spec = load_spec() if spec is None else spec
    clients = Clients(endpoint, AwsSettings().default_region)
    with Progress(
        TextColumn("provisioning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=not verbose,
    ) as progress:
        task = progress.add_task("", total=len(spec["resources"]))

        def on_step(done: int, total: int, line: str) -> None:
            progress.update(task, completed=done, description=line)
            if verbose:
                progress.console.print(line, markup=False, highlight=False)

        results: list[StepResult] = apply(spec, clients, on_step=on_step)
    created = sum(1 for result in results if result.outcome.created)
    console.print(f"provisioned {len(results)} resources ({created} created)")
    return results


async def provision_with_progress(endpoint: str | None, console: Console) -> None:
    # boto3 is synchronous: keep it off the event loop that streams the logs.
    await asyncio.to_thread(provision, endpoint, console)
