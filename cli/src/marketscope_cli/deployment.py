"""`marketscope deploy check`: a deployed stack checked against the resource spec."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from marketscope_cli.errors import CliError
from marketscope_cli.provisioning import provision
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import StepResult, load_spec
from marketscope_infra.deploy.checks import spec_for_stack
from marketscope_platform.aws import AwsSettings

SETTLED = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


@dataclass(frozen=True)
class StackCheck:
    stack: str
    results: list[StepResult]

    @property
    def drifted(self) -> list[StepResult]:
        """What the stack lacked (now made) or had drifted from the spec (now put back)."""
        return [r for r in self.results if r.outcome.created or r.outcome.updated]


def stack_outputs(clients: Clients, stack: str) -> dict[str, str]:
    try:
        described = clients.client("cloudformation").describe_stacks(StackName=stack)
    except (ClientError, BotoCoreError) as exc:
        raise CliError(f"cannot read stack {stack!r}: {exc}") from exc
    (found,) = described["Stacks"]
    if found["StackStatus"] not in SETTLED:
        raise CliError(f"stack {stack!r} is {found['StackStatus']}, not deployed")
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def check_stack(stack: str, console: Console, *, verbose: bool = False) -> StackCheck:
    settings = AwsSettings()
    clients = Clients(settings.resolved_endpoint, settings.default_region)
    try:
        spec = spec_for_stack(load_spec(), stack_outputs(clients, stack))
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from exc
    results = provision(settings.resolved_endpoint, console, verbose=verbose, spec=spec)
    return StackCheck(stack, results)
