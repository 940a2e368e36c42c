"""The spec as a deployed stack has it: the same resources, with the stack's own name for
each bucket (bucket names are global, so the stack's carry the account and region). The
idempotent applier run with it checks the stack against the spec: a resource it has to
make, or drift it has to put back, is named."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from marketscope_infra.deploy.cfn import rename_buckets

BUCKET_OUTPUTS = {"marketscope-documents": "DocumentsBucket"}


def spec_for_stack(spec: Mapping[str, Any], outputs: Mapping[str, str]) -> dict[str, Any]:
    """``spec`` with each bucket renamed to the name the stack's outputs give it."""
    text = json.dumps(spec)
    for bucket, output in BUCKET_OUTPUTS.items():
        if output not in outputs:
            raise KeyError(f"the stack has no output {output} (the name of {bucket})")
        deployed = outputs[output]
        text = rename_buckets(text, {bucket: deployed})
        text = text.replace(f'"name": "{bucket}"', f'"name": "{deployed}"')
    renamed: dict[str, Any] = json.loads(text)
    return renamed
