"""Headless Chromium for the browser tests: where it is, how it is launched, what a page traps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records what a page must never do: run injected script, break the Content-Security-Policy.
TRAPS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def require_chromium() -> None:
    """Skip on a developer's machine without Chromium; never in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser tests: /usr/bin/chromium is missing")
        pytest.skip("no /usr/bin/chromium on this machine (CI installs it)")
