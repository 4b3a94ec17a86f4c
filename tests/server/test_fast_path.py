"""The uvicorn fast path is written against uvicorn's internals: it must fail loudly, not
silently, when the installed uvicorn is not the one it was written for."""

from __future__ import annotations

import pytest
import uvicorn

from server.fanout import uvicorn as fast_path


def test_the_installed_uvicorn_is_the_one_the_fast_path_was_written_for() -> None:
    found = fast_path.problems()
    assert found == [], (
        "server/fanout/uvicorn.py leans on uvicorn internals that changed: "
        + "; ".join(found)
        + ". Check WebSocketProtocol against the new uvicorn, then update WRITTEN_FOR."
    )
    assert fast_path.options() is fast_path.SETTINGS


def test_another_uvicorn_turns_the_fast_path_off_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(uvicorn, "__version__", "9.0.0")
    assert fast_path.problems() == ["uvicorn 9.0.0 is not one of 0.54.x"]
    options = fast_path.options()
    assert options["ws"] == "websockets-sansio"  # uvicorn's own protocol: the generic path
    assert {k: v for k, v in options.items() if k != "ws"} == {
        k: v for k, v in fast_path.SETTINGS.items() if k != "ws"
    }
    assert "the WebSocket fast path is off: uvicorn 9.0.0" in caplog.text
