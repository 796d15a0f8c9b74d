"""The sandbox page's DM with Orchestra in headless Chromium, at 1280x900: Orchestra under
Apps in the sidebar opens the DM with the app's suggested prompts (agent view); a request
typed with no mention (or a prompt clicked) is answered as Slack shows the native stream: the
status line while the app plans, then the plan with one row per task moving through its
states, the answer growing below it, the footer and feedback buttons at the end (a click is
answered privately); a follow-up in the chat plans with the conversation; Stop cancels the
run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from bot.render import notes
from sandbox.page import USER_NAME
from tests.browser.conftest import SMALL, assert_fully_visible, screenshot, type_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATUS_LINE = f"Orchestra {notes.PLANNING_STATUS}"


async def open_dm(page: Page) -> Locator:
    """Click Orchestra in the sidebar; the chat's pane, once the app's prompts show in it."""
    await page.locator("#nav-dm").click()
    chat = page.locator("#dm")
    await expect(page.locator("#dm-column")).to_be_visible()
    await expect(page.locator("#channel-column")).to_be_hidden()
    await expect(page.locator("#where")).to_have_text("Orchestra")
    await expect(chat.locator(".prompts button")).to_have_count(len(notes.SUGGESTED_PROMPTS))
    return chat


def task(reply: Locator, task_id: str) -> Locator:
    """A task's row in a streamed reply's plan."""
    return reply.locator(f'.task[data-task="{task_id}"]')


# Every render of the chat's first streamed reply, recorded in the page as the page makes it:
# each task's status, the answer's length, whether the reply is live and whether the status
# line shows, and whether Stop is offered.
WATCH_CHAT = """() => {
  const chat = document.getElementById("dm");
  window.renders = [];
  new MutationObserver(() => {
    const reply = chat.querySelector(".msg.streamed");
    const render = {
      statusLine: !!document.getElementById("status-line"),
      stop: !document.getElementById("stop").hidden,
      tasks: reply ? Object.fromEntries([...reply.querySelectorAll(".task")].map(
        (t) => [t.dataset.task, t.dataset.status])) : {},
      length: reply?.querySelector(".markdown")?.innerText.length ?? 0,
      live: !!reply?.classList.contains("live"),
    };
    if (JSON.stringify(renders.at(-1)) !== JSON.stringify(render)) renders.push(render);
  }).observe(chat, {childList: true, subtree: true, characterData: true, attributes: true});
}"""
HALF_WRITTEN = "() => renders.some((r) => r.live && r.length >= 200)"


async def test_a_dm_is_answered_in_a_live_native_stream(page: Page, tmp_path: Path) -> None:
    chat = await open_dm(page)
    await expect(chat).to_contain_text(notes.PROMPTS_TITLE)
    await assert_fully_visible(page, "#dm-composer")
    await page.evaluate(WATCH_CHAT)
    await type_in(page, "#dm-text", "compare three databases")  # no mention needed

    await expect(chat.locator(".msg").first).to_contain_text(
        re.compile(rf"{USER_NAME}\d+:\d\d [AP]Mcompare three")  # name, time, text
    )
    await expect(chat.locator(".prompts")).to_have_count(0)  # gone once the person wrote
    await expect(page.locator("#status-line")).to_have_text(STATUS_LINE)
    reply = chat.locator(".msg.streamed")
    # The title carries the plan's estimate after the goal (issue 22.4).
    await expect(reply.locator(".plan-title")).to_have_text(
        re.compile(r"^Researching: compare three databases \u00b7 Estimate: .+")
    )
    await expect(page.locator("#status-line")).to_have_count(0)  # the plan shows instead
    await page.wait_for_function(HALF_WRITTEN)
    await screenshot(page, tmp_path, "sandbox-dm.png")

    await expect(reply.locator(".plan-title")).to_have_text("Finished: 4 done")
    await expect(reply.locator(".context").last).to_contain_text("4/4 subtasks done")
    await expect(page.locator("#stop")).to_be_hidden()
    await expect(reply).not_to_have_class(re.compile(r"\blive\b"))
    for task_id in ("s1", "s2", "s3", "s4"):
        await expect(task(reply, task_id).locator(".task-status")).to_have_text("Complete")
        await expect(task(reply, task_id).locator(".task-details")).to_contain_text("done in")
    # Each analyst's sources, their hosts in view; the answer cites them in its Sources list.
    sources = task(reply, "s1").locator(".task-sources a")
    await expect(sources.first).to_have_text(
        re.compile(r"^Placeholder source: .*\(example\.com\)$")
    )
    await expect(sources.first).to_have_attribute("href", re.compile(r"^https://example\.com/"))
    await expect(reply.locator(".markdown")).to_contain_text("Sources")
    await expect(reply.locator(".context").last).to_be_in_viewport()  # the pane followed

    renders = await page.evaluate("() => renders")
    # The status line showed while the app planned (Stop offered), then cleared for good.
    planning = [i for i, r in enumerate(renders) if r["statusLine"]]
    assert planning, renders
    assert all(renders[i]["stop"] for i in planning), renders
    assert not any(r["statusLine"] for r in renders[planning[-1] + 1 :]), renders
    # Every task was seen moving on through its states, never back; the answer only grew.
    order = ["pending", "in_progress", "complete"]
    for task_id in ("s1", "s2", "s3", "s4"):
        seen = [r["tasks"][task_id] for r in renders if task_id in r["tasks"]]
        steps = [order.index(s) for s in seen]
        assert steps == sorted(steps), (task_id, renders)
        assert "in_progress" in seen, (task_id, renders)
        assert seen[-1] == "complete", (task_id, renders)
    written = [r["length"] for r in renders if r["live"] and r["length"]]
    assert len(set(written)) >= 2, renders
    assert written == sorted(written), renders
    assert all(r["stop"] for r in renders if r["live"]), renders

    # Feedback, as Slack sends it: the app thanks the person, privately, in the chat.
    await reply.locator("button.feedback").first.click()
    thanks = chat.locator(".msg.private")
    await expect(thanks).to_contain_text(notes.FEEDBACK_THANKS)
    await expect(thanks).to_contain_text("Only visible to you")

    # A follow-up in the same chat plans with the conversation.
    await type_in(page, "#dm-text", "what about cost?")
    follow_up = chat.locator(".msg.streamed").nth(1)
    await expect(task(follow_up, "s1")).to_contain_text("Thread context reader")
    await expect(follow_up.locator(".plan-title")).to_have_text("Finished: 5 done")
    await expect(follow_up.locator(".context").last).to_be_in_viewport()


async def test_a_suggested_prompt_starts_a_run_that_stop_cancels(page: Page) -> None:
    chat = await open_dm(page)
    title, message = notes.SUGGESTED_PROMPTS[0]
    await chat.locator(".prompts button", has_text=title).click()
    await expect(chat.locator(".msg").first).to_contain_text(message)
    reply = chat.locator(".msg.streamed")
    await expect(reply.locator('.task[data-status="in_progress"]').first).to_be_visible()
    stop = page.locator("#stop")
    await expect(stop).to_be_visible()
    await stop.click()

    await expect(reply.locator(".markdown")).to_contain_text(f"Cancelled by @{USER_NAME}")
    await expect(stop).to_be_hidden()
    await expect(reply).not_to_have_class(re.compile(r"\blive\b"))
    await expect(reply.locator('.task[data-status="in_progress"]')).to_have_count(0)
    await expect(reply).not_to_contain_text("Demo answer")
    await expect(reply.locator("button.feedback")).to_have_count(0)

    # A new chat opens the DM with its prompts again (agent view: the chat exists once the
    # person writes); the earlier one stays in the history.
    await page.locator("#new-chat").click()
    await expect(chat.locator(".prompts button")).to_have_count(len(notes.SUGGESTED_PROMPTS))
    await expect(chat.locator(".msg")).to_have_count(0)
    history = page.locator("#history option")
    await expect(history).to_have_count(1)
    await expect(history.first).to_have_text(message)
    await page.locator("#history").select_option(index=0)
    await expect(chat).to_contain_text(f"Cancelled by @{USER_NAME}")

    # A reload stays in the DM, on the newest chat; a small window still shows the composer.
    await page.reload()
    await expect(page.locator("#dm-column")).to_be_visible()
    await expect(page.locator("#history option")).to_have_count(1)
    await expect(chat).to_contain_text(f"Cancelled by @{USER_NAME}")
    await page.set_viewport_size(SMALL)
    await assert_fully_visible(page, "#dm-composer")

    # Back in the channel: the DM is not there.
    await page.locator("#nav-channel").click()
    await expect(page.locator("#where")).to_have_text("# research")
    await assert_fully_visible(page, "#composer")
    await expect(page.locator("#channel")).not_to_contain_text(message)
