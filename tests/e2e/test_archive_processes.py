"""The archive as an operator runs it (issue 11.3): `halyq archive` and `halyq worker` processes,
a real yt-dlp, real files, and a local HTTP server serving a page with an MP4 and Kazakh and
Russian `<track>` captions (no network beyond loopback)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.store import Store
from tests.helpers import ROOT, TIMEOUT, environment, running_server, unique_prefix, wait_until
from tests.media import MediaSite, media_site
from tests.server.test_cli import CREATE


@pytest.fixture
def env(redis_url: str) -> dict[str, str]:
    """Settings of every process of one test: its own key prefix, loopback allowed, fast."""
    return environment(
        REDIS_URL=redis_url,
        HALYQ_REDIS_PREFIX=unique_prefix(),
        HALYQ_ARCHIVE_HOSTS="127.0.0.1",
        HALYQ_ARCHIVE_BACKOFF_SECONDS="0.05",
        HALYQ_ARCHIVE_RECLAIM_SECONDS="1",
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[MediaSite]:
    with media_site(tmp_path) as served:
        yield served


def halyq(data: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--data-dir", str(data), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT * 3,
    )  # fmt: skip


def create(data: Path, env: dict[str, str]) -> str:
    created = halyq(data, env, *CREATE, "--json")
    assert created.returncode == 0, created.stderr
    meeting_id: str = json.loads(created.stdout)["id"]
    return meeting_id


def jobs(data: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    listed = halyq(data, env, "archive", "--list", "--json")
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def pending(env: dict[str, str]) -> list[tuple[str, str]]:
    """The jobs a worker took and did not finish, straight from the store."""

    async def read() -> list[tuple[str, str]]:
        store = Store(env["REDIS_URL"], env["HALYQ_REDIS_PREFIX"])
        try:
            return await store.jobs.pending()
        finally:
            await store.close()

    return asyncio.run(read())


def interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C, as an operator stops a worker; killed if it has not stopped in time, so that
    a slow stop fails this test alone and leaves no process behind for the next."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(TIMEOUT * 3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(TIMEOUT)
        raise AssertionError("the worker did not stop on Ctrl+C") from None


def worker(data: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server", "--data-dir", str(data), "worker"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_archive_downloads_the_recording_and_its_captions_with_progress(
    tmp_path: Path, env: dict[str, str], site: MediaSite
) -> None:
    meeting_id = create(tmp_path, env)
    done = halyq(tmp_path, env, "archive", meeting_id, "--url", site.page, "--wait")
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout
    assert "100.0%" in done.stderr  # the progress bar, from yt-dlp's progress hooks
    [job] = jobs(tmp_path, env)
    assert job["state"] == "complete"
    assert job["percent"] == 100.0
    folder = tmp_path / "recordings" / meeting_id
    media = Path(job["media"])
    assert media.parent == folder
    assert media.read_bytes() == site.files["talk.mp4"]
    captions = {Path(path).name.split(".")[-2]: Path(path) for path in job["captions"]}
    assert set(captions) == {"kk", "ru"}
    assert "Сәлеметсіздер ме" in captions["kk"].read_text()
    assert "Здравствуйте" in captions["ru"].read_text()
    assert not list(folder.glob("*.part"))
    listed = halyq(tmp_path, env, "archive", "--list")
    assert f"{job['id']}  {meeting_id}  complete: {media}" in listed.stdout


def test_a_killed_worker_leaves_its_job_pending_and_a_new_worker_finishes_it(
    tmp_path: Path, env: dict[str, str], site: MediaSite
) -> None:
    meeting_id = create(tmp_path, env)
    site.gate.clear()  # the recording stops at its middle
    first = worker(tmp_path, env, tmp_path / "worker-1.log")
    try:
        queued = halyq(tmp_path, env, "archive", meeting_id, "--url", site.page, "--json")
        assert queued.returncode == 0, queued.stderr
        job_id = json.loads(queued.stdout)["id"]

        def halfway() -> bool:
            [job] = jobs(tmp_path, env)
            return job["state"] == "running" and 0 < (job["percent"] or 0) < 100

        wait_until(halfway, what="the job halfway through")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(TIMEOUT)
    [job] = jobs(tmp_path, env)
    assert job["state"] == "running"
    assert [held for held, _ in pending(env)] == [job_id]
    assert list((tmp_path / "recordings" / meeting_id).glob("*.part"))

    site.gate.set()
    second = worker(tmp_path, env, tmp_path / "worker-2.log")
    try:
        wait_until(lambda: jobs(tmp_path, env)[0]["state"] == "complete", what="completion")
    finally:
        interrupt(second)
    [job] = jobs(tmp_path, env)
    assert Path(job["media"]).read_bytes() == site.files["talk.mp4"]
    assert pending(env) == []


def test_a_server_answering_500_is_retried_then_the_job_fails_with_the_reason(
    tmp_path: Path, env: dict[str, str], site: MediaSite
) -> None:
    meeting_id = create(tmp_path, env)
    site.failing = True
    failed = halyq(tmp_path, env, "archive", meeting_id, "--url", site.page, "--wait")
    assert failed.returncode == 1
    [job] = jobs(tmp_path, env)
    assert job["state"] == "failed"
    assert job["reason"].startswith("failed 3 times; last: ")
    assert "HTTP Error 500" in job["reason"]
    assert site.requests["index.html"] == 3  # HALYQ_ARCHIVE_ATTEMPTS, each after a backoff
    assert not list((tmp_path / "recordings" / meeting_id).glob("*.mp4"))
    assert f"failed: {job['reason']}" in halyq(tmp_path, env, "archive", "--list").stdout


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https URLs are archived"),
        ("ftp://127.0.0.1/talk.mp4", "only http and https URLs are archived"),
        ("http://example.kz/talk.mp4", "the host 'example.kz' is not in HALYQ_ARCHIVE_HOSTS"),
        ("https://youtube.com.evil.kz/watch", "is not in HALYQ_ARCHIVE_HOSTS"),
    ],
)
def test_a_url_outside_http_or_the_allowlist_is_refused_and_nothing_is_queued(
    tmp_path: Path, env: dict[str, str], url: str, why: str
) -> None:
    meeting_id = create(tmp_path, env)
    refused = halyq(tmp_path, env, "archive", meeting_id, "--url", url)
    assert refused.returncode == 1
    assert why in refused.stderr
    assert jobs(tmp_path, env) == []


def test_serve_runs_a_worker_in_process_when_halyq_worker_is_on(
    tmp_path: Path, env: dict[str, str], site: MediaSite
) -> None:
    meeting_id = create(tmp_path, env)
    with running_server(tmp_path, "serve", env=env | {"HALYQ_WORKER": "1"}):
        queued = halyq(tmp_path, env, "archive", meeting_id, "--url", site.page)
        assert queued.returncode == 0, queued.stderr
        assert queued.stdout.startswith("archive job ")
        wait_until(lambda: jobs(tmp_path, env)[0]["state"] == "complete", what="completion")
    [job] = jobs(tmp_path, env)
    assert Path(job["media"]).read_bytes() == site.files["talk.mp4"]


def test_archive_takes_the_meetings_stream_url_and_checks_it_too(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """CREATE's stream URL is on youtu.be: refused by this test's allowlist, queued (and left
    queued: no worker runs) by the default one."""
    meeting_id = create(tmp_path, env)
    refused = halyq(tmp_path, env, "archive", meeting_id)
    assert refused.returncode == 1
    assert "the host 'youtu.be' is not in HALYQ_ARCHIVE_HOSTS" in refused.stderr
    assert jobs(tmp_path, env) == []
    default = {k: v for k, v in env.items() if k != "HALYQ_ARCHIVE_HOSTS"}
    queued = halyq(tmp_path, default, "archive", meeting_id)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout == "archive job {} queued: https://youtu.be/dQw4w9WgXcQ\n".format(
        jobs(tmp_path, env)[0]["id"]
    )
    [job] = jobs(tmp_path, env)
    assert (job["state"], job["percent"], job["url"]) == (
        "queued",
        None,
        "https://youtu.be/dQw4w9WgXcQ",
    )
    assert (
        f"{job['id']}  {meeting_id}  queued  https://youtu.be/"
        in halyq(tmp_path, env, "archive", "--list", meeting_id).stdout
    )


def test_archive_without_a_meeting_or_with_an_unknown_one_is_a_clear_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert halyq(tmp_path, env, "archive", "--list").stdout == "no archive jobs\n"
    missing = halyq(tmp_path, env, "archive")
    assert (missing.returncode, missing.stderr) == (
        2,
        "halyq: archive: give a MEETING_ID, or --list\n",
    )
    unknown = halyq(tmp_path, env, "archive", "m-nobody", "--url", "http://127.0.0.1/x")
    assert (unknown.returncode, unknown.stderr) == (1, "halyq: no meeting 'm-nobody'\n")
    escaping = halyq(tmp_path, env, "archive", "../etc", "--url", "http://127.0.0.1/x")
    assert (escaping.returncode, escaping.stderr) == (
        1,
        "halyq: archive: '../etc' is not a meeting id\n",
    )
    assert jobs(tmp_path, env) == []
