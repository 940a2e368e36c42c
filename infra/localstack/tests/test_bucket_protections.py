"""The documents bucket is private, encrypted at rest and refuses plain HTTP.

Its TLS-only policy is put only where clients arrive over TLS, so the policy's checks run
against a second moto server of their own that speaks https (certificate from a trustme
test CA). The shared emulator speaks plain HTTP on loopback, like every local stack: its
bucket gets the public-access block and the encryption, and keeps serving objects.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from botocore.exceptions import ClientError

from marketscope_emulator.process import free_port
from marketscope_infra.appliers.buckets import TLS_POLICY_LEFT_OFF
from marketscope_infra.appliers.context import substitute
from marketscope_infra.apply import Clients, StepResult, apply
from marketscope_platform.topology import DOCUMENTS_BUCKET

from .conftest import REGION, of_kind

pytestmark = pytest.mark.integration

ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
STARTUP_SECONDS = 30.0


def sse_algorithms(s3: Any) -> list[str]:
    rules = s3.get_bucket_encryption(Bucket=DOCUMENTS_BUCKET)["ServerSideEncryptionConfiguration"]
    return [rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules["Rules"]]


def bucket_line(results: list[StepResult]) -> str:
    [line] = [result.line for result in results if result.kind == "bucket"]
    return line


@pytest.fixture(scope="module")
def tls_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server of this module's own on https://127.0.0.1, trusted by botocore
    through ``AWS_CA_BUNDLE``."""
    folder = tmp_path_factory.mktemp("tls-emulator")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certificate.private_key_pem.write_to_path(str(folder / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    authority.cert_pem.write_to_path(str(folder / "ca.pem"))
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    command += ["-c", str(folder / "cert.pem"), "-k", str(folder / "key.pem")]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"https://127.0.0.1:{port}"
    try:
        wait_until_serving(endpoint, folder / "ca.pem", server)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_CA_BUNDLE", str(folder / "ca.pem"))
            yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_until_serving(endpoint: str, ca_file: Path, server: subprocess.Popen[bytes]) -> None:
    trusted = ssl.create_default_context(cafile=str(ca_file))
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the TLS emulator exited with code {server.returncode}")
        try:
            httpx.get(f"{endpoint}/moto-api/data.json", verify=trusted, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"the TLS emulator at {endpoint} did not answer in {STARTUP_SECONDS} s")


@pytest.fixture(scope="module")
def tls_clients(tls_endpoint: str) -> Clients:
    return Clients(tls_endpoint, REGION)


@pytest.fixture(scope="module")
def bucket_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Only the spec's own bucket resource, exactly as every backend gets it."""
    return {"format": spec["format"], "resources": of_kind(spec["resources"], "bucket")}


@pytest.fixture(scope="module")
def tls_first_run(tls_clients: Clients, bucket_spec: dict[str, Any]) -> list[StepResult]:
    return apply(bucket_spec, tls_clients)


def test_the_spec_asks_for_all_three_protections(bucket_spec: dict[str, Any]) -> None:
    [bucket] = bucket_spec["resources"]
    assert bucket["name"] == DOCUMENTS_BUCKET
    assert bucket["public_access_block"] == ALL_BLOCKED
    assert bucket["encryption"] == {
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    [statement] = bucket["policy"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "s3:*",
    )
    assert statement["Resource"] == [
        f"arn:${{AWS::Partition}}:s3:::{DOCUMENTS_BUCKET}",
        f"arn:${{AWS::Partition}}:s3:::{DOCUMENTS_BUCKET}/*",
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_over_plain_http_the_bucket_is_blocked_and_encrypted_and_still_serves_objects(
    clients: Clients, first_run: list[StepResult], resolved: list[Any]
) -> None:
    s3 = clients.client("s3")
    block = s3.get_public_access_block(Bucket=DOCUMENTS_BUCKET)["PublicAccessBlockConfiguration"]
    assert block == ALL_BLOCKED
    assert sse_algorithms(s3) == ["AES256"]
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=DOCUMENTS_BUCKET)
    assert missing.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    assert bucket_line(first_run).endswith(f"({TLS_POLICY_LEFT_OFF})")

    key = f"test-bucket-protections/{uuid.uuid4().hex}"
    stored = s3.put_object(Bucket=DOCUMENTS_BUCKET, Key=key, Body=b"quarterly report")
    assert stored["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=DOCUMENTS_BUCKET, Key=key)["Body"].read() == b"quarterly report"
    link = s3.generate_presigned_url("get_object", Params={"Bucket": DOCUMENTS_BUCKET, "Key": key})
    assert httpx.get(link, timeout=10.0).content == b"quarterly report"
    s3.delete_object(Bucket=DOCUMENTS_BUCKET, Key=key)


def test_over_tls_the_bucket_gets_all_three_protections(
    tls_clients: Clients, tls_first_run: list[StepResult], bucket_spec: dict[str, Any]
) -> None:
    assert bucket_line(tls_first_run) == f"created bucket {DOCUMENTS_BUCKET}"
    s3 = tls_clients.client("s3")
    block = s3.get_public_access_block(Bucket=DOCUMENTS_BUCKET)["PublicAccessBlockConfiguration"]
    assert block == ALL_BLOCKED
    assert sse_algorithms(s3) == ["AES256"]
    policy = json.loads(s3.get_bucket_policy(Bucket=DOCUMENTS_BUCKET)["Policy"])
    [bucket] = bucket_spec["resources"]
    assert policy == substitute(bucket["policy"], tls_clients.placeholders())
    assert policy["Statement"][0]["Resource"] == [
        f"arn:aws:s3:::{DOCUMENTS_BUCKET}",
        f"arn:aws:s3:::{DOCUMENTS_BUCKET}/*",
    ]
    assert s3.get_bucket_versioning(Bucket=DOCUMENTS_BUCKET)["Status"] == "Enabled"


def test_over_tls_a_second_run_changes_nothing(
    tls_clients: Clients, tls_first_run: list[StepResult], bucket_spec: dict[str, Any]
) -> None:
    assert bucket_line(apply(bucket_spec, tls_clients)) == f"exists  bucket {DOCUMENTS_BUCKET}"


def test_moto_refuses_every_object_request_under_the_policy_even_over_tls(
    tls_clients: Clients, tls_first_run: list[StepResult]
) -> None:
    """moto does not evaluate ``aws:SecureTransport``: it applies the Deny to every object
    request. This is why the shared plain-HTTP emulator must not get the policy."""
    with pytest.raises(ClientError) as refused:
        tls_clients.client("s3").put_object(Bucket=DOCUMENTS_BUCKET, Key="probe", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "403"


def test_drifted_protections_are_put_back(
    tls_clients: Clients, tls_first_run: list[StepResult], bucket_spec: dict[str, Any]
) -> None:
    s3 = tls_clients.client("s3")
    s3.put_public_access_block(
        Bucket=DOCUMENTS_BUCKET,
        PublicAccessBlockConfiguration={**ALL_BLOCKED, "RestrictPublicBuckets": False},
    )
    s3.delete_bucket_encryption(Bucket=DOCUMENTS_BUCKET)
    s3.delete_bucket_policy(Bucket=DOCUMENTS_BUCKET)

    line = bucket_line(apply(bucket_spec, tls_clients))

    assert line == (
        f"exists  bucket {DOCUMENTS_BUCKET} (updated PublicAccessBlock, Encryption, Policy)"
    )
    block = s3.get_public_access_block(Bucket=DOCUMENTS_BUCKET)["PublicAccessBlockConfiguration"]
    assert block == ALL_BLOCKED
    assert sse_algorithms(s3) == ["AES256"]
    assert json.loads(s3.get_bucket_policy(Bucket=DOCUMENTS_BUCKET)["Policy"])["Statement"]
