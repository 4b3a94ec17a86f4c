"""The broadcast bench, short (issue 16): one meeting with three restream outputs for a few
seconds through our real RTMP ingest and Broadcasts, as `python -m bench.broadcast` runs them;
every sink gets media (each listener, our HLS, the recording), the report has its shape and its
table rows, and every process the bench started is gone. Speed is the bench's (bench/README.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.broadcast import (
    HEADER,
    BroadcastBench,
    markdown_rows,
    record,
    run_broadcast,
    summary_of,
)

pytestmark = pytest.mark.e2e

# The cost phase only (the ramp is the bench's: minutes), one meeting for ~7 s.
SHORT = BroadcastBench(outputs=3, window=4, warmup=1, low_rendition=0, ramp=(), studio_seconds=4)


def ffmpeg_children() -> set[int]:
    """This process's children that are ffmpeg (studios, listeners and ours alike)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and b"ffmpeg" in command:
            found.add(int(entry))
    return found


def test_one_meeting_reaches_every_sink_and_the_report_has_its_shape(tmp_path: Path) -> None:
    before = ffmpeg_children()
    result = run_broadcast(SHORT)
    assert ffmpeg_children() <= before  # studios, listeners and our ffmpegs all ended

    cost = result.cost
    assert cost is not None
    assert (cost.meetings, cost.outputs) == (1, 3)
    sinks = cost.sinks
    assert len(sinks["listener_bytes"]) == 3  # the three stand-ins for YouTube, Facebook, ...
    assert all(received > 100_000 for received in sinks["listener_bytes"])  # ~2.5 Mbit/s each
    assert sinks["recording_bytes"][0] > 100_000
    assert sinks["hls_segments"][0] >= 2  # 1 s segments over a 4 s window
    assert sinks["all"]
    assert cost.segment_s == pytest.approx(1.0, abs=0.3)
    assert set(cost.cpu) == {"ingest", "hls_recording", "outputs", "bench_polling", "ours"}
    assert cost.cpu["ingest"] > 0
    assert cost.cpu["hls_recording"] > 0
    assert cost.cpu["outputs"] > 0
    assert cost.cpu_per_meeting["per_output"] == pytest.approx(cost.cpu["outputs"] / 3)
    assert cost.not_ours_cpu["studios"] > 0  # measured apart, not counted as ours
    assert cost.rss_mb["hls_recording"] > 0
    assert result.studio["size"] == "1280x720"
    assert 1500 <= result.studio["kbps"] <= 3500  # the 720p30 2.5 Mbit/s studio

    assert (result.ramp, result.knee, result.capacity) == ([], None, None)  # not run here
    body = result.as_dict()
    assert json.loads(json.dumps(body))["cost"]["sinks"]["all"] is True
    assert summary_of(cost)["sinks_all"] is True
    rows = markdown_rows(result)
    assert "| cost | 1 x 3 |" in rows[0]
    assert rows[0].count("|") == HEADER.split("\n", 1)[0].count("|")  # a cell per column
    results = tmp_path / "results.md"
    results.write_text("# Results\n\n## Another section\n\ntext\n", encoding="utf-8")
    record(result, results)
    record(result, results)  # a second run adds rows to the same table
    text = results.read_text(encoding="utf-8")
    assert text.count("## Broadcast (issue 16)") == 1
    assert text.count("| cost | 1 x 3 |") == 2
