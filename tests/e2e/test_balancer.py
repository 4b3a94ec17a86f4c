"""Three nodes behind HAProxy on loopback (issue 15): the documented configs are valid, the
balancer spreads 600 viewers over the nodes, and a node stopped with SIGTERM during a burst of
comments drains: its viewers resume on the others with nothing missed and nothing twice, and
every acknowledged comment is in the record once.

The nodes and HAProxy are started by bench/balancer.py from deploy/haproxy.cfg (a loopback copy
of it: only its bind, server and stats socket lines differ). Skipped only on a developer's
machine without haproxy; never in CI (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.balancer import CONFIG, Node, balanced, loopback_config
from bench.drain import EXIT_BOUND, Drain, drain
from moderation import Meeting
from server.fanout.uvicorn import CLOSE_DRAINING
from server.settings import Settings
from server.store import Store
from tests.helpers import ROOT, TIMEOUT

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

NGINX_CONFIG = ROOT / "deploy" / "nginx.conf"
VIEWERS = 600
COMMENTERS = 10
# Each commenter's 100: 30 at once (the flood limit's burst), then 10 a second for 7 s, so the
# burst goes on well past the node's exit (its 2 s notice, then its sockets).
COMMENTS = 100
SIGTERM_AFTER = 200  # acks before the node is stopped: well inside the burst of 1,000


NO_PROCESS: Any = None  # nodes named in a config that is only checked, never run


def require(program: str) -> str:
    """The program's path; skip on a developer's machine without it, never in CI."""
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program,) if p.exists()), None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the balancer tests: {program} is missing")
        pytest.skip(f"no {program} on this machine (CI installs it)")
    return found


def test_haproxy_accepts_the_documented_config_and_its_loopback_copy(tmp_path: Path) -> None:
    haproxy = require("haproxy")
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    nodes = [Node(f"node{i}", NO_PROCESS, tmp_path, f"http://127.0.0.1:{8000 + i}") for i in (1, 2)]
    copy = loopback_config(CONFIG.read_text(), 18080, nodes, tmp_path / "haproxy.sock")
    assert "    server node1 127.0.0.1:8001\n    server node2 127.0.0.1:8002\n" in copy
    assert "bind 127.0.0.1:18080" in copy
    assert "10.0.0." not in copy
    (tmp_path / "loopback.cfg").write_text(copy)
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(tmp_path / "loopback.cfg")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_nginx_accepts_the_documented_config(tmp_path: Path) -> None:
    nginx = require("nginx")
    checked = subprocess.run(
        [nginx, "-t", "-c", str(NGINX_CONFIG), "-p", f"{tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "test is successful" in checked.stderr


async def test_a_node_stopped_during_a_burst_hands_its_viewers_to_the_others(
    settings: Settings, store: Store, live_meeting: Meeting, tmp_path: Path
) -> None:
    require("haproxy")
    # Every viewer here is 127.0.0.1, which the nodes see through X-Forwarded-For (the
    # balancer is a trusted proxy): one address, allowed as many sockets as there are viewers.
    env = {
        "HALYQ_REDIS_PREFIX": settings.redis_prefix,
        "HALYQ_MAX_CONNECTIONS_PER_ADDRESS": str(VIEWERS + COMMENTERS),
    }
    shape = Drain(VIEWERS, COMMENTERS, COMMENTS, SIGTERM_AFTER, nodes=3)
    with balanced(settings.redis_url, tmp_path / "balanced", nodes=3, env=env) as cluster:
        result = await drain(cluster, store, live_meeting.id, shape)
    # The balancer spread the viewers: leastconn, about a third each.
    assert sum(result.spread.values()) == VIEWERS
    assert min(result.spread.values()) >= VIEWERS // 6, result.spread
    # The node was stopped in the middle of the burst, and the commenters it had were sent
    # away (1012) with comments still to send, which they sent through the others.
    assert result.acked_before < COMMENTERS * COMMENTS
    assert CLOSE_DRAINING in result.commenter_closes
    assert result.returncode == 0
    assert result.exited_s < EXIT_BOUND
    # Every viewer of the stopped node was told to go (1012), and no other viewer was; each
    # came back through the balancer.
    moved = result.spread[result.victim]
    assert result.closes == {"": VIEWERS - moved, str(CLOSE_DRAINING): moved}
    assert len(result.back_ms) == moved
    # Each viewer has every event since it joined, in order, once (none missed, none twice),
    # and every comment is in the record once, under the id its ack gave.
    assert result.problems == []
    assert result.acked == result.recorded == COMMENTERS * COMMENTS
    # No commenter was closed for another reason.
    assert set(result.commenter_closes) == {CLOSE_DRAINING}
