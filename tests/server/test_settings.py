"""Settings as an operator gives them: parsed from the environment, or refused at start-up with
the variable named (house style section 6)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError
from tests.helpers import ROOT, TIMEOUT, environment


def test_every_kind_of_value_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": "unix:///run/redis.sock",
            "HALYQ_DATA_DIR": "/srv/halyq",
            "HALYQ_PORT": "0",
            "HALYQ_WORKERS": "4",
            "HALYQ_FANOUT_MAX_DELAY": "0.25",
            "HALYQ_ACCEPT_NONDURABLE": "yes",
            "HALYQ_ALLOWED_ORIGINS": "https://embed.example.kz, ,https://tv.example.kz",
            "HALYQ_DEFAULT_LANG": "ru",
            "HALYQ_SECRET": "",  # empty means "not set": the default stays
            "UNRELATED": "ignored",
        }
    )
    assert settings == Settings(
        redis_url="unix:///run/redis.sock",
        data_dir=Path("/srv/halyq"),
        port=0,
        workers=4,
        fanout_max_delay=0.25,
        accept_nondurable=True,
        allowed_origins=("https://embed.example.kz", "https://tv.example.kz"),
        default_lang="ru",
    )
    assert Settings.from_env({"HALYQ_ACCEPT_NONDURABLE": "0"}).accept_nondurable is False
    # Command-line flags win over the environment; a flag not given leaves it alone.
    flagged = Settings.from_env(
        {"HALYQ_PORT": "9000", "HALYQ_HOST": "0.0.0.0"}, port=8080, host=None
    )
    assert (flagged.port, flagged.host) == (8080, "0.0.0.0")


def test_secrets_are_masked_in_the_settings_repr() -> None:
    settings = Settings.from_env({"HALYQ_ADMIN_TOKEN": "tok-3141592", "HALYQ_SECRET": "sec-2718"})
    assert settings.admin_token == "tok-3141592"
    assert "tok-3141592" not in repr(settings)
    assert "sec-2718" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HALYQ_DEFAULT_LANG", "fr", "HALYQ_DEFAULT_LANG must be one of kk, ru, en"),
        ("HALYQ_HISTORY_LIMIT", "0", "HALYQ_HISTORY_LIMIT must be at least 1"),
        ("HALYQ_RESUME_LIMIT", "-5", "HALYQ_RESUME_LIMIT must be at least 1"),
        ("HALYQ_OUTBOX_BYTES", "1024", "HALYQ_OUTBOX_BYTES must be at least 4096"),
        ("HALYQ_FANOUT_MAX_DELAY", "2", "HALYQ_FANOUT_MAX_DELAY must be between 0 and 1"),
        ("HALYQ_FANOUT_MAX_DELAY", "-0.1", "HALYQ_FANOUT_MAX_DELAY must be between 0 and 1"),
        ("HALYQ_PORT", "70000", "HALYQ_PORT must be a TCP port"),
        ("HALYQ_PORT", "-1", "HALYQ_PORT must be a TCP port"),
        ("HALYQ_WORKERS", "0", "HALYQ_WORKERS must be at least 1"),
        ("HALYQ_STAFF_ORIGINS", "halyq.example.kz", "HALYQ_STAFF_ORIGINS: 'halyq.example.kz'"),
        ("HALYQ_WORKERS", "two", "HALYQ_WORKERS='two' is not a valid int"),
        ("HALYQ_HISTORY_LIMIT", "1e3", "HALYQ_HISTORY_LIMIT='1e3' is not a valid int"),
        ("HALYQ_FANOUT_MAX_DELAY", "soon", "HALYQ_FANOUT_MAX_DELAY='soon' is not a valid float"),
        ("HALYQ_ACCEPT_NONDURABLE", "maybe", "HALYQ_ACCEPT_NONDURABLE='maybe' is not a valid bool"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: value})
    assert message in str(refused.value)


def test_several_workers_need_a_fixed_port(tmp_path: Path) -> None:
    """`halyq serve --workers 2 --port 0`: each worker binds the port itself, so "pick a free
    one" cannot be shared; the operator gets one line saying so, exit status 1."""
    answer = subprocess.run(
        [sys.executable, "-m", "server", "--data-dir", str(tmp_path), "serve", "--workers", "2",
         "--port", "0"],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )  # fmt: skip
    assert answer.returncode == 1
    assert "halyq: several workers need a fixed port: give --port" in answer.stderr
    assert "Traceback" not in answer.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("HALYQ_SLOW_MODE_SECONDS", "1000"), ("HALYQ_SLOW_MODE_SECONDS", "-1"),
     ("HALYQ_SLOW_MODE_BURST", "0"), ("HALYQ_SLOW_MODE_BURST", "50"),
     ("HALYQ_LOG_LEVEL", "chatty")],
)  # fmt: skip
def test_slow_mode_and_log_level_are_checked_at_start_up_naming_their_variable(
    variable: str, value: str
) -> None:
    """R3: a default slow mode that could close commenting is refused before anything runs."""
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_a_port_in_use_is_reported_in_one_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "server", "--data-dir", str(tmp_path), "serve", "--port",
             str(port)],
            cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=TIMEOUT * 3,
        )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert "halyq: " in done.stderr


# Issue 15: Redis behind Sentinel


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"REDIS_SENTINELS": "127.0.0.1:26379"}, "REDIS_SENTINELS needs REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_MASTER": "halyq"}, "REDIS_SENTINEL_MASTER needs REDIS_SENTINELS"),
        (
            {"REDIS_SENTINELS": "127.0.0.1", "REDIS_SENTINEL_MASTER": "halyq"},
            "REDIS_SENTINELS: '127.0.0.1' is not a host:port",
        ),
        (
            {"REDIS_SENTINELS": "h:99999", "REDIS_SENTINEL_MASTER": "halyq"},
            "REDIS_SENTINELS: 'h:99999' is not a host:port",
        ),
        ({"HALYQ_MIN_REPLICAS": "-2"}, "HALYQ_MIN_REPLICAS must be at least 0"),
    ],
)
def test_sentinel_settings_that_cannot_work_are_refused_naming_the_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_required_replicas_are_one_behind_sentinel_and_zero_otherwise_unless_set() -> None:
    sentinel = {"REDIS_SENTINELS": "127.0.0.1:1,127.0.0.1:2", "REDIS_SENTINEL_MASTER": "m"}
    assert Settings.from_env(sentinel).required_replicas() == 1
    assert Settings.from_env(sentinel | {"HALYQ_MIN_REPLICAS": "0"}).required_replicas() == 0
    assert Settings.from_env({}).required_replicas() == 0
    assert Settings.from_env({"HALYQ_MIN_REPLICAS": "2"}).required_replicas() == 2
    assert Settings.from_env(sentinel).store_url() == "redis+sentinel://127.0.0.1:1,127.0.0.1:2/m"
