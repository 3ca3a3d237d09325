"""Headless Chromium through Playwright for real-browser tests, using the system Chromium
(Debian's /usr/bin/chromium; COLES_BROWSER_EXECUTABLE names another). CI installs it
(.ci/run); without it the tests skip, which CI (GROCER_NO_SKIPS=1) counts as a failure."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest


def chromium_executable() -> str | None:
    return os.environ.get("COLES_BROWSER_EXECUTABLE") or shutil.which("chromium")


@contextmanager
def chromium_page(viewport=(1100, 900)):
    """A fresh page of a headless Chromium, closed afterwards."""
    executable = chromium_executable()
    if not executable:
        pytest.skip("no Chromium: install the chromium package or set COLES_BROWSER_EXECUTABLE")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            browser.close()
