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
    from bench.run import ScenarioResult

ROOT = Path(__file__).resolve().parent.parent
DELIVERY_P99_MS = 250.0
BYTES_PER_CONNECTION = 30_000  # 30 KB, counted in thousands: the stricter reading
RATIO = 0.8
GEN_SATURATED = 0.9  # generator cores above which its numbers may be the generator's limit


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


def _cpu_split(result: ScenarioResult) -> str:
    window = result.load.window_s or 1.0
    parts = ", ".join(f"{name} {used / window:.2f}" for name, used in result.server_cpu_s.items())
    return f"{result.server_cpu:.2f} ({parts})"


def _comments(result: ScenarioResult) -> str:
    load = result.load
    rejected = sum(load.rejected.values())
    return f"{load.sent}/{load.acked}/{load.held}/{rejected}/{load.unanswered}"


def _server_side(result: ScenarioResult) -> str:
    metrics = result.server_metrics
    if not metrics:
        return "-"
    window = result.load.window_s or 1.0
    frames = metrics.get("halyq_frames_out_total", 0.0)
    events = metrics.get("halyq_events_out_total", 0.0)
    count = metrics.get("halyq_fanout_latency_seconds_count", 0.0)
    fanout = metrics.get("halyq_fanout_latency_seconds_sum", 0.0) / count * 1000 if count else None
    dropped = metrics.get("halyq_slow_clients_dropped_total", 0.0)
    return (
        f"{frames / window:,.0f} frames/s, {events / frames if frames else 0:.1f} ev/frame, "
        f"fanout mean {_ms(fanout)} ms, slow dropped {dropped:.0f}"
    )


def _viewers(result: ScenarioResult) -> str:
    load = result.load
    return f"{load.connected}/{load.failed}/{load.dropped}"


def _ack(result: ScenarioResult) -> str:
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


def table(results: dict[str, ScenarioResult], ratio: float | None) -> str:
    names = list(results)
    width = max(len(label) for label, _ in ROWS)
    cells = {name: [cell(results[name]) for _, cell in ROWS] for name in names}
    column = {name: max(len(name), *(len(c) for c in cells[name])) for name in names}
    lines = ["  ".join([" " * width, *(name.ljust(column[name]) for name in names)])]
    for i, (label, _) in enumerate(ROWS):
        values = (cells[name][i].ljust(column[name]) for name in names)
        lines.append("  ".join([label.ljust(width), *values]).rstrip())
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


def write_json(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scenario = data["scenario"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}-{scenario['viewers']}v-{scenario['rate']:g}r.json"
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
    with path.open("a", encoding="utf-8") as results_md:
        results_md.write(markdown_row(results, ratio))
