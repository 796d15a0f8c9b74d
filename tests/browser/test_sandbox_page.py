"""The sandbox page in headless Chromium: a run's plan goes live and finishes with an answer in
its thread, and a second run is cancelled from its Cancel button."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from tests.sandbox.process import running_sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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
# Where the screenshot goes: a temporary file, so test runs leave the checkout clean;
# `ORCHESTRA_SCREENSHOT=docs/sandbox.png` refreshes the README's (install Debian's
# fonts-noto-color-emoji first, or the status icons come out as empty boxes).
SCREENSHOT_ENV = "ORCHESTRA_SCREENSHOT"


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
        page = await browser.new_page(viewport={"width": 1440, "height": 1150})
        page.set_default_timeout(WAIT_MS)
        await page.goto(sandbox.url)
        yield page
        await page.close()
        assert await sandbox.stop() == 0


async def start_run(page: Page, goal: str) -> Locator:
    """Type `/research <goal>` and open the run's thread; the thread pane."""
    await page.locator("#text").fill(f"/research {goal}")
    await page.locator("#text").press("Enter")
    parent = page.locator("#channel .msg").filter(has_text=goal)
    await parent.locator(".replies").click()
    thread = page.locator("#thread-pane")
    await expect(thread).to_be_visible()
    await expect(thread.locator("#thread")).to_contain_text(goal)
    return thread


def entry(thread: Locator, subtask_id: str) -> Locator:
    """A subtask's live entry in the plan message ("s1 · Analyst of option 1 …")."""
    return thread.locator(".section").filter(has_text=re.compile(rf"^\W*{subtask_id} ·"))


async def test_a_run_finishes_in_its_thread_and_another_is_cancelled(
    page: Page, tmp_path: Path
) -> None:
    thread = await start_run(page, "compare three databases")

    await expect(thread).to_contain_text("Plan:")
    # The plan arrives before any work is done: entries show a live state first.
    await expect(entry(thread, "s1")).to_contain_text(re.compile(r"pending|running…"))
    for subtask_id in ("s1", "s2", "s3", "s4"):
        await expect(entry(thread, subtask_id)).to_contain_text("done in")
    await expect(thread).to_contain_text("Demo answer")
    await expect(thread).to_contain_text("4/4 subtasks done")
    await expect(thread).to_contain_text("Finished.")
    await expect(thread.locator('button[data-action="orchestra_cancel"]')).to_have_count(0)

    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "sandbox.png")
    assert (await page.screenshot(path=screenshot)).startswith(b"\x89PNG")

    thread = await start_run(page, "history of the printing press")
    cancel = thread.locator('button[data-action="orchestra_cancel"]')
    await cancel.click()
    await expect(thread).to_contain_text("Cancelled by @USANDBOX")
    await expect(cancel).to_have_count(0)
    await expect(thread).not_to_contain_text("Demo answer")
