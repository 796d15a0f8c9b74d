"""End to end: an answer longer than ORCHESTRA_CANVAS_MIN_CHARS becomes a Slack canvas the run's
channel can read, linked from the thread's one answer message (the answer's opening); where
canvases are refused, the whole answer is posted as messages, as without canvases."""

from __future__ import annotations

import pytest

from bot.render import notes
from bot.render.report import DOWNLOAD_ACTION
from bot.render.text import OPENING_CHARS
from pipeline import PipelineConfig
from sandbox.fakes.claude import Citation, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

TABLE = "| Option | Cost | Notes |\n|---|---|---|\n" + "".join(
    f"| option {i} | ${i}0 | fine [1] |\n" for i in range(40)
)


@pytest.fixture
def config() -> PipelineConfig:
    # A long streamed answer must not hit the call timeout on a busy machine.
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


def long_answer(chars: int) -> str:
    """Headings, a table, citations: `chars` characters of them."""
    parts = ["# Findings\n\nThe short version comes first. It has two sentences [1].", TABLE]
    n = 0
    while sum(len(p) + 2 for p in parts) < chars:
        n += 1
        parts.append(
            f"## Section {n}\n\nSection {n} explains one more thing in detail [1]. "
            + " ".join(f"word{n}x{w}" for w in range(60))
            + "."
        )
    return "\n\n".join(parts)[:chars].rstrip() + "\n\nThe end."


PAGE = ("https://tides.example/moon", "How the Moon drives tides")


async def _answered(world: World, slack: FakeSlack, claude: FakeAnthropic, answer: str) -> str:
    cited = Citation("The Moon pulls the oceans.", *PAGE, "the moon pulls")
    claude.respond("subagent", lambda c: Reply(text="Findings. ", citations=[cited]))
    claude.respond("integrator", lambda c: Reply(text=answer, latency=1.0))
    await world.command("compare the options", user="U42")
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: not world.deps.runs.running, within=60)
    await eventually(lambda: "subtasks done" in thread_text(slack.thread("C1", root)))
    return root


def _answer_messages(slack: FakeSlack, root: str) -> list[Message]:
    """The thread's messages after the plan (the answer, and anything after it)."""
    return slack.thread("C1", root)[2:]


async def test_a_long_answer_becomes_one_canvas_linked_from_one_short_message(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.strict_rate_limits = True  # and no limit is broken on the way
    answer = long_answer(30_000)
    root = await _answered(world, fake_slack, fake_claude, answer)

    assert len(fake_slack.canvases) == 1
    canvas = next(iter(fake_slack.canvases.values()))
    assert canvas.title == "compare the options"
    assert canvas.access == {"C1": "read"}
    # The whole answer: its headings, every row of its table, its citations and Sources list.
    assert "# Findings" in canvas.markdown
    assert all(f"| option {i} |" in canvas.markdown for i in range(40))
    assert "## Section" in canvas.markdown
    assert "The end." in canvas.markdown
    assert "[1]" in canvas.markdown
    assert "Sources" in canvas.markdown
    assert "tides.example" in canvas.markdown

    answered = _answer_messages(fake_slack, root)
    assert len(answered) == 1, [m.visible_text()[:80] for m in answered]
    message = answered[0]
    shown = message.visible_text()
    assert fake_slack.canvas_link(canvas.canvas_id) in str(message.blocks)
    assert "The short version comes first." in shown
    markdown = "".join(b["text"] for b in message.blocks if b.get("type") == "markdown")
    assert len(markdown) <= OPENING_CHARS + 200  # the opening (escaping may add a little)
    assert "subtasks done" in shown  # the footer
    assert notes.CANVAS_COMING.strip("_") not in shown
    assert fake_slack.rate_limited_count == 0
    assert all(c.status == 200 for c in fake_slack.calls if c.method.startswith("canvases."))
    # The run records its canvas, for a Retry or Re-run to update.
    run_id = (await world.deps.store.recent_runs(limit=1))[0].run_id
    assert await world.deps.store.canvas_of(run_id) == canvas.canvas_id


@pytest.mark.slow
async def test_while_it_is_written_the_message_stops_at_the_opening(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = long_answer(12_000)
    fake_claude.respond("integrator", lambda c: Reply(text=answer, latency=4.0))
    await world.command("compare the options", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(
        lambda: notes.CANVAS_COMING.strip("_") in thread_text(fake_slack.thread("C1", root)),
        within=30,
    )
    await eventually(lambda: not world.deps.runs.running, within=60)
    answered = _answer_messages(fake_slack, root)
    assert len(answered) == 1
    # Once it said so, the message was not edited again until the canvas's link.
    edits = [
        c for c in fake_slack.calls if c.method == "chat.update" and c.args["ts"] == answered[0].ts
    ]
    coming = [i for i, c in enumerate(edits) if notes.CANVAS_COMING[1:20] in str(c.args)]
    assert len(edits) - (coming[0] if coming else -1) <= 2
    assert len(fake_slack.canvases) == 1


@pytest.mark.parametrize(
    "refusal",
    ["free_team", "missing_scope", "canvas_creation_failed"],
)
@pytest.mark.slow
async def test_where_canvases_are_refused_the_whole_answer_goes_as_messages(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, refusal: str
) -> None:
    if refusal == "free_team":
        fake_slack.free_team = True
    elif refusal == "missing_scope":
        fake_slack.scopes = fake_slack.scopes - {"canvases:write"}
    else:
        fake_slack.fail("canvases.create", error="canvas_creation_failed")
    answer = long_answer(30_000)
    root = await _answered(world, fake_slack, fake_claude, answer)

    assert not fake_slack.canvases
    shown = thread_text(_answer_messages(fake_slack, root))
    assert "The end." in shown
    assert all(f"option {i} " in shown for i in range(40))
    assert notes.CANVAS_COMING.strip("_") not in shown
    assert len(_answer_messages(fake_slack, root)) >= 3  # split as before


@pytest.mark.slow
async def test_download_posts_the_report_with_its_sources_in_the_thread(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = long_answer(30_000)
    root = await _answered(world, fake_slack, fake_claude, answer)
    [message] = _answer_messages(fake_slack, root)
    [button] = [
        e
        for b in message.blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == DOWNLOAD_ACTION
    ]
    assert button["text"]["text"] == notes.DOWNLOAD_LABEL
    await world.click(
        DOWNLOAD_ACTION, button["value"], message_ts=message.ts, user="U7", thread_ts=root
    )
    await eventually(lambda: any(m.files for m in fake_slack.thread("C1", root)))
    [shared] = [m for m in fake_slack.thread("C1", root) if m.files]
    assert shared.files[0]["name"] == "compare-the-options.md"
    uploaded = fake_slack.files[shared.files[0]["id"]].content or b""
    text = uploaded.decode()
    assert text.startswith("# compare the options")
    assert "The end." in text
    assert "tides.example" in text  # its Sources list
    assert [c.method for c in fake_slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
