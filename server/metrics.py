"""Prometheus metrics of one app, in a registry of its own (tests run several apps at once).

Every sample carries the node's name as its `node` label (HALYQ_NODE_NAME; issue 15): behind a
load balancer, one Prometheus job scrapes every node, and the node tells them apart.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LAG_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    """The server's counters; names start with `halyq_` (see README, Operations)."""

    def __init__(self, node: str = "") -> None:
        self.node = node  # the `node` label of every sample ("" leaves it out)
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "halyq_ws_connections", "Open WebSocket connections", ["audience"], registry=r
        )
        self.comments = Counter(
            "halyq_comments_total", "Comments received, by outcome", ["outcome"], registry=r
        )
        self.events_out = Counter(
            "halyq_events_out_total", "Events handed to connections", registry=r
        )
        self.frames_out = Counter(
            "halyq_frames_out_total", "Event frames handed to connections", registry=r
        )
        self.batches = Counter(
            "halyq_batches_encoded_total",
            "Batches of events encoded for an audience (once, whatever its connections)",
            ["audience"],
            registry=r,
        )
        self.ack_latency = Histogram(
            "halyq_ack_latency_seconds",
            "From a comment frame's arrival to its ack, after the durable append",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fanout_latency = Histogram(
            "halyq_fanout_latency_seconds",
            "From an event's decision to its hand-off to connections",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.slow_clients_dropped = Counter(
            "halyq_slow_clients_dropped_total",
            "Connections closed because their outbox overflowed",
            registry=r,
        )
        self.moderation = Counter(
            "halyq_moderation_actions_total",
            "Staff actions applied, by event",
            ["kind"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "halyq_event_loop_lag_seconds",
            "How late the event loop ran a timer: how long something held it",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.bad_frames = Counter(
            "halyq_bad_frames_total", "Inbound frames refused, by error", ["error"], registry=r
        )
        self.refusals = Counter(
            "halyq_refusals_total",
            "Connections, handshakes, sign-ins and identities refused to protect the server,"
            " by kind",
            ["kind"],
            registry=r,
        )
        # Issue 10: every channel into one queue, and the answers back
        self.intake = Counter(
            "halyq_intake_total",
            "Messages from the channels (phone, WhatsApp, SMS, Telegram, e-mail), by outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self.replies = Counter(
            "halyq_replies_total",
            "Answers to senders, by channel and outcome (sent, retry, dead, no_contact)",
            ["channel", "outcome"],
            registry=r,
        )
        self.redis_up = Gauge(
            "halyq_redis_up", "1 while Redis answers and acks are durable, else 0", registry=r
        )
        self.redis_restarts = Counter(
            "halyq_redis_restarts_total", "Restarts of the embedded Redis", registry=r
        )
        self.resume_reads = Counter(
            "halyq_resume_reads_total",
            "Reads of the record for catch-ups that a feed's window could not answer (shared"
            " by every catch-up waiting meanwhile)",
            registry=r,
        )
        self.discontinuities = Counter(
            "halyq_discontinuities_total",
            "Times the record was found to have gone back (lost history): a new epoch",
            registry=r,
        )
        self.open_files_limit = Gauge(
            "halyq_open_files_limit",
            "The process's open-file limit (`halyq serve` raises it to the hard limit at start)",
            registry=r,
        )
        self.open_files_limit.set_function(lambda: resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        self.open_files = Gauge(
            "halyq_open_files", "Files and sockets the process has open", registry=r
        )
        self.open_files.set_function(_open_files)

    def render(self) -> bytes:
        if not self.node:
            return generate_latest(self.registry)
        return generate_latest(_Labelled(self.registry, self.node))


class _Labelled:
    """A registry's samples with a `node` label added to each (a constant label, which
    prometheus_client has no option for)."""

    def __init__(self, registry: CollectorRegistry, node: str) -> None:
        self.registry = registry
        self.node = node

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            family.samples = [
                sample._replace(labels={**sample.labels, "node": self.node})
                for sample in family.samples
            ]
            yield family


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"))
