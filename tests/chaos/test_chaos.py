"""bench/chaos at CI size: 1,000 QuoteUpdated through the outbox, SNS and three queues to
three consumer processes, one SIGKILLed twice, a poison event every 500, then the fixed
handler and the redrive. The script runs once for the module, as a user runs it.

It starts an emulator of its own rather than using the session's: the events go to the
catalog's QuoteUpdated topic, and on a shared emulator every queue another test
subscribed to that topic would receive them too. The visibility timeout is 10 s (the
services use 30 s) so that the killed consumer's messages come back sooner.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "chaos" / "run.py"
ARGUMENTS = ("--quick", "--visibility-timeout", "10")
TIMEOUT_S = 600


@dataclass(frozen=True)
class ChaosRun:
    returncode: int
    output: str
    results: dict[str, Any]

    def guarantee(self, name: str) -> dict[str, Any]:
        check: dict[str, Any] = self.results["guarantees"][name]
        return check


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory: pytest.TempPathFactory) -> ChaosRun:
    output = tmp_path_factory.mktemp("chaos") / "chaos.json"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *ARGUMENTS, "--output", str(output)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM: the script stops its consumers and its emulator on the way out.
        process.terminate()
        printed, _ = process.communicate(timeout=60)
        pytest.fail(f"bench/chaos did not finish within {TIMEOUT_S} s:\n{printed}")
    assert output.exists(), printed
    return ChaosRun(process.returncode, printed, json.loads(output.read_text()))


def test_every_event_is_appended_and_published(chaos_run: ChaosRun) -> None:
    delivery = chaos_run.results["delivery"]
    assert chaos_run.guarantee("published")["met"], chaos_run.output
    assert delivery["events_published"] == 1000
    assert delivery["poison_events"] == 2


def test_nothing_is_lost_while_a_consumer_is_killed(chaos_run: ChaosRun) -> None:
    delivery = chaos_run.results["delivery"]
    assert [kill["incarnation"] for kill in delivery["kills"]] == [
        f"{delivery['kill_plan']['victim']}#1",
        f"{delivery['kill_plan']['victim']}#2",
    ]
    assert chaos_run.guarantee("no_loss")["met"], chaos_run.output
    assert set(delivery["lost"].values()) == {0}
    assert set(delivery["handled"].values()) == {998}


def test_every_poison_event_is_in_every_dlq_with_its_reason(chaos_run: ChaosRun) -> None:
    dlqs = chaos_run.results["delivery"]["dlq"]
    assert chaos_run.guarantee("poison_dead_lettered")["met"], chaos_run.output
    assert len(dlqs) == 3
    for name, dead in dlqs.items():
        assert dead["poison"] == 2
        assert dead["not_poison"] == []
        for letter in dead["letters"]:
            assert letter["rejections"] >= 1
            assert letter["reason"] == (
                f"TerminalHandlerError: provider 'unlisted-feed' is not one {name} accepts "
                "(replay, yfinance)"
            )


def test_every_event_is_handled_after_the_fix_and_the_redrive(chaos_run: ChaosRun) -> None:
    redrive = chaos_run.results["redrive"]
    assert chaos_run.guarantee("all_handled_after_redrive")["met"], chaos_run.output
    assert chaos_run.guarantee("phases_completed")["met"], chaos_run.output
    assert set(redrive["moved"].values()) == {2}
    assert set(redrive["poison_handled"].values()) == {2}
    assert set(redrive["handled"].values()) == {1000}
    for left in redrive["messages_left"].values():
        assert left == {"queue": 0, "dlq": 0}


def test_no_side_effect_happens_twice(chaos_run: ChaosRun) -> None:
    """Emulator copies, redeliveries and the redrive are dropped by the idempotency
    records; a consumer killed after its side effect had completed its record in the same
    transaction, so its redelivery is dropped too."""
    duplicates = chaos_run.guarantee("no_duplicate_side_effects")
    assert duplicates["value"]["total"] == 0, chaos_run.output
    assert duplicates["met"]


def test_the_exit_code_says_whether_every_guarantee_held(chaos_run: ChaosRun) -> None:
    guarantees = chaos_run.results["guarantees"]
    assert chaos_run.results["ok"] == all(check["met"] for check in guarantees.values())
    assert chaos_run.returncode == (0 if chaos_run.results["ok"] else 1), chaos_run.output
    assert chaos_run.results["ok"], chaos_run.output
