"""The sandbox page in headless Chromium, as a new user meets it at 1280x900 (and 800x700):
a run's plan goes live and finishes with an answer in its thread, which follows the newest
message; the answer grows in place while it is written, and the pane follows it unless the
reader scrolled up; the answer cites its (placeholder) sources and ends with their list, hosts
visible; people and channels are named, messages timed, emoji shown; the composers stay in
view and take several lines (Shift+Enter), code blocks and strikethrough render; history and
the Home tab (published when opened) link to threads that open in the page; private replies
show where Slack shows them, for the session only; the thread pane's composer sends mentions
with the thread as context and slash commands to the channel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from sandbox.page import USER, USER_NAME
from tests.browser.conftest import SMALL, assert_fully_visible, screenshot, type_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


TIME = re.compile(r"^\d{1,2}:\d\d [AP]M$")  # a message's time, as Slack shows it: "3:07 PM"


async def start_run(page: Page, goal: str) -> Locator:
    """Type `/research <goal>` in the channel and open the run's thread; the thread pane."""
    await type_in(page, "#text", f"/research {goal}")
    parent = page.locator("#channel .msg").filter(has_text=goal)
    await parent.locator(".replies").click()
    thread = page.locator("#thread-column")
    await expect(thread).to_be_visible()
    await expect(thread.locator("#thread")).to_contain_text(goal)
    return thread


def entry(thread: Locator, subtask_id: str) -> Locator:
    """A subtask's live entry in the plan message ("s1 · Analyst of option 1 …")."""
    return thread.locator(".section").filter(has_text=re.compile(rf"^\W*{subtask_id} ·"))


def footer(pane: Locator) -> Locator:
    """The answer's footer (wall time, subtasks done, tokens, cost): the run's last words."""
    return pane.locator(".context").filter(has_text="subtasks done").last


async def test_a_run_finishes_in_its_thread_and_another_is_cancelled(
    page: Page, tmp_path: Path
) -> None:
    await assert_fully_visible(page, "#composer")
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

    # The thread is taller than its pane, and the pane followed it down to the answer.
    pane = page.locator("#thread-pane")
    assert await pane.evaluate("p => p.scrollHeight > p.clientHeight + 100")
    await expect(footer(thread)).to_be_in_viewport()
    # People by name, never by id; and "1 reply", not "1 replies".
    channel = page.locator("#channel")
    await expect(channel).to_contain_text(f"@{USER_NAME} asked Orchestra to research")
    await expect(page.locator("body")).not_to_contain_text(USER)
    await expect(page.locator("body")).not_to_contain_text("UBOT")
    await expect(channel.locator(".replies")).to_have_text(re.compile(r"^\d+ replies$"))
    # Each message shows its time beside its author, as Slack does.
    for pane in (channel, thread):
        await expect(pane.locator(".msg .author .time").first).to_have_text(TIME)
    await assert_fully_visible(page, "#composer")
    await assert_fully_visible(page, "#thread-composer")

    await screenshot(page, tmp_path, "sandbox.png")

    await page.set_viewport_size(SMALL)
    await assert_fully_visible(page, "#thread-composer")
    await expect(footer(thread)).to_be_in_viewport()  # still at the bottom after the resize
    await page.locator("#close").click()
    await assert_fully_visible(page, "#composer")

    # A mention over two lines (Shift+Enter), with a code block and strikethrough in it.
    composer = page.locator("#text")
    await composer.fill("@Orchestra history of the printing press")
    await composer.press("Shift+Enter")
    await composer.press_sequentially("```rm -rf /``` ~not this~ :warning:")
    await expect(composer).to_have_value(
        "@Orchestra history of the printing press\n```rm -rf /``` ~not this~ :warning:"
    )
    await composer.press("Enter")
    await expect(composer).to_have_value("")
    asked = channel.locator(".msg").filter(has_text="history of the printing press")
    await expect(asked.locator("pre")).to_have_text("rm -rf /")
    await expect(asked.locator("s")).to_have_text("not this")
    # Its thread's link is a line of its own under the text, not glued to it.
    await expect(asked.locator(".replies")).to_be_visible()
    assert re.search(r"not this ⚠️\n+\d+ repl(y|ies)$", await asked.inner_text())
    await asked.locator(".replies").click()
    thread = page.locator("#thread-column")
    cancel = thread.locator('button[data-action="orchestra_cancel"]')
    await cancel.click()
    await expect(thread).to_contain_text(f"Cancelled by @{USER_NAME}")
    await expect(cancel).to_have_count(0)
    await expect(thread).not_to_contain_text("Demo answer")
    await expect(page.locator("#channel .replies").first).to_be_hidden()  # thread is full width

    # History names the channel, shows the app's emoji, and its thread links open the thread.
    await page.locator("#close").click()
    await type_in(page, "#text", "/research history")
    history = channel.locator(".msg.private").filter(has_text="Latest Orchestra runs in")
    await expect(history).to_contain_text("Latest Orchestra runs in #research")
    await expect(history).to_contain_text("✅ answered")
    await expect(history).to_contain_text("⏹️ cancelled")
    await expect(history).not_to_contain_text(re.compile(r"<#|:[a-z_]+:"))
    run = history.locator(".section").filter(has_text="compare three databases")
    await run.locator("a", has_text="thread").click()
    await expect(page.locator("#thread")).to_contain_text("Demo answer")
    await assert_fully_visible(page, "#thread-composer")


# Every render of the run's answer, recorded in the page as the page makes it (a
# MutationObserver runs once the page has made a change, its scroll included): the message that
# shows "Writing…", whether it still does, its text's length, whether it is still in the page,
# how far the thread pane is from its end, and the test's `phase` then.
WATCH_ANSWER = """() => {
  const pane = document.getElementById("thread-pane"), thread = document.getElementById("thread");
  const writing = (m) =>
    [...m.querySelectorAll(".context")].some((c) => c.innerText === "Writing…");
  window.phase = "following";
  window.renders = [];
  new MutationObserver(() => {
    window.answer ||= [...thread.querySelectorAll(".msg")].find(writing);
    if (!window.answer) return;
    const render = {
      id: answer.id, inPage: answer.isConnected, phase, writing: writing(answer),
      length: answer.querySelector(".markdown").innerText.length,
      gap: pane.scrollHeight - pane.scrollTop - pane.clientHeight,
    };
    if (JSON.stringify(renders.at(-1)) !== JSON.stringify(render)) renders.push(render);
  }).observe(thread, {childList: true, subtree: true, characterData: true});
}"""
GROWN_TWICE = "() => new Set(renders.filter((r) => r.writing).map((r) => r.length)).size >= 2"
# About half the demo answer, its first lines of results in view: the README's picture.
HALF_WRITTEN = "() => renders.some((r) => r.writing && r.length >= 200)"
# Resolves once the pane is scrolled away from its end (a wheel's scroll may take frames).
LEFT_THE_END = """p => new Promise((done) => {
  const check = () =>
    p.scrollHeight - p.scrollTop - p.clientHeight >= 1 ? done() : requestAnimationFrame(check);
  check();
})"""


async def test_the_answer_grows_in_place_and_the_pane_follows_it_unless_scrolled_up(
    page: Page, tmp_path: Path
) -> None:
    thread = await start_run(page, "compare three databases")
    await page.evaluate(WATCH_ANSWER)
    await page.wait_for_function(GROWN_TWICE)  # two renders while written, the second longer
    await page.wait_for_function(HALF_WRITTEN)
    await screenshot(page, tmp_path, "sandbox-writing.png")
    # The reader scrolls up a little, as a touchpad does, while the answer is still written.
    pane = page.locator("#thread-pane")
    await page.evaluate("() => { phase = 'scrolling'; }")
    await pane.hover()
    await page.mouse.wheel(0, -20)
    await pane.evaluate(LEFT_THE_END)
    await page.evaluate("() => { phase = 'scrolled'; }")

    # The answer ends in the message that grew: its Sources, then the footer, last.
    answer_id = await page.evaluate("() => answer.id")
    answer = thread.locator(f'[id="{answer_id}"]')
    await expect(answer.locator(".context").last).to_contain_text("subtasks done")
    await expect(answer).not_to_contain_text("Writing…")
    await expect(answer.locator(".markdown")).to_contain_text("Sources")
    assert await page.evaluate("id => document.getElementById(id) === answer", answer_id)

    renders = await page.evaluate("() => renders")
    written = [r["length"] for r in renders if r["writing"]]
    assert len(set(written)) >= 2, renders
    assert written == sorted(written), renders  # it only grows
    assert all(r["id"] == answer_id and r["inPage"] for r in renders), renders  # in place
    assert not renders[-1]["writing"], renders
    assert renders[-1]["length"] > written[-1], renders
    # The pane followed the answer down while its reader was at the end, and once they
    # scrolled up it kept their place: no render pulled them back.
    assert all(r["gap"] < 1 for r in renders if r["phase"] == "following"), renders
    after = [r for r in renders if r["phase"] == "scrolled"]
    assert after, renders  # the answer's last edit came after the reader scrolled
    assert all(r["gap"] >= 1 for r in after), renders


async def test_an_answer_ends_with_its_sources_each_showing_its_host(page: Page) -> None:
    thread = await start_run(page, "compare three databases")
    await expect(footer(thread)).to_contain_text(re.compile(r"\d web search"))
    # The analysts searched the web (placeholder pages); the editor wrote from their results.
    for subtask_id in ("s1", "s2", "s3"):
        await expect(entry(thread, subtask_id)).to_contain_text(
            re.compile(r"\d searche?s? · \d sources")
        )
    await expect(entry(thread, "s4")).to_contain_text("done in")
    await expect(entry(thread, "s4")).not_to_contain_text("search")

    answer = thread.locator(".markdown").filter(has_text="Demo answer")
    text = await answer.inner_text()
    body, listed = text.split("\nSources\n")
    entries = listed.strip().splitlines()
    # Numbered from 1, each a placeholder that says so, its host in view; the list ends it.
    assert [line.split(". ", 1)[0] for line in entries] == [
        str(n) for n in range(1, len(entries) + 1)
    ], text
    assert all(
        re.fullmatch(r"\d+\. Placeholder source: .* \(demo\) \(example\.com\)", e) for e in entries
    )
    links = answer.locator('a[href^="https://example.com/demo/"]')
    await expect(links).to_have_count(len(entries))
    await expect(links.last).to_have_text(re.compile(r"\(example\.com\)$"))
    # The answer cites exactly the listed sources, by their numbers.
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited == set(range(1, len(entries) + 1)), text


async def test_private_replies_show_where_slack_shows_them_and_home_links_to_threads(
    page: Page,
) -> None:
    channel, private = page.locator("#channel"), page.locator(".msg.private")
    await type_in(page, "#text", "/research")
    help_note = channel.locator(".msg.private")
    await expect(help_note).to_contain_text("Only visible to you")
    await expect(help_note.locator("code").first).to_have_text(re.compile(r"^/research "))
    await expect(help_note).not_to_contain_text("`")

    thread = await start_run(page, "compare three databases [broken]")
    await expect(thread).to_contain_text("Finished: 2 done, 1 failed, 1 skipped.")
    await expect(footer(thread)).to_be_in_viewport()
    # "Full output" twice: the second click's private reply belongs to the thread.
    output = thread.locator('button[data-action="orchestra_output:s2"]')
    await output.click()
    await expect(thread).to_contain_text("Full output of s2")
    await output.click()
    thread_note = thread.locator(".msg.private")
    await expect(thread_note).to_contain_text("already in this thread")
    await expect(thread_note).to_be_in_viewport()
    await expect(channel).not_to_contain_text("already in this thread")
    await expect(private).to_have_count(2)  # the help in the channel, this one in the thread

    # The Home tab (Apps, in the sidebar): opening it tells the app, which publishes it.
    await page.locator("#nav-home").click()
    home = page.locator("#home")
    await expect(page.locator("#home-column")).to_be_visible()
    await expect(home).to_contain_text("Your recent runs")
    await expect(home).to_contain_text("compare three databases [broken]")
    await expect(home).to_contain_text("🟡 partly answered")
    await expect(home).not_to_contain_text(re.compile(r":[a-z_]+:"))
    await page.set_viewport_size(SMALL)
    await assert_fully_visible(page, "#home-column .tabs")
    await home.locator("a", has_text="thread").first.click()  # back to the run, in its thread
    await expect(page.locator("#thread-column")).to_be_visible()
    await expect(page.locator("#thread")).to_contain_text("Finished: 2 done")
    await page.locator("#close").click()

    await page.reload()
    await page.locator("#channel .replies").last.click()
    await expect(page.locator("#thread")).to_contain_text("Finished: 2 done")
    await expect(private).to_have_count(0)  # ephemeral: gone with the reload, as in Slack


async def test_the_thread_composer_mentions_with_context_and_sends_commands_to_the_channel(
    page: Page,
) -> None:
    thread = await start_run(page, "compare three databases")
    await expect(thread).to_contain_text("4/4 subtasks done")

    await type_in(page, "#thread-text", "@Orchestra what about cost?")
    await expect(thread).to_contain_text("Research: what about cost? (a follow-up in this thread)")
    await expect(entry(thread, "s1").last).to_contain_text("Thread context reader")
    await expect(footer(thread)).to_contain_text("5/5 subtasks done")
    await expect(footer(thread)).to_be_in_viewport()

    await type_in(page, "#thread-text", "/research history of tea")
    await expect(thread.locator(".msg.private")).to_contain_text(
        "Your /research started in the channel"
    )
    await expect(page.locator("#channel")).to_contain_text("research: history of tea")
