"""Fixtures of the end-to-end tests: a headless Chromium for each test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.e2e._chromium import CHROMIUM, CHROMIUM_FLAGS, require_chromium


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
