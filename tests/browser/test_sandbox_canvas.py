"""The sandbox shows a run's reports (issue 23.5), in headless Chromium: an answer past
ORCHESTRA_CANVAS_MIN_CHARS becomes a canvas, and its link in the thread opens the canvas in a
pane beside the thread (its title, the whole answer, its Sources); Download (.md) shares the
report as a file in the thread, which the page lets you download; the suggested follow-ups
are buttons under the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import LAPTOP, WAIT_MS, screenshot
from tests.browser.test_sandbox_page import start_run
from tests.sandbox.process import running_sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
async def canvas_page(browser: Browser, tmp_path: Path) -> AsyncIterator[Page]:
    # The demo's answers are short: a low threshold makes each one a canvas.
    low = {"ORCHESTRA_CANVAS_MIN_CHARS": "200"}
    async with running_sandbox("sandbox", tmp_path, low) as sandbox:
        page = await browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        await page.goto(sandbox.url)
        yield page
        await page.close()
        assert await sandbox.stop() == 0


async def test_the_canvas_opens_from_the_thread_link_and_the_report_downloads(
    canvas_page: Page, tmp_path: Path
) -> None:
    page = canvas_page
    thread = await start_run(page, "compare three databases")
    # The answer's message links it (and the root, whose outcome line names it too).
    await expect(thread.locator("a.canvas-link")).to_have_count(2)
    link = thread.locator("a.canvas-link").last
    await expect(thread).to_contain_text("The whole answer is in the canvas")
    # Suggested follow-ups, under the answer beside Download (.md).
    await expect(thread.locator('button[data-action^="orchestra_follow_up"]')).to_have_count(3)

    await link.click()
    canvas = page.locator("#canvas-column")
    await expect(canvas).to_be_visible()
    await expect(canvas.locator(".canvas-title")).to_have_text("compare three databases")
    await expect(canvas).to_contain_text("Demo answer")
    await expect(canvas).to_contain_text("Sources")
    await expect(page.locator("#thread-column")).to_be_visible()  # beside the thread
    await screenshot(page, tmp_path, "sandbox-canvas.png")

    await thread.locator('button[data-action="download_md"]').click()
    file_link = thread.locator("a.file-link")
    await expect(file_link).to_have_text("compare-three-databases.md")
    async with page.expect_download() as waiting:
        await file_link.click()
    download = await waiting.value
    saved = tmp_path / "report.md"
    await download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("# compare three databases")
    assert "Demo answer" in text

    await page.locator("#close-canvas").click()
    await expect(canvas).to_be_hidden()
