"""Consumer-driven contract: what the gateway sends to chat, market-data, rag and notifier,
and every field it reads from their answers, checked against the OpenAPI snapshots those
services commit (tests/contract/<service>/openapi.json).

The requests are the ones the gateway's own clients make (recorded off a mock transport),
not a hand-kept list, so a renamed path or parameter on either side fails here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from marketscope_gateway.api.documents import UPLOAD_BODY
from marketscope_gateway.downstream import ChatClient, MarketDataClient, NotifierClient, RagClient
from marketscope_gateway.schemas import READS, SearchRequest
from marketscope_gateway.service import OverviewComposer
from marketscope_servicekit import Identity
from marketscope_servicekit.identity import verify_identity

CONTRACTS = Path(__file__).resolve().parents[1]
PROVIDERS = ("chat", "market-data", "notifier", "rag")
JsonObject = dict[str, Any]
KEY = "contract-" + "k" * 40


def snapshot(service: str) -> JsonObject:
    path = CONTRACTS / service / "openapi.json"
    if not path.exists():
        pytest.fail(f"{service} has not committed its OpenAPI snapshot at {path}")
    document: JsonObject = json.loads(path.read_text())
    return document


def resolve(document: JsonObject, schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def variants(document: JsonObject, schema: Any) -> Iterator[JsonObject]:
    """The schemas a schema may be, anyOf/oneOf/allOf flattened."""
    schema = resolve(document, schema)
    if not isinstance(schema, dict):
        return
    options = [o for key in ("anyOf", "oneOf", "allOf") for o in schema.get(key, [])]
    if options:
        for option in options:
            yield from variants(document, option)
    else:
        yield schema


def json_types(document: JsonObject, schema: Any) -> set[str]:
    """The JSON types a schema admits; empty means anything."""
    types: set[str] = set()
    for option in variants(document, schema):
        declared = option.get("type")
        if declared is None:
            return set()
        types |= {declared} if isinstance(declared, str) else set(declared)
    return types | ({"number"} if "integer" in types else set())


def missing_fields(
    consumer_doc: JsonObject, consumer: Any, provider_doc: JsonObject, provider: Any, where: str
) -> list[str]:
    """Every field the consumer's schema reads must be in the provider's, always present
    when the consumer requires it, and of a type the consumer accepts (null included)."""
    problems: list[str] = []
    properties: JsonObject = {}
    required: set[str] = set()
    for option in variants(provider_doc, provider):
        properties.update(option.get("properties", {}))
        required |= set(option.get("required", []))
    for wanted_object in variants(consumer_doc, consumer):
        for name, wanted in wanted_object.get("properties", {}).items():
            field = f"{where}.{name}"
            if name not in properties:
                problems.append(f"{field}: not in the provider's schema")
                continue
            if name in wanted_object.get("required", []) and name not in required:
                problems.append(f"{field}: the gateway requires it, the provider may omit it")
            offered = json_types(provider_doc, properties[name])
            accepted = json_types(consumer_doc, wanted)
            if accepted and (not offered or not offered <= accepted):
                problems.append(
                    f"{field}: the provider sends {sorted(offered) or 'anything'}, "
                    f"the gateway reads {sorted(accepted)}"
                )
            problems += missing_fields(consumer_doc, wanted, provider_doc, properties[name], field)
            for wanted_list in variants(consumer_doc, wanted):
                if wanted_list.get("type") != "array":
                    continue
                for offered_list in variants(provider_doc, properties[name]):
                    if offered_list.get("type") == "array":
                        problems += missing_fields(
                            consumer_doc,
                            wanted_list.get("items"),
                            provider_doc,
                            offered_list.get("items"),
                            f"{field}[]",
                        )
    return problems


def read_schema(model: type[BaseModel]) -> tuple[JsonObject, JsonObject]:
    """A read model's JSON Schema, and a document its ``$ref``s resolve in."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"components": {"schemas": schema.pop("$defs", {})}}, schema


def operation(document: JsonObject, method: str, path: str) -> tuple[str, JsonObject]:
    """The provider's path template matching a concrete path, and its operation."""
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method in item:
            return template, item[method]
    raise AssertionError(f"{method.upper()} {path} is not in the provider's API")


async def recorded_requests() -> list[tuple[str, httpx.Request]]:
    """Every call the gateway's clients make, each client method used once."""
    calls: list[tuple[str, httpx.Request]] = []

    def recorder(service: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            calls.append((service, request))
            return httpx.Response(200, json={})

        return httpx.MockTransport(handle)

    caller = Identity("user-1")
    market_http = httpx.AsyncClient(transport=recorder("market-data"), base_url="http://md")
    rag_http = httpx.AsyncClient(transport=recorder("rag"), base_url="http://rag")
    market, rag = MarketDataClient(market_http, KEY), RagClient(rag_http, KEY)
    chat_http = httpx.AsyncClient(transport=recorder("chat"), base_url="http://chat")
    chat = ChatClient(chat_http, KEY, connect_timeout=1.0, idle_timeout=1.0)
    notifier_http = httpx.AsyncClient(transport=recorder("notifier"), base_url="http://notifier")
    notifier = NotifierClient(notifier_http, KEY)

    async def body() -> Any:
        yield b"--x--"

    await market.quote(caller, "AAPL")
    await market.quotes(caller, "AAPL,MSFT")
    await market.history(
        caller,
        "AAPL",
        {"interval": "1d", "period": "6mo", "start": "2012-01-01", "end": "2013-01-01"},
    )
    await market.indicators(caller, "AAPL", "sma,rsi")
    await market.risk(
        caller,
        {
            "symbols": "AAPL",
            "benchmark": "MSFT",
            "period": "1y",
            "start": "2012-01-01",
            "end": "2013-01-01",
        },
    )
    await market.profile(caller, "AAPL")
    await market.watchlist(caller)
    await market.save_watchlist(caller, {"symbols": ["AAPL"]})
    await rag.upload(caller, body(), "multipart/form-data; boundary=x")
    await rag.upload(caller, body(), "multipart/form-data; boundary=x", document_id="d1")
    await rag.documents(caller)
    await rag.document(caller, "d1")
    await rag.delete(caller, "d1")
    search = SearchRequest(query="q", k=3, document_ids=["d1"], tags=["t"], mode="bm25")
    await rag.search(caller, search.model_dump(exclude_none=True))
    await OverviewComposer(market, rag, part_timeout=1.0).compose(caller, "AAPL")
    await chat.create_conversation(caller, {"title": "t"})
    await chat.conversations(caller, {"limit": 10, "cursor": "c"})
    await chat.conversation(caller, "c1")
    await chat.delete_conversation(caller, "c1")
    await chat.usage(caller)
    await chat.models(caller)
    await chat.request_analysis(caller, b'{"kind": "stock", "symbols": ["AAPL"]}')
    await chat.analyses(caller, {"limit": 10, "cursor": "c"})
    await chat.analysis(caller, "a1")
    await chat.cancel_analysis(caller, "a1")
    for opened in (
        await chat.post_message(caller, "c1", b'{"content": "hi"}', "text/event-stream"),
        await chat.complete(caller, b'{"model": "marketscope", "messages": []}'),
    ):
        await opened.aclose()
    alert = (
        b'{"symbol": "AAPL", "condition": {"kind": "crossing_up", "level": 200},'
        b' "frequency": {"kind": "every_time", "cooldown_seconds": 600},'
        b' "expires_at": "2030-01-01T00:00:00Z", "note": "n"}'
    )
    await notifier.create_alert(caller, alert)
    await notifier.alerts(caller, {"limit": 10, "cursor": "c"})
    await notifier.alert(caller, "alr_1")
    change = b'{"condition": {"kind": "less_than", "level": 150}, "frequency": {"kind": "once"},'
    await notifier.change_alert(caller, "alr_1", change + b' "expires_at": null, "note": "n"}')
    await notifier.pause_alert(caller, "alr_1")
    await notifier.resume_alert(caller, "alr_1")
    await notifier.delete_alert(caller, "alr_1")
    await notifier.notifications(caller, {"limit": 10, "cursor": "c", "unread": True})
    await notifier.unread_count(caller)
    await notifier.mark_read(caller, "ntf_1")
    await notifier.mark_all_read(caller)
    await chat_http.aclose()
    await notifier_http.aclose()
    await market_http.aclose()
    await rag_http.aclose()
    return calls


async def test_every_call_the_gateway_makes_is_in_the_providers_api() -> None:
    documents = {service: snapshot(service) for service in PROVIDERS}
    calls = await recorded_requests()
    assert {service for service, _ in calls} == set(PROVIDERS)
    problems: list[str] = []
    for service, request in calls:
        method = request.method.lower()
        template, op = operation(documents[service], method, request.url.path)
        where = f"{service} {request.method} {template}"
        parameters = {(p["name"], p["in"]) for p in op.get("parameters", [])}
        for name in request.url.params:
            if (name, "query") not in parameters:
                problems.append(f"{where}: query parameter {name!r} unknown to the provider")
        required = {
            p["name"] for p in op.get("parameters", []) if p.get("required") and p["in"] == "query"
        }
        for name in required - set(request.url.params):
            problems.append(f"{where}: required query parameter {name!r} not sent")
        content = op.get("requestBody", {}).get("content", {})
        if request.headers.get("content-type", "").startswith("application/json"):
            sent = json.loads(request.content)
            schema = resolve(documents[service], content["application/json"]["schema"])
            for name in sent:
                if name not in schema.get("properties", {}):
                    problems.append(f"{where}: body field {name!r} unknown to the provider")
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            schema = resolve(documents[service], content["multipart/form-data"]["schema"])
            ours = UPLOAD_BODY["requestBody"]["content"]["multipart/form-data"]["schema"]
            for name in ours["properties"]:
                if name not in schema.get("properties", {}):
                    problems.append(f"{where}: multipart field {name!r} unknown to the provider")
            for name in schema.get("required", []):
                if name not in ours.get("required", []):
                    problems.append(f"{where}: multipart field {name!r} required by the provider")
    assert problems == []


async def test_every_call_carries_an_identity_signed_for_exactly_that_request() -> None:
    for service, request in await recorded_requests():
        identity = verify_identity(
            KEY,
            request.headers,
            method=request.method,
            path_with_query=request.url.raw_path.decode("ascii"),
            body_digest=hashlib.sha256(request.content).hexdigest(),
        )
        assert identity == Identity("user-1"), f"{service} {request.method} {request.url}"


@pytest.mark.parametrize("model", list(READS), ids=lambda model: model.__name__)
def test_every_field_the_gateway_reads_is_in_the_providers_answer(model: type[BaseModel]) -> None:
    service, method, path, status = READS[model]  # type: ignore[index]
    document = snapshot(service)
    op = document["paths"][path][method]
    assert status in op["responses"], f"{service} {path} never answers {status}"
    provided = op["responses"][status]["content"]["application/json"]["schema"]
    consumer_doc, consumer = read_schema(model)
    assert missing_fields(consumer_doc, consumer, document, provided, model.__name__) == []


def test_the_checker_catches_a_missing_field() -> None:
    """The check above can fail: a provider without ``price`` breaks OverviewQuote."""
    from marketscope_gateway.schemas import OverviewQuote

    document = snapshot("market-data")
    provided = document["paths"]["/quotes/{symbol}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    broken = json.loads(json.dumps(document))
    quote_schema = resolve(broken, provided)
    del quote_schema["properties"]["price"]
    consumer_doc, consumer = read_schema(OverviewQuote)
    assert missing_fields(consumer_doc, consumer, broken, provided, "OverviewQuote") == [
        "OverviewQuote.price: not in the provider's schema"
    ]
    quote_schema["properties"]["price"] = {"type": "string"}
    quote_schema["required"].append("price")
    [wrong_type] = missing_fields(consumer_doc, consumer, broken, provided, "OverviewQuote")
    assert wrong_type.startswith("OverviewQuote.price: the provider sends ['string']")
