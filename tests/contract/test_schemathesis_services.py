"""Each service behind the gateway held to its own OpenAPI document with schemathesis:
valid and invalid requests to every operation, each signed with a gateway identity as
it is sent; no answer is a server error and every answer is what the document says
(status code, content type, schema, headers). Each app runs behind uvicorn on the
emulator, as in production."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import pytest
import requests
from fastapi import FastAPI

from marketscope_chat.main import create_app as create_chat
from marketscope_chat.settings import Settings as ChatSettings
from marketscope_market_data.main import create_app as create_market_data
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_notifier.main import create_app as create_notifier
from marketscope_notifier.settings import Settings as NotifierSettings
from marketscope_platform.aws import AwsSettings
from marketscope_rag.main import create_app as create_rag
from marketscope_rag.settings import Settings as RagSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.conformance import exercise_api
from marketscope_servicekit.testing import GatewaySigningAuth, served_in_thread

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 12
# An admin reaches every branch a route has (another owner's watchlist, the shared
# knowledge base); what a user may not do is the authorization tests' to hold.
CALLER = Identity("schemathesis-caller", frozenset({"user", "admin"}))

# Each service as it runs in production: an app, with the services it calls served
# beside it where it cannot answer without them.
AppFactory = Callable[[AwsSettings, Path], AbstractContextManager[FastAPI]]


def market_data(aws: AwsSettings) -> FastAPI:
    return create_market_data(MarketDataSettings(live_refresh=False, embedded_scheduler=False), aws)


@contextmanager
def chat_with_market_data(aws: AwsSettings, tmp: Path) -> Iterator[FastAPI]:
    """chat asks market-data about the symbols of an analysis before it accepts one
    (alone, every valid request would be a documented 503)."""
    with served_in_thread(market_data(aws)) as market_data_url:
        yield create_chat(ChatSettings(market_data_url=market_data_url), aws)


SERVICES: dict[str, AppFactory] = {
    "market-data": lambda aws, _tmp: nullcontext(market_data(aws)),
    "rag": lambda aws, tmp: nullcontext(
        create_rag(
            RagSettings(
                index_path=tmp / "index", poll_wait_seconds=1, reconcile_index_at_start=False
            ),
            aws,
        )
    ),
    "chat": chat_with_market_data,
    "notifier": lambda aws, _tmp: nullcontext(create_notifier(NotifierSettings(), aws)),
}


@pytest.fixture(params=sorted(SERVICES))
def served_service(
    request: pytest.FixtureRequest,
    provisioned: str,
    aws_settings: AwsSettings,
    tmp_path: Path,
) -> Iterator[tuple[str, FastAPI, str]]:
    name: str = request.param
    with SERVICES[name](aws_settings, tmp_path) as app, served_in_thread(app) as url:
        yield name, app, url


def test_every_answer_conforms_to_the_document(
    served_service: tuple[str, FastAPI, str],
) -> None:
    name, app, url = served_service
    with requests.Session() as session:
        session.auth = GatewaySigningAuth(app.state.internal_key, CALLER)
        exercise = exercise_api(url, examples_per_operation=EXAMPLES_PER_OPERATION, session=session)
    print(f"{name}: {exercise.operations} operations, {exercise.calls} calls, {exercise.statuses}")
    assert not exercise.failures, "\n".join(sorted(exercise.failures))
    # The identity verified: calls reached the routes, not only the 401 of a bad signature.
    assert exercise.operations >= 2
    assert exercise.statuses[200] > 0
    assert exercise.statuses[401] < exercise.calls
