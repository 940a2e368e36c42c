"""The CloudFormation template of a whole MarketScope deployment.

marketscope deploy template --output marketscope.yaml
python -m marketscope_infra.deploy.template > marketscope.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_infra.definitions.model import JsonObject, Resource
from marketscope_infra.deploy import access, compute
from marketscope_infra.deploy.cfn import ref
from marketscope_infra.deploy.spec_resources import resource_id, translate
from marketscope_infra.spec import build_resources
from marketscope_platform.topology import DOCUMENTS_BUCKET, SERVICES, ServiceInfo, log_group_name

TEMPLATE_VERSION = "2010-09-09"
DESCRIPTION = (
    "MarketScope on AWS: the resources of infra's spec (tables, bucket, topics, queues, "
    "subscriptions, log groups, secret, alarms, dashboard, schedule), the five services on "
    "ECS Fargate behind a load balancer, one least-privilege role per service."
)
# The setting through which each service that keeps objects learns the bucket's name.
BUCKET_SETTINGS = {"rag": "DOCUMENTS_BUCKET", "chat": "REPORTS_BUCKET"}


def _wiring(
    spec: Sequence[Resource],
    services: Mapping[str, ServiceInfo],
    bucket_names: Mapping[str, JsonObject],
) -> compute.ServiceWiring:
    log_groups = {
        name: resource_id(resource)
        for name in services
        for resource in spec
        if resource.kind == "log-group" and resource.name == log_group_name(name)
    }
    environment = {
        name: {f"{services[name].env_prefix}{setting}": bucket_names[DOCUMENTS_BUCKET]}
        for name, setting in BUCKET_SETTINGS.items()
        if name in services
    }
    return compute.ServiceWiring(log_groups=log_groups, environment=environment)


def build_template(
    catalog: Catalog = CATALOG, services: Mapping[str, ServiceInfo] = SERVICES
) -> JsonObject:
    spec = build_resources(catalog, services)
    translation = translate(spec)
    internal_key = ref(compute.INTERNAL_KEY_SECRET)
    policies = {
        name: (
            access.task_policy(info, spec=spec, catalog=catalog, services=services),
            access.execution_policy(info, internal_key),
        )
        for name, info in services.items()
    }
    wiring = _wiring(spec, services, translation.bucket_names)
    resources = {
        **translation.resources,
        **compute.compute_resources(services, wiring, policies, access.ASSUMED_BY_ECS_TASKS),
    }
    return {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": DESCRIPTION,
        "Parameters": compute.parameters(services),
        "Conditions": compute.conditions(),
        "Resources": resources,
        "Outputs": {
            **compute.outputs(),
            "DocumentsBucket": {
                "Description": "The documents bucket (rag's and chat's prefixes)",
                "Value": translation.bucket_names[DOCUMENTS_BUCKET],
            },
        },
    }


class _TemplateDumper(yaml.SafeDumper):
    """Block style, keys in the order they were built, long strings unfolded, and no
    anchors or aliases (CloudFormation rejects them)."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def render(template: JsonObject) -> str:
    text: str = yaml.dump(
        template, Dumper=_TemplateDumper, sort_keys=False, default_flow_style=False, width=1000
    )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m marketscope_infra.deploy.template", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--output", type=Path, help="the file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = render(build_template())
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
