"""The `marketscope` command."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.tree import Tree

from marketscope_cli import dlq, logs, traces
from marketscope_cli.deployment import check_stack
from marketscope_cli.errors import CliError
from marketscope_cli.provisioning import provision
from marketscope_cli.queues import queue_depths, queue_url
from marketscope_cli.stack import EmulatorChoice, StackOptions, run_up
from marketscope_cli.status import collect_status
from marketscope_emulator.process import EmulatorProcess
from marketscope_events.catalog import dlq_name, queue_name
from marketscope_events.replay import republish_to_queue, select_events
from marketscope_events.store import DynamoDBEventStore
from marketscope_infra.deploy.template import build_template
from marketscope_infra.deploy.template import render as render_template
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_platform.topology import SERVICES, log_group_name

app = typer.Typer(
    help="MarketScope: run the stack and look after its events.", no_args_is_help=True
)
dlq_app = typer.Typer(help="Dead-letter queues: list, show, redrive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
deploy_app = typer.Typer(help="Deploy to AWS (docs/deploy-aws.md).", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")
console = Console()
T = TypeVar("T")

ServiceName = Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICES)}")]


def _run(make: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(make())  # type: ignore[arg-type]
    except CliError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def _service(name: str) -> str:
    if name not in SERVICES:
        raise CliError(f"unknown service {name!r}; one of: {', '.join(SERVICES)}")
    return name


@app.command()
def up(
    emulator: Annotated[str, typer.Option(help="moto (default) or ministack")] = "moto",
    emulator_port: Annotated[int, typer.Option(help="port of the embedded emulator")] = 4566,
    port_offset: Annotated[int, typer.Option(help="added to every service port")] = 0,
    ready_timeout: Annotated[float, typer.Option(help="seconds to wait for readiness")] = 60.0,
    seed: Annotated[bool, typer.Option(help="upload the starter knowledge base")] = True,
) -> None:
    """Start the emulator, provision, start the five services; Ctrl-C stops them all."""
    if emulator not in ("moto", "ministack"):
        console.print("[bold red]error:[/] --emulator is moto or ministack")
        raise typer.Exit(2)
    choice: EmulatorChoice = "ministack" if emulator == "ministack" else "moto"
    options = StackOptions(choice, emulator_port, port_offset, ready_timeout, seed=seed)
    raise typer.Exit(run_up(options, console))


@app.command("emulator")
def emulator_command(
    port: Annotated[int, typer.Option(help="port to listen on (127.0.0.1)")] = 4566,
) -> None:
    """Run the embedded AWS emulator alone, in the foreground."""
    with EmulatorProcess(port=port) as running:
        console.print(f"emulator ready at {running.endpoint}; Ctrl-C stops it")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass


@app.command("provision")
def provision_command(
    verbose: Annotated[bool, typer.Option(help="print one line per resource")] = False,
) -> None:
    """Create every AWS resource the platform needs (idempotent)."""
    provision(AwsSettings().resolved_endpoint, console, verbose=verbose)


@app.command()
def status(port_offset: Annotated[int, typer.Option()] = 0) -> None:
    """Health of each service and the depth of every queue and DLQ."""
    health, depths = asyncio.run(collect_status("127.0.0.1", port_offset))
    services = Table(title="services")
    for column in ("service", "URL", "alive", "ready", "detail"):
        services.add_column(column)
    for item in health:
        services.add_row(item.name, item.url, _yes(item.alive), _yes(item.ready), item.detail)
    console.print(services)
    if isinstance(depths, str):
        console.print(depths)
        return
    queues = Table(title="queues")
    for column in ("queue", "visible", "in flight"):
        queues.add_column(column)
    for depth in depths:
        style = "bold red" if depth.is_dlq and depth.visible else ""
        queues.add_row(depth.name, str(depth.visible), str(depth.in_flight), style=style)
    console.print(queues)


def _yes(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


@dlq_app.command("list")
def dlq_list() -> None:
    """Every dead-letter queue and how many messages wait in it."""

    async def collect() -> list[Any]:
        async with AwsClients() as aws:
            return [d for d in await queue_depths(await aws.client("sqs")) if d.is_dlq]

    table = Table(title="dead-letter queues")
    table.add_column("queue")
    table.add_column("messages")
    for depth in _run(collect):
        table.add_row(depth.name, str(depth.visible + depth.in_flight))
    console.print(table)


@dlq_app.command("show")
def dlq_show(
    service: ServiceName, limit: Annotated[int, typer.Option(min=1, max=100)] = 10
) -> None:
    """The messages in a service's DLQ, each with what it is or why it is unreadable."""

    async def collect() -> list[dlq.DeadLetter]:
        async with AwsClients() as aws:
            sqs = await aws.client("sqs")
            return await dlq.peek(sqs, await queue_url(sqs, dlq_name(_service(service))), limit)

    letters = _run(collect)
    table = Table(title=f"{dlq_name(service)}: {len(letters)} shown")
    for column in ("message id", "receives", "what it is"):
        table.add_column(column)
    for letter in letters:
        table.add_row(letter.message_id, str(letter.receive_count), letter.summary)
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(
    service: ServiceName,
    to: Annotated[
        str | None, typer.Option(help="target queue name (default: the service's)")
    ] = None,
) -> None:
    """Move every message of a service's DLQ back to its source queue."""
    _service(service)
    if to is None and SERVICES[service].per_instance_queue:
        console.print("[bold red]error:[/] gateway queues are per instance: name one with --to")
        raise typer.Exit(1)
    target = to or queue_name(service)

    async def move() -> int:
        async with AwsClients() as aws:
            sqs = await aws.client("sqs")
            source = await queue_url(sqs, dlq_name(service))
            destination = await queue_url(sqs, target)
            total = sum(d.visible for d in await queue_depths(sqs, dlq_name(service)))
            with Progress(console=console) as progress:
                task = progress.add_task(f"redrive to {target}", total=total or None)
                return await dlq.redrive(
                    sqs, source, destination, on_moved=lambda n: progress.advance(task, n)
                )

    console.print(f"moved {_run(move)} message(s) to {target}")


@deploy_app.command("template")
def deploy_template(
    output: Annotated[
        Path | None, typer.Option(help="the file to write; standard output if not given")
    ] = None,
) -> None:
    """Write the CloudFormation template (YAML) of a whole deployment, generated from
    infra's resource spec."""
    text = render_template(build_template())
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output} ({len(text.splitlines()):,} lines)")


@deploy_app.command("check")
def deploy_check(
    stack: Annotated[str, typer.Option(help="the CloudFormation stack's name")] = "marketscope",
    verbose: Annotated[bool, typer.Option(help="print one line per resource")] = False,
) -> None:
    """Check a deployed stack against the resource spec with the idempotent applier:
    anything missing is made and drift is put back, each named; exit 1 if there was any."""
    try:
        checked = check_stack(stack, console, verbose=verbose)
    except CliError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    for result in checked.drifted:
        console.print(result.line, markup=False, highlight=False)
    if checked.drifted:
        console.print(f"{len(checked.drifted)} of {len(checked.results)} differed from the spec")
        raise typer.Exit(1)
    console.print(f"stack {stack}: all {len(checked.results)} resources as the spec says")


@app.command()
def replay(
    producer: ServiceName,
    to: Annotated[str, typer.Option(help="the consuming service whose queue gets the events")],
    stream_prefix: Annotated[
        str, typer.Option(help="streams to replay, e.g. Quote# or Quote#AAPL")
    ],
    since: Annotated[datetime | None, typer.Option(help="ISO time, inclusive")] = None,
    until: Annotated[datetime | None, typer.Option(help="ISO time, exclusive")] = None,
) -> None:
    """Re-publish a producer's stored events to one consumer's queue only."""
    _service(producer)
    _service(to)

    async def send() -> int:
        async with AwsClients() as aws:
            store = DynamoDBEventStore(await aws.client("dynamodb"), SERVICES[producer].table)
            events = await select_events(
                store, stream_prefix=stream_prefix, since=_utc(since), until=_utc(until)
            )
            sqs = await aws.client("sqs")
            return await republish_to_queue(sqs, await queue_url(sqs, queue_name(to)), events)

    console.print(f"replayed {_run(send)} event(s) to {queue_name(to)}")


@app.command("logs")
def logs_command(
    service: ServiceName,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new lines")] = False,
    trace: Annotated[
        str | None, typer.Option(help="only the lines of this trace (any id form)")
    ] = None,
    since: Annotated[str, typer.Option(help="how far back: 30s, 10m, 2h, 1d")] = "10m",
    raw: Annotated[bool, typer.Option("--json", help="print the JSON lines as stored")] = False,
) -> None:
    """A service's log lines from CloudWatch Logs, every instance's, in time order."""
    group = log_group_name(_service(service))
    start = logs.since_ms(since)
    pattern = logs.trace_filter(trace) if trace else None

    async def show() -> int:
        shown = 0
        async with AwsClients() as aws:
            lines = logs.read_lines(
                await aws.client("logs"), group, start_ms=start, pattern=pattern, follow=follow
            )
            async for line in lines:
                _print_line(line, raw)
                shown += 1
        return shown

    try:
        shown = _run(show)
    except KeyboardInterrupt:
        return
    if not shown:
        which = f" of trace {trace}" if trace else ""
        console.print(f"no lines{which} in {group} since {since}")


def _print_line(line: logs.LogLine, raw: bool) -> None:
    fields = None if raw else line.fields()
    if fields is None:
        console.print(line.message, markup=False, highlight=False, soft_wrap=True)
        return
    level = str(fields.get("level", ""))
    style = {"ERROR": "red", "CRITICAL": "red", "WARNING": "yellow", "DEBUG": "dim"}.get(level, "")
    head = f"{fields.get('time', '')} {level:<7} {fields.get('logger', '')}"
    trace_id = fields.get("trace_id")
    tail = f"  trace={trace_id}" if trace_id else ""
    text = f"{head}  {fields.get('message', '')}{tail}"
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
    if fields.get("exc_info"):
        console.print(str(fields["exc_info"]), style="dim", markup=False, highlight=False)


@app.command("trace")
def trace_command(
    trace_id: Annotated[
        str, typer.Argument(help="an X-Ray id, a log line's trace_id or a traceparent")
    ],
) -> None:
    """One trace as a tree: service, span name and duration of every span."""
    xray_id = traces.xray_trace_id(trace_id)

    async def collect() -> list[dict[str, Any]]:
        async with AwsClients() as aws:
            return await traces.trace_documents(await aws.client("xray"), xray_id)

    documents = _run(collect)
    if not documents:
        console.print(
            f"[bold red]error:[/] X-Ray has no trace {xray_id} (services send their spans "
            "about a second after they end)"
        )
        raise typer.Exit(1)
    roots = traces.tree(documents)
    view = Tree(f"trace {xray_id}: {sum(1 for _ in traces.spans_of(documents))} spans")
    for root in roots:
        _add_span(view, root)
    console.print(view)


def _add_span(parent: Tree, span: traces.Span) -> None:
    duration = "open" if span.duration_ms is None else f"{span.duration_ms:.1f} ms"
    label = f"[bold]{span.service}[/]  {escape(span.name)}  [cyan]{duration}[/]"
    if span.status is not None:
        label += f"  {span.status}"
    if span.fault or span.error:
        label += "  [red]fault[/]" if span.fault else "  [yellow]error[/]"
    branch = parent.add(label)
    for child in span.children:
        _add_span(branch, child)


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def main() -> None:
    app()
