"""The `halyq` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, TIMEOUT, environment

CREATE = ["meeting", "create", "--title", "Встреча акима Ауэзовского района", "--akim",
          "Ерлан Сапаров", "--level", "city_republican", "--territory", "Алматы, Әуезов ауданы",
          "--planned-minutes", "120", "--stream-url", "https://youtu.be/dQw4w9WgXcQ",
          "--title-kk", "Әуезов ауданы әкімінің кездесуі"]  # fmt: skip


def halyq(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--data-dir", str(data), *args],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )


def test_create_start_end_and_list_meetings(tmp_path: Path) -> None:
    created = halyq(tmp_path, *CREATE, "--json")
    assert created.returncode == 0, created.stderr
    meeting = json.loads(created.stdout)
    assert meeting["status"] == "scheduled"
    assert meeting["titles"] == {"kk": "Әуезов ауданы әкімінің кездесуі"}
    assert meeting["stream_url"] == "https://youtu.be/dQw4w9WgXcQ"
    started = halyq(tmp_path, "meeting", "start", meeting["id"], "--json")
    assert json.loads(started.stdout)["status"] == "live"
    again = halyq(tmp_path, "meeting", "start", meeting["id"])
    assert again.returncode == 1
    assert "invalid_transition" in again.stderr
    assert "is live, not scheduled" in again.stderr
    ended = halyq(tmp_path, "meeting", "end", meeting["id"])
    assert ended.returncode == 0
    assert "ended" in ended.stdout
    listed = halyq(tmp_path, "meeting", "list", "--json")
    assert [m["id"] for m in json.loads(listed.stdout)] == [meeting["id"]]
    shown = halyq(tmp_path, "meeting", "show", meeting["id"])
    assert shown.stdout.split()[:2] == [meeting["id"], "ended"]


def test_bad_input_gets_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    bad_minutes = halyq(tmp_path, *CREATE[:-4], "--planned-minutes", "5")
    assert bad_minutes.returncode == 1
    assert "planned minutes must be between 10 and 720" in bad_minutes.stderr
    bad_level = halyq(tmp_path, *[a if a != "city_republican" else "king" for a in CREATE])
    assert bad_level.returncode == 2
    assert "invalid choice" in bad_level.stderr
    unknown = halyq(tmp_path, "meeting", "show", "nope-nope")
    assert unknown.returncode == 1
    assert "no meeting" in unknown.stderr
    assert json.loads(halyq(tmp_path, "meeting", "list", "--json").stdout) == []
    no_command = halyq(tmp_path)
    assert no_command.returncode == 2
    assert "serve" in no_command.stdout
