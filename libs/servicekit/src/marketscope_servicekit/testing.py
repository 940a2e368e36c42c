"""The contract every service's app is held to, written once (imported by tests only).

A service's test module subclasses `ServiceContract`, names its service, settings class,
``create_app`` and the readiness checks it declares, and inherits the tests.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import httpx
import pytest
import requests
import uvicorn
from fastapi import FastAPI
from requests.auth import AuthBase

from marketscope_events import CATALOG, Envelope, EventStore, MalformedEnvelopeError, TopicDirectory
from marketscope_events.subscriptions import (
    ServiceSubscription,
    remove_subscription,
    subscribe_service,
)
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_platform.topology import SERVICES, ServiceInfo
from marketscope_servicekit.calls import SERVER_KEEP_ALIVE_SECONDS
from marketscope_servicekit.health import HEALTH_PATHS
from marketscope_servicekit.identity import ROLES_HEADER, USER_HEADER, Identity, sign_identity
from marketscope_servicekit.settings import ServiceSettings

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

AppFactory = Callable[[ServiceSettings, AwsSettings], FastAPI]

# The service shape (docs/architecture.md): the same role modules in every service, and
# tests that mirror them.
ROLE_MODULES = (
    "main.py",
    "components.py",
    "settings.py",
    "errors.py",
    "schemas.py",
    "service.py",
    "store.py",
    "handlers.py",
)
ROLE_TESTS = ("test_api.py", "test_service.py", "test_store.py", "test_handlers.py", "fakes.py")


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` with its lifespan started (httpx's transport runs none)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def private_subscription(
    aws: AwsClients, service: str, label: str
) -> AsyncIterator[ServiceSubscription]:
    """A queue of the caller's own with its DLQ, subscribed to what ``service`` consumes as
    the service's queue is: what reaches it reaches the service's queue, and no running
    app of the session consumes it (nor the caller anything of theirs)."""
    sns, sqs = await aws.client("sns"), await aws.client("sqs")
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    name = f"test-{label}-{uuid.uuid4().hex[:8]}"
    subscription = await subscribe_service(
        sns, sqs, topics, service, queue_name=name, dlq_name=f"{name}-dlq"
    )
    try:
        yield subscription
    finally:
        await remove_subscription(sns, sqs, subscription, delete_dlq=True)


def sign_request(key: str, identity: Identity, request: httpx.Request) -> None:
    """Add the identity headers the gateway would send with ``request`` (its body read)."""
    request.headers.update(
        sign_identity(
            key,
            identity,
            method=request.method,
            path_with_query=request.url.raw_path.decode("ascii"),
            body=request.content,
        )
    )


def sign_prepared_request(key: str, identity: Identity, request: requests.PreparedRequest) -> None:
    """`sign_request` for a ``requests`` request: its target and body as they are sent."""
    body = request.body
    if body is not None and not isinstance(body, bytes | str):
        raise TypeError("a streamed body cannot be signed before it is sent")
    request.headers.update(
        sign_identity(
            key,
            identity,
            method=request.method or "GET",
            path_with_query=request.path_url,
            body=body.encode() if isinstance(body, str) else body or b"",
        )
    )


def identity_headers(user: str, *roles: str) -> dict[str, str]:
    """Names the identity a request is to carry; a `GatewaySigner` signs it as sent."""
    return {USER_HEADER: user, ROLES_HEADER: ",".join(roles or ("user",))}


def _named_identity(headers: Mapping[str, str]) -> Identity | None:
    user = headers.get(USER_HEADER)
    if user is None:
        return None
    roles = headers.get(ROLES_HEADER, "user")
    return Identity(user, frozenset(role for role in roles.split(",") if role))


class GatewaySigner(httpx.Auth):
    """Signs each request as the gateway would: as the identity its `identity_headers`
    name, else as ``default`` (unsigned when there is neither)."""

    requires_request_body = True

    def __init__(self, key: str, default: Identity | None = None) -> None:
        self._key = key
        self._default = default

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        identity = _named_identity(request.headers) or self._default
        if identity is not None:
            sign_request(self._key, identity, request)
        yield request


class GatewaySigningAuth(AuthBase):
    """`GatewaySigner` for ``requests`` (what schemathesis sends with): each request is
    signed as the identity its `identity_headers` name, else as ``default``."""

    def __init__(self, key: str, default: Identity | None = None) -> None:
        self._key = key
        self._default = default

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        headers = {
            name: value.decode("latin-1") if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        identity = _named_identity(headers) or self._default
        if identity is not None:
            sign_prepared_request(self._key, identity, request)
        return request


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def unreachable_aws() -> AwsSettings:
    """An endpoint on a loopback port that nothing listens on."""
    return AwsSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", default_region="us-east-1")


def _server(app: FastAPI, port: int) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
        )
    )


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn server on a free loopback port, in this event loop,
    its lifespan run as in production (WebSockets need a real server); yields its base
    URL."""
    port = free_port()
    server = _server(app, port)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started serving")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextmanager
def served_in_thread(app: FastAPI, *, start_seconds: float = 30.0) -> Iterator[str]:
    """``app`` behind uvicorn on a free loopback port, in a thread of this process (its
    lifespan run as in production), for clients that block; yields its base URL."""
    port = free_port()
    server = _server(app, port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started serving")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start within {start_seconds:g}s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class ServiceContract:
    service: ClassVar[ServiceInfo]
    settings_class: ClassVar[type[ServiceSettings]]

    # The subclass's defaults fill what the base class leaves required: build through it.
    def settings(self, **values: object) -> ServiceSettings:
        build: Callable[..., ServiceSettings] = self.settings_class
        return build(**values)

    create_app: ClassVar[AppFactory]
    readiness_checks: ClassVar[tuple[str, ...]]
    readme: ClassVar[Path]
    # A GET route that needs the built components (None: the service has no such route).
    probe_path: ClassVar[str | None] = None
    # Whether the service's routes take the gateway-signed identity (all but the gateway).
    signed_identity: ClassVar[bool] = True
    # The role tests the service has; a skeleton names the ones its code already needs.
    role_tests: ClassVar[tuple[str, ...]] = ROLE_TESTS

    @property
    def service_root(self) -> Path:
        return self.readme.parent

    @property
    def package_dir(self) -> Path:
        return self.service_root / "src" / self.service.module

    def make_app(self, aws: AwsSettings, **settings: object) -> FastAPI:
        return type(self).create_app(self.settings(**settings), aws)

    async def test_healthz_is_ok_without_aws(self) -> None:
        async with running(self.make_app(unreachable_aws())) as client:
            response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "service": self.service.name}

    async def test_readyz_is_503_naming_the_unreachable_resources(self) -> None:
        app = self.make_app(unreachable_aws(), readiness_timeout=0.5)
        async with running(app) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["service"] == self.service.name
        assert sorted(problem["failed"]) == sorted(self.readiness_checks)

    def test_defaults_follow_the_topology(self) -> None:
        settings = self.settings()
        assert settings.host == "127.0.0.1"
        assert (settings.port, settings.table_name) == (self.service.port, self.service.table)
        assert getattr(settings, "queue_name", None) == (
            None if self.service.per_instance_queue else self.service.queue
        )

    def test_env_prefix_is_the_services(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(f"{self.service.env_prefix}TABLE_NAME", "elsewhere")
        assert self.settings().table_name == "elsewhere"

    def test_readme_documents_exactly_the_settings(self) -> None:
        prefix = self.service.env_prefix
        pattern = rf"^\| `({prefix}[A-Z_]+)` \|"
        documented = set(re.findall(pattern, self.readme.read_text(), re.MULTILINE))
        expected = {prefix + field.upper() for field in self.settings_class.model_fields}
        assert documented == expected

    def test_has_the_service_layout(self) -> None:
        package = self.package_dir
        missing = [name for name in ROLE_MODULES if not (package / name).is_file()]
        if not (package / "api.py").is_file() and not (package / "api").is_dir():
            missing.append("api.py or api/")
        assert not missing, f"{self.service.name} lacks {missing} (see docs/architecture.md)"
        assert not (package / "runtime.py").exists(), "the object graph lives in components.py"
        tests = self.service_root / "tests"
        missing_tests = [name for name in self.role_tests if not (tests / name).is_file()]
        assert not missing_tests, f"{self.service.name}'s tests lack {missing_tests}"

    async def test_a_route_before_start_up_is_503_problem(self) -> None:
        if self.probe_path is None:
            pytest.skip(f"{self.service.name} has no route that needs its components yet")
        app = self.make_app(unreachable_aws())
        signer = GatewaySigner(app.state.internal_key, Identity("contract-user"))
        transport = httpx.ASGITransport(app=app)  # no lifespan: nothing is built
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", auth=signer
        ) as client:
            response = await client.get(self.probe_path)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:marketscope:problem:not-started"

    async def test_every_route_but_health_needs_the_signed_identity(self) -> None:
        if not self.signed_identity:
            pytest.skip(f"{self.service.name} authenticates users itself")
        app = self.make_app(unreachable_aws())
        transport = httpx.ASGITransport(app=app)
        checked = 0
        # The OpenAPI document lists every route with its methods, however it was included.
        paths: dict[str, dict[str, object]] = app.openapi()["paths"]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for template, operations in paths.items():
                if template in HEALTH_PATHS:
                    continue
                path = re.sub(r"{[^}]+}", "x", template)
                for method in sorted(operations):
                    response = await client.request(method.upper(), path)
                    assert response.status_code == 401, (method, template, response.text)
                    checked += 1
        if checked == 0:
            pytest.skip(f"{self.service.name} has no routes besides health yet")


async def no_components(_aws: AwsSettings | object, _metrics: object) -> object:
    """A ``build`` for apps that have no components of their own (servicekit's tests)."""
    return object()


class EventStoreContract:
    """A service's own event store, as its components open it, on the test backend:
    appends land in the service's table and what is appended for publication reaches a
    subscriber's queue through the outbox relay. Subclasses name the service, its
    ``create_app`` and ``settings_class``, and make one catalog event with its stream."""

    service: ClassVar[ServiceInfo]
    settings_class: ClassVar[type[ServiceSettings]]
    create_app: ClassVar[AppFactory]

    def stream_and_event(self) -> tuple[str, Envelope]:
        raise NotImplementedError

    def settings(self) -> ServiceSettings:
        build: Callable[..., ServiceSettings] = self.settings_class
        return build()

    @pytest.mark.integration
    @pytest.mark.usefixtures("provisioned")
    async def test_appends_land_in_the_services_own_table(self, aws_settings: AwsSettings) -> None:
        settings = self.settings()
        stream_id, event = self.stream_and_event()
        app = type(self).create_app(settings, aws_settings)
        async with running(app), AwsClients(aws_settings) as aws:
            store: EventStore = app.state.components.store
            await store.append(stream_id, [event], expected_version=0, publish=False)
            [stored] = await store.read(stream_id)
            dynamodb = await aws.client("dynamodb")
            item = await dynamodb.get_item(
                TableName=settings.table_name, Key={"pk": {"S": stream_id}, "sk": {"N": "1"}}
            )
        assert (stored.id, stored.sequence, stored.data) == (event.id, 1, event.data)
        assert "Item" in item

    @pytest.mark.integration
    @pytest.mark.usefixtures("provisioned")
    async def test_published_appends_reach_a_subscriber_queue(
        self, aws_settings: AwsSettings
    ) -> None:
        stream_id, event = self.stream_and_event()
        subscribers = sorted(
            name
            for name in CATALOG.spec(event.event_type.name).subscribers
            if not SERVICES[name].per_instance_queue
        )
        assert subscribers, f"{event.type} has no subscriber with a provisioned queue"
        app = type(self).create_app(self.settings(), aws_settings)
        # A queue subscribed as the subscriber's is, which a running app (this one, when it
        # consumes its own events) may be draining.
        async with (
            AwsClients(aws_settings) as aws,
            private_subscription(aws, subscribers[0], "contract") as queue,
            running(app),
        ):
            await app.state.components.store.append(stream_id, [event], expected_version=0)
            received = await _receive(await aws.client("sqs"), queue.queue.url, event.id)
        assert (received.type, received.data) == (event.type, event.data)


async def _receive(sqs: SQSClient, queue_url: str, event_id: str) -> Envelope:
    async with asyncio.timeout(20):
        while True:
            response = await sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in response.get("Messages", []):
                try:
                    envelope = Envelope.from_json(message["Body"])
                except MalformedEnvelopeError:
                    continue  # the queue's raw messages (an ops alarm, a job) are not ours
                if envelope.id == event_id:
                    await sqs.delete_message(
                        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
                    return envelope
