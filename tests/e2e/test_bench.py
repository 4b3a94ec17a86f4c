"""The benchmark's scenario, short: the same load against Halyq and the baseline, checked for
correctness only (speed is measured by `make bench`, see bench/README.md)."""

from __future__ import annotations

import pytest

from bench.run import Scenario, compare

pytestmark = pytest.mark.e2e

SHORT = Scenario(
    viewers=50,
    rate=20,
    duration=3,
    warmup=1,
    settle=0.5,
    drain=3,
    server_cpus=None,
    gen_cpus=None,
    redis_cpus=None,
)


def test_the_bench_scenario_delivers_every_comment_to_every_viewer_on_both_servers() -> None:
    comparison = compare(SHORT)
    halyq = comparison.results["halyq"].load
    assert halyq.connected == SHORT.viewers
    assert halyq.dropped == 0
    assert halyq.sent > 0
    assert halyq.acked == halyq.sent
    assert halyq.held == 0
    assert halyq.rejected == {}
    assert halyq.completeness == 1.0  # every sampled viewer got every comment
    assert comparison.results["halyq"].memory_per_connection is not None
    baseline = comparison.results["baseline"].load
    assert baseline.connected == SHORT.viewers
    assert baseline.events > 0
    assert comparison.ratio is not None
