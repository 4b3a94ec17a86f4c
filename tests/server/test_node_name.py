"""Metrics and readiness carry the node's name (HALYQ_NODE_NAME; issue 15): behind a load
balancer one Prometheus job scrapes every node, and the `node` label tells them apart."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from moderation import Meeting
from server.metrics import Metrics
from server.settings import Settings
from tests.helpers import TIMEOUT, LiveServer, live_server, recv_until

pytestmark = pytest.mark.anyio

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? \S+$")


def samples(text: str) -> list[tuple[str, str]]:
    """Each sample line's name and labels (comments left out)."""
    found = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match is not None, line
            found.append((match["name"], match["labels"] or ""))
    return found


async def test_every_sample_of_a_named_node_carries_its_name(
    settings: Settings, live_meeting: Meeting
) -> None:
    async with (
        live_server(settings.replace(node_name="almaty-2")) as server,
        server.socket(live_meeting.id) as ws,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
    ):
        await recv_until(ws, lambda f: f["type"] == "events")
        text = (await http.get("/metrics")).text
        ready = (await http.get("/readyz")).json()
    found = samples(text)
    assert len(found) > 50  # every family, the histograms' buckets too
    assert all('node="almaty-2"' in labels.split(",") for _, labels in found)
    assert 'halyq_ws_connections{audience="viewer",node="almaty-2"} 1.0' in text.splitlines()
    assert (ready["node"], ready["status"]) == ("almaty-2", "ready")


async def test_an_unnamed_node_is_its_host_and_port_and_its_samples_are_as_before(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        text = (await http.get("/metrics")).text
        ready = (await http.get("/readyz")).json()
    settings = server.services.settings
    assert ready["node"] == f"{socket.gethostname()}:{settings.port}"
    assert not any("node=" in labels for _, labels in samples(text))


def test_the_label_joins_the_labels_each_sample_already_has() -> None:
    metrics = Metrics(node="n1")
    metrics.comments.labels("posted").inc(2)
    metrics.ack_latency.observe(0.003)
    lines = metrics.render().decode().splitlines()
    assert 'halyq_comments_total{node="n1",outcome="posted"} 2.0' in lines
    assert 'halyq_ack_latency_seconds_bucket{le="0.005",node="n1"} 1.0' in lines
    assert 'halyq_ack_latency_seconds_count{node="n1"} 1.0' in lines
