"""A run whose answer became a canvas, stopped between canvases.create and the thread's final
edit (issue 23.1): SIGKILL or SIGTERM while the edit that links the canvas hangs. The restarted
process resumes the run, finds its canvas (the run store's `run_canvases`, keyed by the run's
own id) and edits it: one canvases.create for the run, and the thread links one canvas. The
real `python -m bot` over HTTP, against both fakes, with a SQLite store on disk."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, Message
from tests.e2e.test_canvas_report import long_answer
from tests.faults.conftest import eventually
from tests.faults.test_restarts import Bot, bots  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class _Hang:
    """Matches the first thread message that would link a canvas, that request only (the
    fake drops it after its delay; the restarted process's own message must go through)."""

    def __init__(self) -> None:
        self.held: dict[str, Any] | None = None

    @property
    def met(self) -> bool:
        return self.held is not None

    def __call__(self, args: dict[str, Any]) -> bool:
        if self.held is None and "/docs/" in str(args):
            if "asked Orchestra to research" in str(args.get("text")):
                return False  # the root's outcome line: the answer's message is the one
            self.held = args
        return args is self.held


def _linking(slack: FakeSlack, root: str) -> list[Message]:
    return [m for m in slack.thread("C1", root)[1:] if "/docs/" in str(m.blocks)]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("streamed", [False, True], ids=["posted", "streamed"])
async def test_a_run_stopped_after_its_canvas_was_made_resumes_into_that_canvas(
    bots: Callable[..., Bot],  # noqa: F811 - the fixture
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    sig: signal.Signals,
    streamed: bool,
) -> None:
    answers = iter(range(1, 10))
    fake_claude.respond(
        "integrator",
        lambda _: Reply(
            text=long_answer(8_000) + f"\n\nAnswer number {next(answers)}.",
            latency=3.0 if streamed else 0.0,  # streamed: the thread's message grows, then
        ),  # its final edit links the canvas; else the answer comes whole and is posted
    )
    # The thread's answer message, which would link the canvas, hangs (posted, the answer
    # having come whole; an edit of the streamed message where it streamed): the process
    # stops there, the canvas made and recorded.
    hang = _Hang()
    for method in ("chat.postMessage", "chat.update"):
        fake_slack.fail(method, match=hang, delay_s=120, reset=True, times=1)
    first = bots(ORCHESTRA_CANVAS_MIN_CHARS="3000")
    await first.start()
    await first.command("compare the tides", channel="C1")
    await eventually(lambda: bool(fake_slack.canvases), within=60)
    [canvas] = fake_slack.canvases.values()
    await eventually(lambda: hang.met, within=30)
    assert hang.held is not None
    assert ("ts" in hang.held) == streamed  # the streamed message's edit, or the post
    await first.stop(sig)

    second = bots(ORCHESTRA_CANVAS_MIN_CHARS="3000")
    await second.start()
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: len(_linking(fake_slack, root)) == 1, within=60)
    # The resumed run wrote its answer again (the first never reached the thread) into the
    # canvas it had made.
    assert "Answer number 2." in canvas.markdown
    assert canvas.edits == 2  # canvases.edit: replace, rename
    creates = [c for c in fake_slack.calls if c.method == "canvases.create"]
    assert len(creates) == 1  # the resumed run edited its canvas, never made another
    assert list(fake_slack.canvases) == [canvas.canvas_id]
    [linking] = _linking(fake_slack, root)
    assert fake_slack.canvas_link(canvas.canvas_id) in str(linking.blocks)
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]
