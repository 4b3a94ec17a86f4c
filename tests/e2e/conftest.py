"""Fixtures of the end-to-end tests: a headless Chromium for each test module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.e2e._chromium import CHROMIUM, CHROMIUM_FLAGS, require_chromium
from tests.helpers import ServerProcess, environment, start_server


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium per test module, launched when a test there first needs it."""
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`halyq demo` (what `make demo` runs) on a data folder of its own, for a module's pages."""
    require_chromium()
    folder = tmp_path_factory.mktemp("demo")
    env = environment(HALYQ_DATA_DIR=str(folder / "data"))
    server = start_server(folder, "demo", env=env)
    try:
        yield server
    finally:
        server.stop()
