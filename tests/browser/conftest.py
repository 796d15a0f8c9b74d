"""Headless Chromium on the sandbox as `make run` starts it (a child process, the offline
demo), and what the browser tests share: the window sizes, typing, screenshots, visibility."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.sandbox.process import running_sandbox

# Debian's package, not Playwright's downloaded build: CI installs it with apt (see .ci/run).
CHROMIUM = os.environ.get("ORCHESTRA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI containers run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The offline demo model answers in 1-4 s per call on purpose; a run takes about 10 s.
WAIT_MS = 30_000
# What a new user's laptop shows, and a small window.
LAPTOP = ViewportSize(width=1280, height=900)
SMALL = ViewportSize(width=800, height=700)
# Where screenshots go: a temporary folder, so test runs leave the checkout clean;
# `ORCHESTRA_SCREENSHOTS=docs` refreshes the README's (docs/sandbox*.png; install Debian's
# fonts-noto-color-emoji first, or the status icons come out as empty boxes).
SCREENSHOTS_ENV = "ORCHESTRA_SCREENSHOTS"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"No Chromium at {CHROMIUM}. Install Debian's package: "
            "sudo apt-get install -y --no-install-recommends chromium "
            "(or point ORCHESTRA_CHROMIUM at a Chromium binary)."
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser, tmp_path: Path) -> AsyncIterator[Page]:
    # A fresh cwd without `.env`, and no tokens in the environment: the offline demo.
    async with running_sandbox("sandbox", tmp_path) as sandbox:
        page = await browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)  # assertions wait as long as actions do
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
        await page.goto(sandbox.url)
        yield page
        await page.close()
        assert missing == []  # every resource the page asks for exists (the favicon too)
        assert await sandbox.stop() == 0


async def type_in(page: Page, composer: str, text: str) -> None:
    """Type `text` in a composer (`#text`: the channel's, `#thread-text`: the thread's)."""
    await page.locator(composer).fill(text)
    await page.locator(composer).press("Enter")


async def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """The page as it is now, in `ORCHESTRA_SCREENSHOTS` (the README's images) or `tmp_path`."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    assert (await page.screenshot(path=folder / name)).startswith(b"\x89PNG")


async def assert_fully_visible(page: Page, selector: str) -> None:
    """The element is on screen from top to bottom, nothing cut off."""
    await expect(page.locator(selector)).to_be_visible()  # the page may still be laying out
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert size is not None
    assert box["y"] >= 0, (selector, box)
    assert box["y"] + box["height"] <= size["height"], (selector, box, size)
    assert box["x"] + box["width"] <= size["width"], (selector, box, size)
