"""The archive's parts in this process (issue 11.3): the size cap with a real yt-dlp, a job that
keeps taking its workers down, the progress bar and the job list's lines, its settings."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from moderation import Meeting
from recordings.archive import FetchError, Progress, archive, bar, check_url
from server.auth.accounts import Role
from server.cli.archive import ProgressBar, Worker, describe
from server.settings import Settings, SettingsError
from server.store import Store
from server.store.jobs import Job
from tests.consoles import open_session
from tests.helpers import LiveServer
from tests.media import media_site


def test_a_recording_over_the_size_cap_is_never_complete(tmp_path: Path) -> None:
    seen: list[Progress] = []
    with media_site(tmp_path) as site, pytest.raises(FetchError) as failed:
        archive(site.page, tmp_path / "out", max_bytes=1000, attempts=1, backoff=0,
                on_progress=seen.append)  # fmt: skip
    assert str(failed.value) == (
        "failed 1 times; last: the recording is larger than the size cap (1000 bytes)"
    )
    assert not list((tmp_path / "out").glob("*.mp4"))


@pytest.mark.anyio
async def test_a_job_that_took_down_its_workers_five_times_is_failed(
    store: Store, settings: Settings
) -> None:
    queued = await store.jobs.queue("m-1", "https://youtu.be/x", 1)
    for _ in range(5):  # five workers took it and died (their claims were never refreshed)
        taken = await store.jobs.take("dead", block_ms=0, reclaim_ms=0)
        assert taken is not None
        assert taken.id == queued.id
    worker = Worker(store, settings.replace(archive_reclaim_seconds=0.5), lambda p: None)
    ended = None
    while ended is None:
        ended = await worker.once()
    assert (ended.state, ended.reason) == ("failed", "the workers running it stopped 5 times")
    assert await store.jobs.pending() == []


def test_the_progress_bar_shows_the_share_and_the_sizes() -> None:
    assert bar(Progress(1 << 20, 4 << 20)) == f"[{'#' * 8}{'-' * 22}]  25.0%  1.0 MiB of 4.0 MiB"
    assert bar(Progress(3 << 19, None)) == f"[{'-' * 30}]     ?%  1.5 MiB"
    assert Progress(10, 5).percent == 100.0


def test_the_job_list_says_each_state_and_why() -> None:
    job = Job("j1", "m-1", "https://youtu.be/x", "running", 1, 2, percent=42.0)
    assert describe(job) == "j1  m-1  running  42.0%  https://youtu.be/x"
    retrying = Job("j1", "m-1", "u", "running", 1, 2, reason="attempt 1 failed: HTTP Error 503")
    assert describe(retrying) == "j1  m-1  running: attempt 1 failed: HTTP Error 503  u"
    failed = Job("j1", "m-1", "u", "failed", 1, 2, reason="failed 3 times; last: gone")
    assert describe(failed) == "j1  m-1  failed: failed 3 times; last: gone  u"


def test_the_progress_bar_redraws_in_place_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    show = ProgressBar(terminal)
    show(Progress(1, 2))
    show(Progress(2, 2))
    assert terminal.getvalue() == "\r" + bar(Progress(1, 2)) + "\r" + bar(Progress(2, 2)) + "\n"


def test_urls_are_checked_against_the_allowlist_whatever_their_case() -> None:
    assert check_url(" https://YouTu.be/x ", ("youtu.be",)) == "https://YouTu.be/x"
    with pytest.raises(ValueError, match="only http and https"):
        check_url("javascript:alert(1)", ("youtu.be",))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HALYQ_ARCHIVE_ATTEMPTS", "0", "HALYQ_ARCHIVE_ATTEMPTS must be at least 1"),
        ("HALYQ_ARCHIVE_MAX_BYTES", "0", "HALYQ_ARCHIVE_MAX_BYTES must be at least 1"),
        ("HALYQ_ARCHIVE_RECLAIM_SECONDS", "0.1", "HALYQ_ARCHIVE_RECLAIM_SECONDS must be between"),
        ("HALYQ_ARCHIVE_BACKOFF_SECONDS", "-1", "HALYQ_ARCHIVE_BACKOFF_SECONDS must be between"),
    ],
)
def test_archive_settings_out_of_range_are_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({variable: value})
    hosts = Settings.from_env({"HALYQ_ARCHIVE_HOSTS": "youtu.be, 127.0.0.1"}).archive_hosts
    assert hosts == ("youtu.be", "127.0.0.1")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("lang", "running", "failed"),
    [("kk", "Жүктелуде", "Сәтсіз"), ("ru", "Загружается", "Не удалось"),
     ("en", "Downloading", "Failed")],
)  # fmt: skip
async def test_the_staff_audit_page_shows_each_archive_job_and_its_progress(
    server: LiveServer, store: Store, live_meeting: Meeting, lang: str, running: str, failed: str
) -> None:
    one = await store.jobs.queue(live_meeting.id, "https://youtu.be/a", 1)
    await store.jobs.update(one, 2, state="running", percent=42.5, downloaded=425, total=1000)
    two = await store.jobs.queue(live_meeting.id, "https://youtu.be/b", 3)
    await store.jobs.update(two, 4, state="failed", reason="failed 3 times; last: HTTP Error 500")
    await store.jobs.queue("m-other", "https://youtu.be/c", 5)
    session = await open_session(store, "aliya", Role.ADMIN)
    cookie = {"Cookie": f"halyq_session={session}"}
    async with httpx.AsyncClient(base_url=server.url, headers=cookie) as http:
        page = await http.get(f"/console/{live_meeting.id}/audit?lang={lang}")
    assert page.status_code == 200
    html = page.text
    assert f'data-job="{one.id}" data-state="running"' in html
    assert f"<strong>{running}</strong>" in html
    assert '<progress max="100" value="42.5"></progress> 42.5%' in html
    assert f"<strong>{failed}</strong>" in html
    assert "failed 3 times; last: HTTP Error 500" in html
    assert "youtu.be/c" not in html  # another meeting's job
