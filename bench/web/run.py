"""Benchmark of the web app, in Debian's Chromium driven by Playwright, against the stack
``marketscope up`` starts (the embedded emulator and the five services):

1. first load   ``/`` in a new context: bytes transferred (gzip), responses, time to a
                usable sign-in form;
2. dashboard    with a warm cache, ``--navigations`` times: the document reloaded and the
                session resumed from the refresh cookie, until the four watchlist rows
                show prices and sparklines and the socket is live (target p95 <= 1 s);
                from another page of the app; and signing in (after signing out);
3. quotes       ``--quotes`` QuoteUpdated events published to SNS one at a time, until
                the row shows each (target p95 <= 250 ms).

Writes bench/results/web.json.

Usage: uv run python bench/web/run.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Run by path: this folder comes first on sys.path; the root makes bench.* importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from measure import (
    WATCHLIST,
    account,
    first_load,
    first_sign_in,
    in_app_to_dashboard,
    new_context,
    quote_to_dom,
    reload_to_dashboard,
    sign_in_to_dashboard,
)
from playwright.async_api import async_playwright
from stack import running_stack

from bench.chat.stack import log, machine_facts
from bench.notifier.figures import summary

RESULTS_FILE = Path(__file__).resolve().parents[1] / "results" / "web.json"
CHROMIUM = os.environ.get("MARKETSCOPE_TEST_CHROMIUM", "/usr/bin/chromium")
TARGET_DASHBOARD_P95_MS = 1000.0
TARGET_QUOTE_P95_MS = 250.0
FULL = {"navigations": 30, "quotes": 100}
QUICK = {"navigations": 8, "quotes": 20}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples, about a minute")
    parser.add_argument("--navigations", type=int, help="dashboard samples (30)")
    parser.add_argument("--quotes", type=int, help="quote samples (100)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between quotes")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    args.navigations = args.navigations or sizes["navigations"]
    args.quotes = args.quotes or sizes["quotes"]
    return args


async def measure(web_url: str, emulator: str, args: argparse.Namespace) -> dict[str, Any]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        log("first load, cold cache")
        cold = await first_load(browser, web_url)
        email = await account(web_url)
        context = await new_context(browser)
        page = await context.new_page()
        await first_sign_in(page, web_url, email)  # warms the cache
        await reload_to_dashboard(page)
        reloads, sessions, after_session, in_app = [], [], [], []
        sign_ins, logins, after_login = [], [], []
        for i in range(args.navigations):
            timed = await reload_to_dashboard(page)
            reloads.append(timed["total"])
            sessions.append(timed["to_session"])
            after_session.append(timed["session_to_usable"])
            in_app.append(await in_app_to_dashboard(page))
            signed = await sign_in_to_dashboard(page, email)
            sign_ins.append(signed["total"])
            logins.append(signed["sign_in"])
            after_login.append(signed["after_sign_in"])
            log(
                f"  dashboard {i + 1}/{args.navigations}: reload {timed['total']:.0f} ms, "
                f"sign-in {signed['total']:.0f} ms"
            )
        log(f"quotes to the DOM: {args.quotes}")
        quotes = await quote_to_dom(page, emulator, args.quotes, args.pause)
        await context.close()
        await browser.close()
    reload_summary, quote_summary = summary(reloads), summary(quotes)
    return {
        "first_load": cold,
        "dashboard": {
            "watchlist": WATCHLIST,
            "usable_means": "every row priced with its sparkline, the socket live",
            "reload_to_usable_dashboard": reload_summary,
            "reload_to_session_resumed": summary(sessions),
            "session_resumed_to_usable": summary(after_session),
            "in_app_navigation": summary(in_app),
            "sign_in_to_usable_dashboard": summary(sign_ins),
            "sign_in_request": summary(logins),
            "signed_in_to_usable": summary(after_login),
            "sign_in_note": "the login's answer waits for the argon2id password check",
            "target_p95_ms": TARGET_DASHBOARD_P95_MS,
            "met": reload_summary["p95_ms"] <= TARGET_DASHBOARD_P95_MS,
        },
        "quote_to_dom": {
            "published": "QuoteUpdated to SNS by the benchmark, as market-data publishes it",
            "pause_seconds": args.pause,
            "latency": quote_summary,
            "target_p95_ms": TARGET_QUOTE_P95_MS,
            "met": quote_summary["p95_ms"] <= TARGET_QUOTE_P95_MS,
        },
    }


def report(result: dict[str, Any]) -> None:
    cold, board, quotes = result["first_load"], result["dashboard"], result["quote_to_dom"]
    print(
        f"\nfirst load: {cold['transferred_bytes']:,} bytes in {cold['responses']} responses "
        f"({cold['gzipped_responses']} gzipped), sign-in form usable in "
        f"{cold['to_usable_sign_in_ms']:.0f} ms"
    )
    rows = [
        ("reload -> usable dashboard", board["reload_to_usable_dashboard"]),
        ("  reload -> session resumed", board["reload_to_session_resumed"]),
        ("  session -> usable dashboard", board["session_resumed_to_usable"]),
        ("in-app -> dashboard", board["in_app_navigation"]),
        ("sign in -> usable dashboard", board["sign_in_to_usable_dashboard"]),
        ("  sign-in request (argon2id)", board["sign_in_request"]),
        ("  signed in -> usable dashboard", board["signed_in_to_usable"]),
        ("QuoteUpdated -> DOM", quotes["latency"]),
    ]
    print(f"{'measure (ms)':<34}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
    for name, figures in rows:
        print(
            f"{name:<34}{figures['p50_ms']:>9.1f}{figures['p95_ms']:>9.1f}"
            f"{figures['p99_ms']:>9.1f}{figures['max_ms']:>9.1f}"
        )
    print(f"dashboard p95 <= 1 s: {'met' if board['met'] else 'NOT met'}")
    print(f"quote p95 <= 250 ms: {'met' if quotes['met'] else 'NOT met'}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    load_at_start = list(os.getloadavg())
    started, began = datetime.now(UTC), time.monotonic()
    log("starting the stack with marketscope up")
    with running_stack() as stack:
        log(f"web app at {stack.web_url}/")
        result = asyncio.run(measure(stack.web_url, stack.emulator, args))
    document = {
        "benchmark": "web",
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - began, 1),
        "machine": machine_facts(load_at_start),
        "browser": {"chromium": CHROMIUM, "playwright": version("playwright")},
        "parameters": {
            "quick": args.quick,
            "navigations": args.navigations,
            "quotes": args.quotes,
            "pause_seconds": args.pause,
        },
        **result,
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2) + "\n")
    report(result)
    log(f"results written to {RESULTS_FILE}")


if __name__ == "__main__":
    main()
