"""The balanced benchmark's scenario, short (issue 15): one node, then two nodes behind HAProxy
on one Redis, with the viewers spread by the balancer and every acked comment delivered to every
viewer on both (speed is measured by `python -m bench.balanced`, see bench/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report
from bench.balanced import BalancedResult, BalancedScenario, run_balanced
from bench.run import ScenarioResult

pytestmark = pytest.mark.e2e

SHORT = BalancedScenario(
    nodes=2,
    viewers=300,
    single_viewers=100,
    rate=20,
    duration=4,
    warmup=1,
    connect_rate=300,
    gen_procs=2,
    sample_viewers=0,  # every viewer times every comment: a missing delivery shows
    settle=0.5,
    drain=3,
    haproxies=2,  # two HAProxy processes on the one port, as 15,000 viewers need here
)


@pytest.fixture(scope="module")
def result() -> BalancedResult:
    return run_balanced(SHORT)


def assert_every_acked_comment_reached_every_viewer(half: ScenarioResult, viewers: int) -> None:
    load = half.load
    assert load.connected == viewers
    assert load.failed == 0
    assert load.dropped == 0
    assert load.sent > 0
    assert load.acked == load.sent
    assert load.held == 0
    assert load.rejected == {}
    assert load.sampled_viewers == viewers
    # Every viewer timed every comment sent in the window, once: timed = viewers x acked.
    assert load.delivery.total == viewers * load.acked
    assert load.completeness == 1.0


def test_one_node_delivers_every_acked_comment_to_every_viewer(result: BalancedResult) -> None:
    assert result.single is not None
    assert_every_acked_comment_reached_every_viewer(result.single, SHORT.single_viewers)


def test_behind_haproxy_every_acked_comment_reaches_every_viewer_on_every_node(
    result: BalancedResult,
) -> None:
    assert_every_acked_comment_reached_every_viewer(result.spread, SHORT.viewers)
    assert result.spread.load.processes == SHORT.gen_procs
    assert result.haproxy_processes == 2
    assert result.spread.server_cpu_s.keys() == {"node1", "node2", "haproxy", "redis"}


def test_the_balancer_spreads_the_viewers_over_every_node(result: BalancedResult) -> None:
    by_node = result.viewers_by_node
    assert set(by_node) == {"node1", "node2"}
    assert sum(by_node.values()) == SHORT.viewers
    # leastconn: each node gets about half; a node with none would mean no balancing at all.
    assert all(count >= SHORT.viewers / 4 for count in by_node.values())


def test_the_result_carries_the_throughput_ratio_and_goes_into_results_md(
    result: BalancedResult, tmp_path: Path
) -> None:
    assert result.single is not None
    assert result.ratio is not None
    assert result.ratio == pytest.approx(
        result.spread.load.delivered_per_s / result.single.load.delivered_per_s
    )
    for half in (result.single, result.spread):
        assert half.delivered_share is not None
        assert half.delivered_share > 0.5
    assert "throughput ratio" in report.balanced_table(result)
    results = tmp_path / "results.md"
    results.write_text("# Benchmark results\n")
    report.append_balanced_rows(results, result)
    rows = [line for line in results.read_text().splitlines() if line.startswith("| 20")]
    assert [row.split(" | ")[3] for row in rows] == ["1 node", "2 nodes + HAProxy (x2 on one port)"]
    assert rows[1].rstrip(" |").endswith(f"{result.ratio:,.3f}")
