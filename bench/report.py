"""What a run prints and keeps: the comparison table, targets, the JSON file, the results.md row."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.balanced import BalancedResult
    from bench.console_run import ConsoleScenarioResult
    from bench.run import ScenarioResult

ROOT = Path(__file__).resolve().parent.parent
DELIVERY_P99_MS = 250.0
BYTES_PER_CONNECTION = 30_000  # 30 KB, counted in thousands: the stricter reading
RATIO = 0.8
DISPLAY_P99_MS = 500.0  # console scenario: arrival to showing on a moderator console, p99
GEN_SATURATED = 0.9  # generator cores above which its numbers may be the generator's limit
OTHER_BUSY = 0.15  # cores used by unrelated processes above which a run is noisy


def machine() -> str:
    """`nproc`, the CPU model and the memory, e.g. "2 x AMD EPYC, 23.4 GiB"."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return f"{len(os.sched_getaffinity(0))} x {model}, {pages / 2**30:.1f} GiB"


def commit() -> str:
    """The short commit, `+dirty` when tracked files (other than the results table) differ."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results.md")
    return head + ("+dirty" if changed else "")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _kb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.1f}"


def _cpu_split(result: ScenarioResult | ConsoleScenarioResult) -> str:
    window = result.load.window_s or 1.0
    parts = ", ".join(f"{name} {used / window:.2f}" for name, used in result.server_cpu_s.items())
    return f"{result.server_cpu:.2f} ({parts})"


def _comments(result: ScenarioResult | ConsoleScenarioResult) -> str:
    load = result.load
    rejected = sum(load.rejected.values())
    return f"{load.sent}/{load.acked}/{load.held}/{rejected}/{load.unanswered}"


def _server_side(result: ScenarioResult | ConsoleScenarioResult) -> str:
    metrics = result.server_metrics
    if not metrics:
        return "-"
    window = result.load.window_s or 1.0
    frames = metrics.get("halyq_frames_out_total", 0.0)
    events = metrics.get("halyq_events_out_total", 0.0)
    count = metrics.get("halyq_fanout_latency_seconds_count", 0.0)
    fanout = metrics.get("halyq_fanout_latency_seconds_sum", 0.0) / count * 1000 if count else None
    dropped = metrics.get("halyq_slow_clients_dropped_total", 0.0)
    ticks = metrics.get("halyq_event_loop_lag_seconds_count", 0.0)
    held = ticks - metrics.get('halyq_event_loop_lag_seconds_bucket{le="0.02"}', 0.0)
    return (
        f"{frames / window:,.0f} frames/s, {events / frames if frames else 0:.1f} ev/frame, "
        f"fanout mean {_ms(fanout)} ms, slow dropped {dropped:.0f}, "
        f"loop held > 20 ms in {held:.0f} of {ticks:.0f} ticks"
    )


def _viewers(result: ScenarioResult) -> str:
    load = result.load
    return f"{load.connected}/{load.failed}/{load.dropped}"


def _ack(result: ScenarioResult | ConsoleScenarioResult) -> str:
    ack = result.load.ack
    return f"{_ms(ack.percentile_ms(0.5))} / {_ms(ack.percentile_ms(0.99))}"


def _delivery(result: ScenarioResult) -> str:
    delivery = result.load.delivery
    return (
        f"{_ms(delivery.percentile_ms(0.5))} / {_ms(delivery.percentile_ms(0.99))}"
        f" / {_ms(delivery.max_ms())}"
    )


def _timed(result: ScenarioResult) -> str:
    load = result.load
    share = None if load.completeness is None else load.completeness * 100
    return f"{load.delivery.total:,} ({load.sampled_viewers} viewers, {_num(share, 1)} %)"


def _frames(result: ScenarioResult) -> str:
    load = result.load
    per_frame = load.events / load.frames if load.frames else None
    return f"{_num(load.frames / load.window_s if load.window_s else None)} ({_num(per_frame, 1)})"


def _rss(result: ScenarioResult) -> str:
    return f"{result.rss_before / 1e6:.1f} -> {result.rss_idle / 1e6:.1f}"


def _generator(result: ScenarioResult) -> str:
    return f"{result.load.gen_cpu:.2f} ({result.load.processes} proc)"


ROWS: list[tuple[str, Callable[[ScenarioResult], str]]] = [
    ("viewers connected/failed/dropped", _viewers),
    ("comments sent/acked/held/rej/unans", _comments),
    ("ack p50 / p99 ms", _ack),
    ("delivery p50 / p99 / max ms", _delivery),
    ("delivery timed (sampled viewers)", _timed),
    ("delivered msgs/s", lambda r: _num(r.load.delivered_per_s)),
    ("frames/s received (events/frame)", _frames),
    ("server CPU, cores (by process)", _cpu_split),
    ("server CPU us per msg", lambda r: _num(r.cpu_us_per_message, 2)),
    ("server CPU us per conn per s", lambda r: _num(r.cpu_us_per_connection, 1)),
    ("memory per idle conn, KB", lambda r: _kb(r.memory_per_connection)),
    ("RSS before -> idle, MB", _rss),
    ("generator CPU, cores", _generator),
    ("server-side (Halyq /metrics)", _server_side),
]


def grid(
    results: dict[str, ScenarioResult],
    rows: list[tuple[str, Callable[[ScenarioResult], str]]] = ROWS,
) -> list[str]:
    """One column per result, one line per row."""
    names = list(results)
    width = max(len(label) for label, _ in rows)
    cells = {name: [cell(results[name]) for _, cell in rows] for name in names}
    column = {name: max(len(name), *(len(c) for c in cells[name])) for name in names}
    lines = ["  ".join([" " * width, *(name.ljust(column[name]) for name in names)])]
    for i, (label, _) in enumerate(rows):
        values = (cells[name][i].ljust(column[name]) for name in names)
        lines.append("  ".join([label.ljust(width), *values]).rstrip())
    return lines


def table(results: dict[str, ScenarioResult], ratio: float | None) -> str:
    lines = grid(results)
    lines.append(f"ratio of delivered msgs/s, Halyq / baseline: {_num(ratio, 3)}")
    lines.extend(_verdicts(results, ratio))
    return "\n".join(lines)


def _verdicts(results: dict[str, ScenarioResult], ratio: float | None) -> list[str]:
    lines = []
    for name, result in results.items():
        if result.load.gen_cpu > GEN_SATURATED:
            lines.append(
                f"warning: the generator used {result.load.gen_cpu:.2f} cores against {name}:"
                " it may have been the bottleneck"
            )
    halyq = results.get("halyq")
    if halyq is None:
        return lines
    p99 = halyq.load.delivery.percentile_ms(0.99)
    memory = halyq.memory_per_connection
    checks = [
        (
            f"delivery p99 <= {DELIVERY_P99_MS:.0f} ms",
            None if p99 is None else p99 <= DELIVERY_P99_MS,
        ),
        (
            "<= 30 KB per idle connection",
            None if memory is None else memory <= BYTES_PER_CONNECTION,
        ),
        (f"ratio >= {RATIO}", None if ratio is None else ratio >= RATIO),
    ]
    scenario = halyq.scenario
    lines.append(
        f"targets (set for 5,000 viewers at 100 comments/s; this run: {scenario.viewers} at"
        f" {scenario.rate:g}/s):"
    )
    verdicts = {True: "PASS", False: "MISS", None: "n/a "}
    lines.extend(f"  {verdicts[ok]}  {what}" for what, ok in checks)
    return lines


def write_json(folder: Path, data: dict[str, Any], kind: str = "") -> Path:
    """`<time>-<kind><N>v-<R>r.json` in `folder`; `kind` names a scenario other than viewers'."""
    folder.mkdir(parents=True, exist_ok=True)
    scenario = data["scenario"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}-{kind}{scenario['viewers']}v-{scenario['rate']:g}r.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


HEADER = """# Benchmark results

One row per `python -m bench.run`: the same load against Halyq and, in the same run, against the
minimal `websockets.broadcast` server of `bench/baseline.py`. Rerun with
`make bench BENCH_ARGS="--viewers 5000 --rate 100"` (or `python -m bench.run --viewers 5000
--rate 100 --duration 30`); the full numbers of each run are in `bench/out/*.json`.

Machine of the first runs: `nproc` = {nproc}, CPU: {cpu}. The server (and Halyq's embedded
redis-server, which inherits its affinity) is pinned to core 0, the load generator to core 1.
Each row also names its machine.

Targets, at 5,000 viewers and 100 comments per second: delivery p99 <= 250 ms, at most 30 KB
(30,000 bytes) per idle connection, and at least 0.8 of the baseline's delivered messages per
second.

Columns: *ack* is from sending a comment to its ack (Halyq acks after the durable append);
*delivery* is from sending a comment to a viewer receiving it (wall clock, sampled viewers);
*msgs/s* counts comment events received by all viewers per second of the measured window;
*ratio* is Halyq msgs/s over baseline msgs/s; *CPU* is server (plus Redis) CPU seconds per
second, 1.00 = one core; *KB/conn* is (RSS with the idle viewers - RSS before) / viewers; *gen*
is the load generator's CPU (near 1.00 it may be the bottleneck); *dropped* counts viewers the
server closed. H = Halyq, B = baseline. A server that cannot keep up (CPU 1.00, acks seconds
late) shows its capacity as msgs/s, and latencies of only what arrived before the drain ended
(see `completeness` in the JSON).

| date (UTC) | commit | machine | viewers | comments/s | window s | H ack p50/p99 ms | H delivery p50/p99 ms | B delivery p50/p99 ms | H msgs/s | B msgs/s | ratio | CPU H/B | KB/conn H/B | gen H/B | dropped H/B |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
"""  # noqa: E501 (one Markdown table row cannot be wrapped)


def _pair(results: dict[str, ScenarioResult], cell: Callable[[ScenarioResult], str]) -> str:
    return "/".join(
        cell(results[name]) if name in results else "-" for name in ("halyq", "baseline")
    )


def _p50_p99(histogram_of: Callable[[ScenarioResult], Any]) -> Callable[[ScenarioResult], str]:
    def cell(result: ScenarioResult) -> str:
        histogram = histogram_of(result)
        return f"{_ms(histogram.percentile_ms(0.5))}/{_ms(histogram.percentile_ms(0.99))}"

    return cell


def markdown_row(results: dict[str, ScenarioResult], ratio: float | None) -> str:
    first = next(iter(results.values()))
    scenario = first.scenario
    halyq, baseline = results.get("halyq"), results.get("baseline")
    cells = [
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "/".join(sorted({result.commit for result in results.values()})),
        machine(),
        str(scenario.viewers),
        f"{scenario.rate:g}",
        f"{first.load.window_s:g}",
        _p50_p99(lambda r: r.load.ack)(halyq) if halyq else "-",
        _p50_p99(lambda r: r.load.delivery)(halyq) if halyq else "-",
        _p50_p99(lambda r: r.load.delivery)(baseline) if baseline else "-",
        _num(halyq.load.delivered_per_s) if halyq else "-",
        _num(baseline.load.delivered_per_s) if baseline else "-",
        _num(ratio, 3),
        _pair(results, lambda r: f"{r.server_cpu:.2f}"),
        _pair(results, lambda r: _kb(r.memory_per_connection)),
        _pair(results, lambda r: f"{r.load.gen_cpu:.2f}"),
        _pair(results, lambda r: str(r.load.dropped)),
    ]
    return "| " + " | ".join(cells) + " |\n"


def append_row(path: Path, results: dict[str, ScenarioResult], ratio: float | None) -> None:
    """Add the run to results.md, creating the file with its header first if needed."""
    if not path.exists():
        cpu = machine().split(" x ", 1)[1].rsplit(",", 1)[0]
        nproc = len(os.sched_getaffinity(0))
        path.write_text(HEADER.format(nproc=nproc, cpu=cpu), encoding="utf-8")
    table_header = HEADER.rstrip("\n").splitlines()[-2]
    insert_row(path, table_header, markdown_row(results, ratio), HEADER)


def insert_row(path: Path, table_header: str, row: str, section: str) -> None:
    """Put `row` after the last row of the table headed `table_header` (other tables may follow
    it); with no such table, add `section` (which ends with that table's head) at the end."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    head = next((i for i, line in enumerate(lines) if line.rstrip("\n") == table_header), None)
    if head is None:
        text = "".join(lines)
        text += "\n" if text and not text.endswith("\n") else ""
        path.write_text(text + ("\n" if text else "") + section + row, encoding="utf-8")
        return
    end = head + 1
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines.insert(end, row)
    path.write_text("".join(lines), encoding="utf-8")


# The console scenario (bench/console_run.py)


def _display(result: ConsoleScenarioResult, separator: str = " / ") -> str:
    """p50, p95, p99 and max of the consoles' display latency, in ms."""
    latency = result.consoles.latency
    quantiles = (latency.percentile_ms(q) for q in (0.5, 0.95, 0.99))
    return separator.join(_ms(value) for value in (*quantiles, latency.max_ms()))


def _shown(result: ConsoleScenarioResult) -> str:
    seen = result.consoles
    expected = "-" if seen.expected is None else f"{seen.expected:,}"
    return f"{', '.join(f'{count:,}' for count in seen.items) or '-'} of {expected}"


def _consoles(result: ConsoleScenarioResult) -> str:
    seen = result.consoles
    closes = ", ".join(f"{code} x{count}" for code, count in seen.closes.items()) or "none"
    return f"{seen.connected}/{seen.consoles} (closed by the server: {closes})"


def _console_frames(result: ConsoleScenarioResult) -> str:
    seen = result.consoles
    if not seen.frames or not seen.window_s:
        return "-"
    per_console = seen.frames / max(1, seen.connected) / seen.window_s
    return f"{per_console:,.1f} per console ({seen.frame_items / seen.frames:.1f} items/frame)"


def _load_cpu(result: ConsoleScenarioResult) -> str:
    return f"{result.load.gen_cpu:.2f} / {result.consoles.gen_cpu:.2f}"


CONSOLE_ROWS: list[tuple[str, Callable[[ConsoleScenarioResult], str]]] = [
    ("consoles connected", _consoles),
    ("comments sent/acked/held/rej/unans", _comments),
    ("ack p50 / p99 ms", _ack),
    ("console display p50 / p95 / p99 / max ms", _display),
    ("items shown per console, of acked", _shown),
    ("items missing (all consoles)", lambda r: _num(r.consoles.missing)),
    ("bench items outside the window", lambda r: _num(r.consoles.outside)),
    ("console frames/s", _console_frames),
    ("server CPU, cores (by process)", _cpu_split),
    ("commenters / consoles CPU, cores", _load_cpu),
    ("other CPU on the machine, cores", lambda r: f"{r.other_cpu:.2f}"),
    ("server-side (Halyq /metrics)", _server_side),
]


def console_table(result: ConsoleScenarioResult) -> str:
    width = max(len(label) for label, _ in CONSOLE_ROWS)
    lines = [f"{label.ljust(width)}  {cell(result)}" for label, cell in CONSOLE_ROWS]
    for name, used in (("commenters", result.load.gen_cpu), ("consoles", result.consoles.gen_cpu)):
        if used > GEN_SATURATED:
            lines.append(f"warning: the {name} used {used:.2f} cores: they may be the bottleneck")
    if result.other_cpu > OTHER_BUSY:
        lines.append(
            f"warning: other processes used {result.other_cpu:.2f} cores during the window:"
            " the machine was not quiet"
        )
    p99, missing = result.display_p99_ms, result.consoles.missing
    scenario = result.scenario
    lines.append(
        f"target (set for 500 comments/s; this run: {scenario.load.rate:g}/s,"
        f" {scenario.consoles} console(s)):"
    )
    verdicts = {True: "PASS", False: "MISS", None: "n/a "}
    within = None if p99 is None else p99 <= DISPLAY_P99_MS
    checks = [
        (f"console display p99 <= {DISPLAY_P99_MS:.0f} ms", within),
        ("every acked comment shown on every console", None if missing is None else not missing),
    ]
    lines.extend(f"  {verdicts[ok]}  {what}" for what, ok in checks)
    return "\n".join(lines)


CONSOLE_HEADER = """## Comments to a moderator console

One row per `python -m bench.console_run` (or `python -m bench.run --console`): comments arriving
at R a second over `ceil(R / 5)` commenter connections, C moderator consoles (a `moderator` added
with `python -m server user add`, each signed in over `/login` with a session of its own), no
viewers unless the row says so. Pinned as above: the server on core 0, Redis and both load
processes (commenters, consoles) on core 1. The full numbers of each run are in
`bench/out/*-console-*.json`.

Target (the issue's acceptance point): with 500 comments per second arriving, the time from a
comment's arrival to its showing on a moderator console, p99 <= 500 ms.

Columns: *display* is from the commenter sending a comment (the stamp in its text) to a console
receiving the `events` frame that shows it, wall clock, for every comment sent in the window on
every console; *shown / acked* is what each console showed of the comments acked in the window;
*CPU* is server plus Redis CPU seconds per second (1.00 = one core); *load CPU* is the commenters'
and the consoles' processes; *other CPU* is what the rest of the machine used meanwhile (above
~0.15 the run shared the machine and its latencies are noisy).

| date (UTC) | commit | machine | comments/s | consoles | viewers | window s | sent/acked/held/rej | ack p50/p99 ms | display p50/p95/p99/max ms | shown per console / acked | CPU server (redis) | load CPU | other CPU | p99 <= 500 ms |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
"""  # noqa: E501 (one Markdown table row cannot be wrapped)


def console_row(result: ConsoleScenarioResult) -> str:
    load, seen, scenario = result.load, result.consoles, result.scenario
    cpu = result.server_cpu_s
    window = load.window_s or 1.0
    redis = sum(used for name, used in cpu.items() if name != "server") / window
    p99 = result.display_p99_ms
    verdict = "n/a" if p99 is None else "PASS" if p99 <= DISPLAY_P99_MS else "MISS"
    cells = [
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        result.commit,
        machine(),
        f"{scenario.load.rate:g}",
        str(scenario.consoles),
        str(scenario.load.viewers)
        + (
            f" (+{scenario.earlier_questions:,} earlier questions)"
            if scenario.earlier_questions
            else ""
        ),
        f"{load.window_s:g}",
        f"{load.sent}/{load.acked}/{load.held}/{sum(load.rejected.values())}",
        f"{_ms(load.ack.percentile_ms(0.5))}/{_ms(load.ack.percentile_ms(0.99))}",
        _display(result, "/"),
        f"{', '.join(map(str, seen.items))} / {'-' if seen.expected is None else seen.expected}",
        f"{result.server_cpu:.2f} ({redis:.2f})",
        f"{load.gen_cpu:.2f}/{seen.gen_cpu:.2f}",
        f"{result.other_cpu:.2f}",
        verdict,
    ]
    return "| " + " | ".join(cells) + " |\n"


def append_console_row(path: Path, result: ConsoleScenarioResult) -> None:
    """Add the run to the console table of results.md (the section is added the first time)."""
    table_header = CONSOLE_HEADER.rstrip("\n").splitlines()[-2]
    insert_row(path, table_header, console_row(result), CONSOLE_HEADER)


# Several nodes behind HAProxy against one node (bench/balanced.py, issue 15)


def _share(result: ScenarioResult) -> str:
    share = result.delivered_share
    return f"{_num(result.expected_per_s)} ({_num(None if share is None else share * 100, 1)} %)"


BALANCED_ROWS: list[tuple[str, Callable[[ScenarioResult], str]]] = [
    *ROWS[:6],
    ("expected msgs/s (delivered share)", _share),
    *ROWS[6:9],
    ("RSS before -> idle, MB", _rss),
    ("generator CPU, cores", _generator),
    ("other CPU on the machine, cores", lambda r: f"{r.other_cpu:.2f}"),
    ("server-side (/metrics, all nodes)", _server_side),
]


def _halves(result: BalancedResult) -> dict[str, ScenarioResult]:
    halves = {} if result.single is None else {"1 node": result.single}
    halves[balanced_setup(result)] = result.spread
    return halves


def balanced_setup(result: BalancedResult) -> str:
    """`3 nodes + HAProxy`, with the number of HAProxy processes where there were several."""
    processes = result.haproxy_processes
    several = f" (x{processes} on one port)" if processes > 1 else ""
    return f"{result.scenario.nodes} nodes + HAProxy{several}{_pinned(result)}"


def _pinned(result: BalancedResult) -> str:
    """`, pinned` when the processes were (see bench/README.md for where), else nothing."""
    return ", pinned" if result.scenario.server_cpus else ""


def _by_node(viewers: dict[str, float]) -> str:
    return ", ".join(f"{name} {count:,.0f}" for name, count in viewers.items()) or "-"


def balanced_table(result: BalancedResult) -> str:
    lines = grid(_halves(result), BALANCED_ROWS)
    lines.append(f"viewers by node (gauges, all connected): {_by_node(result.viewers_by_node)}")
    ideal = result.scenario.nodes
    lines.append(
        f"throughput ratio, delivered msgs/s of {ideal} nodes / 1 node: {_num(result.ratio, 3)}"
        f" (ideal {ideal:.1f} with a core per node)"
    )
    for name, half in _halves(result).items():
        if half.other_cpu > OTHER_BUSY:
            lines.append(
                f"warning: other processes used {half.other_cpu:.2f} cores during the window"
                f" ({name}): the machine was not quiet"
            )
        if half.load.gen_cpu > GEN_SATURATED * half.load.processes:
            lines.append(
                f"warning: the generators used {half.load.gen_cpu:.2f} cores ({name}):"
                " they may have been the bottleneck"
            )
    return "\n".join(lines)


BALANCED_HEADER = """## Several nodes behind HAProxy (issue 15)

Two rows per `python -m bench.balanced` (see bench/README.md): one node (`halyq serve` with its
embedded Redis, as above) with V viewers, then N nodes on one embedded Redis behind HAProxy
(`bench/balancer.py`, from `deploy/haproxy.cfg`, `balance leastconn`) with the viewers and the
commenters all connecting through HAProxy; both at R comments per second. The full numbers of
each run are in `bench/out/*-balanced-*.json`.

Columns as in the first table; *by node* is each node's viewer gauge once all were connected;
*expected* is viewers x comments posted in the window per second, and *share* the delivered
msgs/s over it (1.00: every viewer got every comment within the window); *CPU* is CPU seconds per
second of each process (1.00 = one core); *gen* is the load processes' CPU, summed; *other CPU*
is what the rest of the machine used meanwhile; *ratio* is delivered msgs/s of the N nodes over
the one node's (ideal N, with a core per node).

| date (UTC) | commit | machine | setup | viewers (by node) | comments/s | window s | sent/acked/held/rej | ack p50/p99 ms | delivery p50/p99/max ms | msgs/s | expected (share) | CPU by process | gen (procs) | other CPU | dropped | ratio |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
"""  # noqa: E501 (one Markdown table row cannot be wrapped)


def _cpu_by_process(result: ScenarioResult) -> str:
    window = result.load.window_s or 1.0
    return ", ".join(f"{name} {used / window:.2f}" for name, used in result.server_cpu_s.items())


def balanced_row(result: BalancedResult, setup: str, half: ScenarioResult, ratio: str) -> str:
    load = half.load
    share = half.delivered_share
    by_node = f" ({_by_node(result.viewers_by_node)})" if half is result.spread else ""
    cells = [
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        half.commit,
        machine(),
        setup,
        f"{load.connected:,}{by_node}",
        f"{half.scenario.rate:g}",
        f"{load.window_s:g}",
        f"{load.sent}/{load.acked}/{load.held}/{sum(load.rejected.values())}",
        _p50_p99(lambda r: r.load.ack)(half),
        f"{_p50_p99(lambda r: r.load.delivery)(half)}/{_ms(load.delivery.max_ms())}",
        _num(load.delivered_per_s),
        f"{_num(half.expected_per_s)} ({'-' if share is None else f'{share:.2f}'})",
        _cpu_by_process(half),
        f"{load.gen_cpu:.2f} ({load.processes})",
        f"{half.other_cpu:.2f}",
        str(load.dropped),
        ratio,
    ]
    return "| " + " | ".join(cells) + " |\n"


def append_balanced_rows(path: Path, result: BalancedResult) -> None:
    """Add the run's halves to the balanced table of results.md (the section the first time)."""
    table_header = BALANCED_HEADER.rstrip("\n").splitlines()[-2]
    if result.single is not None:
        row = balanced_row(result, f"1 node{_pinned(result)}", result.single, "1")
        insert_row(path, table_header, row, BALANCED_HEADER)
    row = balanced_row(result, balanced_setup(result), result.spread, _num(result.ratio, 3))
    insert_row(path, table_header, row, BALANCED_HEADER)
