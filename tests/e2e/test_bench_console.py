"""The console benchmark's scenario, short: comments reach a moderator console, every acked one,
in a meeting with earlier questions, and the result carries their display times (speed is
measured by `python -m bench.console_run`, see bench/README.md)."""

from __future__ import annotations

import pytest

from bench.console_run import ConsoleScenario, run_console_scenario
from bench.run import Scenario

pytestmark = pytest.mark.e2e

SHORT = ConsoleScenario(
    load=Scenario(
        viewers=0,
        rate=100,
        duration=3,
        warmup=1,
        drain=3,
        server_cpus=None,
        gen_cpus=None,
        redis_cpus=None,
    ),
    consoles=1,
    earlier_questions=40,
    earlier_comments=30,  # issue 14: the board holds comments too, sent to it in `page` frames
)


def test_the_console_scenario_shows_every_acked_comment_on_the_console_and_times_it() -> None:
    result = run_console_scenario(SHORT)
    load, seen = result.load, result.consoles
    assert load.sent > 0
    # Every comment sent is accounted for; on a loaded machine a few may still be waiting for
    # their ack when the window closes, or be refused `overloaded` (OVL-2): never most of them.
    assert load.acked + sum(load.rejected.values()) + load.unanswered == load.sent
    assert load.acked >= 0.9 * load.sent
    assert set(load.rejected) <= {"overloaded"}
    assert load.held == 0
    assert seen.connected == SHORT.consoles
    assert seen.closes == {}
    assert seen.expected == load.acked
    assert seen.items == [load.acked]  # every acked comment of the window, on the console
    assert seen.missing == 0
    assert seen.latency.total == load.acked  # one display time per comment shown
    assert seen.outside > 0  # the warm-up's comments showed too, and were not counted
    assert result.display_p99_ms is not None
    assert result.server_cpu_s
    # The earlier questions went in through `submit`, each suggested against those before it.
    assert result.seeded["asked"] == 40
    assert result.seeded["with_similar"] > 0
    assert result.seeded["posted"] == 30
