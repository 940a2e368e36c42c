"""A webhook channel through the gateway, on the real stack: added (its secret shown
once), a test event signed as Standard Webhooks says and verified by a receiver with the
``standardwebhooks`` package, the deliveries log, and nothing of it for another user."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook

from marketscope_servicekit.testing import served

from ...stack import Stack, in_stack_loop


@in_stack_loop
async def test_a_webhook_channel_through_the_gateway(stack: Stack) -> None:
    owner, other = await stack.api.register("hooks"), await stack.api.register("nosy")
    received: list[dict[str, object]] = []
    secrets: list[str] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        received.append(Webhook(secrets[0]).verify(body, dict(request.headers)))
        return Response(status_code=204)

    async with served(receiver) as base:
        created = await stack.client.post(
            "/api/v1/notification-channels",
            json={"type": "webhook", "url": f"{base}/hook", "kinds": ["alert"]},
            headers=owner.headers,
        )
        assert created.status_code == 201, created.text
        channel = created.json()["channel"]
        secrets.append(created.json()["secret"])
        assert (
            created.headers["location"] == f"/api/v1/notification-channels/{channel['channel_id']}"
        )
        path = f"/api/v1/notification-channels/{channel['channel_id']}"
        tested = await stack.client.post(f"{path}/test", headers=owner.headers)
        assert tested.status_code == 200, tested.text
        assert tested.json()["attempts"][0]["outcome"] == "delivered"
        assert received[0]["type"] == "channel.test"
        log = (await stack.client.get(f"{path}/deliveries", headers=owner.headers)).json()
        assert [d["delivery_id"] for d in log["items"]] == [tested.json()["delivery_id"]]
        refused = await stack.client.post(
            "/api/v1/notification-channels",
            json={"type": "webhook", "url": "http://169.254.169.254/latest/meta-data/"},
            headers=owner.headers,
        )
        assert refused.status_code == 422
        assert refused.json()["reason"] == "link-local"
        for method, url in [("GET", path), ("GET", f"{path}/deliveries"), ("POST", f"{path}/test")]:
            answer = await stack.client.request(method, url, headers=other.headers)
            assert answer.status_code == 404, (method, url)
        listed = await stack.client.get("/api/v1/notification-channels", headers=other.headers)
        assert listed.json()["items"] == []
        gone = await stack.client.delete(path, headers=owner.headers)
        assert gone.status_code == 204
