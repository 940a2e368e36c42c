"""The ops page: the stack's admin sees every service ready with its checks, each queue's
depth, API latency and recent errors, and redrives a dead-letter queue into which the
test put a message; a normal user is refused the page (and the API) and has no Ops entry
in the navigation."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from marketscope_events.catalog import dlq_name, queue_name
from marketscope_platform import AwsClients

from ..stack import ADMIN_EMAIL, PASSWORD, Stack, in_stack_loop
from .browser import WebApp

SERVICES = ["gateway", "chat", "market-data", "rag", "notifier"]
REDRIVE = re.compile(r"/api/v1/ops/queues/rag/redrive$")


async def ensure_admin(stack: Stack) -> None:
    """The stack's admin account (whoever registers ADMIN_EMAIL is one)."""
    credentials = {"email": ADMIN_EMAIL, "password": PASSWORD}
    registered = await stack.client.post("/api/v1/auth/register", json=credentials)
    assert registered.status_code in {201, 409}, registered.text


async def sign_in(web: WebApp, email: str) -> None:
    await web.open("/sign-in")
    await web.page.get_by_label("Email").fill(email)
    await web.page.get_by_label("Password").fill(PASSWORD)
    await web.page.get_by_role("button", name="Sign in").click()
    await web.page.get_by_role("heading", name="Dashboard", level=1).wait_for()


async def put_dead_letter(stack: Stack, service: str) -> str:
    marker = f"dead-letter-{uuid.uuid4().hex}"
    async with AwsClients(stack.aws_settings) as aws:
        sqs = await aws.client("sqs")
        url = (await sqs.get_queue_url(QueueName=dlq_name(service)))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody=f'{{"marker": "{marker}"}}')
    return marker


@in_stack_loop
async def test_an_admin_sees_health_and_queues_and_redrives_a_dlq(
    web: WebApp, stack: Stack
) -> None:
    await ensure_admin(stack)
    await put_dead_letter(stack, "rag")
    await sign_in(web, ADMIN_EMAIL)
    page = web.page
    await page.get_by_role("link", name="Ops").click()
    await page.get_by_role("heading", name="Ops", level=1).wait_for()

    health = page.locator("table.ops-health tbody tr")
    await expect(health).to_have_count(len(SERVICES))
    for service in SERVICES:
        row = page.locator(f"table.ops-health tr[data-service='{service}']")
        await expect(row).to_have_attribute("data-status", "ready")
        await expect(row.locator(".ops-status")).to_have_text("Ready")
        await expect(row.locator(".ops-check.ok").first).to_be_visible()
        await expect(row.locator(".ops-check.failed")).to_have_count(0)
    gateway_checks = page.locator("table.ops-health tr[data-service='gateway'] .ops-check")
    await expect(gateway_checks.filter(has_text="signing-key")).to_have_count(1)

    rag = page.locator("table.ops-queues tr[data-service='rag']")
    await expect(rag.locator("code").first).to_have_text(queue_name("rag"))
    await expect(rag.locator(".ops-dlq-depth code")).to_have_text(dlq_name("rag"))
    dead = int(await rag.get_attribute("data-dead") or "0")
    assert dead >= 1, "the message put in the rag DLQ is counted"
    await expect(rag.locator(".ops-dlq-depth.has-dead")).to_have_count(1)
    for service in ("chat", "market-data", "notifier"):
        depth = page.locator(f"table.ops-queues tr[data-service='{service}'] .ops-queue-depth")
        await expect(depth).to_contain_text(re.compile(r"^\d+ \(\d+ in flight\)$"))
    # What the backend cannot measure is shown as such.
    await expect(page.locator(".ops-oldest")).to_contain_text("not measured by this backend")
    await expect(rag.locator(".ops-not-measured")).to_contain_text("not measured here")
    # Every service's measurements; the emulator keeps no percentiles, so the recorders'.
    for service in SERVICES:
        measured = page.locator(f"table.ops-measurements tr.ops-service[data-service='{service}']")
        await expect(measured).to_have_attribute("data-status", "measured")
    gateway_latency = page.locator(
        "table.ops-measurements tr.ops-service[data-service='gateway'] .ops-api-latency"
    )
    await expect(gateway_latency).to_contain_text(re.compile(r"p99 [\d,.]+ ms"))
    await expect(gateway_latency.locator("[data-source='recorder']")).to_have_count(1)
    await expect(
        page.locator("tr.ops-route[data-service='gateway'][data-route='/api/v1/auth/login']")
    ).to_have_count(1)
    async with page.expect_response(lambda r: "/api/v1/ops/measurements?minutes=60" in r.url):
        await page.get_by_label("Window").select_option("60")
    await expect(
        page.locator(".ops-measurements").locator("xpath=..").locator("..")
    ).to_contain_text("The last 60 minutes")
    await expect(
        page.locator("section", has_text="Recent errors").locator(".note, .empty").first
    ).to_be_visible()
    await web.check_and_capture("ops")

    async with page.expect_response(REDRIVE) as redriven:
        await page.get_by_role("button", name="Redrive rag DLQ").click()
    answer = await redriven.value
    assert answer.status == 200
    moved = (await answer.json())["moved"]
    assert moved >= 1
    await expect(page.locator(".ops-redriven")).to_have_text(
        f"Moved {moved} message(s) from {dlq_name('rag')} to {queue_name('rag')}."
    )


@in_stack_loop
async def test_a_normal_user_is_refused_the_ops_page(web: WebApp, stack: Stack) -> None:
    await sign_in(web, stack.b.email)
    page = web.page
    await expect(page.locator("#nav-links a", has_text="Dashboard")).to_be_visible()
    await expect(page.get_by_role("link", name="Ops")).to_have_count(0)
    await web.go("/ops")
    await expect(page.locator(".ops-admins-only .problem-title")).to_have_text("Admins only")
    await expect(page.locator("table.ops-health")).to_have_count(0)
    refused = await stack.client.get("/api/v1/ops/health", headers=stack.b.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    await web.check_and_capture("ops-refused")
