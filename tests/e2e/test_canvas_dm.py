"""End to end: a DM run's long answer becomes a canvas the DM's person can read (issue 23.1):
the native stream stops growing past ORCHESTRA_CANVAS_MIN_CHARS and ends with the answer's
opening and the canvas's link; no answer messages follow. Refused: the stream carries the
whole answer, as without canvases."""

from __future__ import annotations

import pytest

from bot.render.text import OPENING_CHARS
from pipeline import PipelineConfig
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually
from tests.e2e.test_canvas_report import long_answer

pytestmark = pytest.mark.e2e


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


async def _dm_answered(world: World, slack: FakeSlack, claude: FakeAnthropic, answer: str) -> str:
    claude.respond("integrator", lambda c: Reply(text=answer, latency=1.0))
    _, ts = await world.dm("compare the options", user="U1")
    await eventually(
        lambda: any(s.state != "streaming" for s in slack.streams_in("D1", ts)), within=60
    )
    await eventually(lambda: not world.deps.runs.running, within=30)
    return ts


@pytest.mark.slow
async def test_a_long_dm_answer_is_a_canvas_for_the_person_linked_from_the_stream(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.add_user("U1", "Ana")  # canvases.access.set knows its members
    ts = await _dm_answered(world, fake_slack, fake_claude, long_answer(30_000))
    [canvas] = fake_slack.canvases.values()
    assert canvas.access == {"U1": "read"}  # a DM is no channel: its person reads it
    assert "The end." in canvas.markdown
    assert all(f"| option {i} |" in canvas.markdown for i in range(40))

    [stream] = fake_slack.streams_in("D1", ts)
    shown = stream.text
    # The opening only (what was streamed before it outgrew the threshold, at most).
    assert "The short version comes first." in shown
    assert "The end." not in shown
    assert len(shown) <= OPENING_CHARS + 200 or not stream.writes[-1:]
    closing = str(stream.blocks)
    assert fake_slack.canvas_link(canvas.canvas_id) in closing or any(
        fake_slack.canvas_link(canvas.canvas_id) in str(m.blocks)
        for m in fake_slack.thread("D1", ts)
    )
    # No answer split into messages: the thread holds the request and the stream alone.
    assert [m.ts for m in fake_slack.thread("D1", ts)] == [ts, stream.ts]
    assert "The end." not in "\n".join(m.visible_text() for m in fake_slack.thread("D1", ts))
    errors = [c for c in fake_slack.calls if not c.response.get("ok")]
    assert errors == []


async def test_a_refused_dm_canvas_leaves_the_whole_answer_in_the_thread(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.free_team = True
    ts = await _dm_answered(world, fake_slack, fake_claude, long_answer(20_000))
    assert not fake_slack.canvases
    [stream] = fake_slack.streams_in("D1", ts)
    everything = stream.text + "\n".join(m.visible_text() for m in fake_slack.thread("D1", ts))
    assert "The end." in everything
    assert all(f"option {i} " in everything for i in range(40))
