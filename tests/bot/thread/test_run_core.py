"""The run core drives its surface: which surface and store calls a run makes, in which
order, when it finishes, fails, is cancelled (by the pipeline or before it could report),
pauses for a restart, or goes quiet (another replica owns it now).

A fake surface and a fake journal write one shared log, so each test reads as the run's
life; the real surfaces are proved through the app (tests/e2e, tests/faults)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.render import notes
from bot.render.notes import Stop
from bot.slack.requester import Requester
from bot.thread.core import Refused, RunCore, RunState
from bot.thread.journal import Journal
from pipeline import IntegrationDelta, RunCancelled, RunFailed, RunFinished, RunResult, RunStarted
from pipeline.llm import Usage
from pipeline.view import RunView

Log = list[tuple[Any, ...]]


class FakeSurface:
    def __init__(self, log: Log, *, refuse: Refused | None = None, thread: bool = True) -> None:
        self.log, self._refuse, self._thread = log, refuse, thread
        self.thread_ts: str | None = None
        self.plan_ts: str | None = None
        self.poster: Any = None

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None, note: str | None
    ) -> Refused | None:
        self.log.append(("open", thread_ts, plan_ts, note))
        if self._refuse is None:
            self.thread_ts, self.plan_ts = thread_ts, "plan-1"
        return self._refuse

    async def show(self, event: Any) -> None:
        self.log.append(("show", type(event).__name__))

    def waiting(self) -> None:
        self.log.append(("waiting",))

    async def reviewing(self, note: str) -> None:
        self.log.append(("reviewing", note))

    async def finished(self, result: RunResult) -> None:
        self.log.append(("finished", result.status))

    async def failed(self, result: RunResult) -> None:
        self.log.append(("failed",))

    async def stopped(self, stop: Stop, result: RunResult) -> None:
        self.log.append(("stopped", stop.reason))

    async def stopped_early(self, stop: Stop) -> bool:
        self.log.append(("stopped_early", stop.reason))
        return self._thread

    async def paused(self) -> None:
        self.log.append(("paused",))

    async def plan_over(self) -> None:
        self.log.append(("plan_over",))

    async def outcome(self) -> None:
        self.log.append(("outcome",))

    async def quiet(self) -> None:
        self.log.append(("quiet",))

    async def close(self) -> None:
        self.log.append(("close",))


class FakeJournal:
    """The store's side of the log: each write the core makes, by name."""

    def __init__(self, log: Log) -> None:
        self.log = log

    async def record(self, event: Any) -> None:
        self.log.append(("journal.record", type(event).__name__))

    async def finished(self, result: RunResult, status: str, *, ended_by: str | None) -> None:
        self.log.append(("journal.finished", status, ended_by))

    async def paused(self) -> None:
        self.log.append(("journal.paused",))

    async def cancelled_early(self, by: str | None) -> None:
        self.log.append(("journal.cancelled_early", by))

    async def abandoned(self, reason: str) -> None:
        self.log.append(("journal.abandoned", reason))

    async def running(self) -> None:
        self.log.append(("journal.running",))

    async def context(self, context: str | None) -> None:
        self.log.append(("journal.context", context))


class FakeRequester:
    channel, user = "C1", "U1"

    def __init__(self, log: Log) -> None:
        self.log = log

    async def tell(self, text: str) -> None:
        self.log.append(("tell", text))


def _run(**surface: Any) -> tuple[RunCore, Log]:
    log: Log = []
    requester = cast(Requester, FakeRequester(log))
    state = RunState("r1", "the goal", requester, RunView("r1", goal="the goal"))
    core = RunCore(state, cast(Journal, FakeJournal(log)), FakeSurface(log, **surface))
    return core, log


def _result(status: Any = "succeeded") -> RunResult:
    return RunResult("r1", "the goal", status, None, {}, "answer", {}, Usage(), 0.0, 1.0)


async def _opened(**surface: Any) -> tuple[RunCore, Log]:
    core, log = _run(**surface)
    assert await core.open("T1")
    log.clear()
    return core, log


async def test_a_run_that_finishes_shows_the_answer_then_records_its_end_then_the_outcome() -> None:
    core, log = await _opened()
    await core(RunStarted(run_id="r1", at=0.0, goal="the goal"))
    await core(IntegrationDelta(run_id="r1", at=1.0, delta="a", text="a"))
    await core(RunFinished(run_id="r1", at=2.0, result=_result("partial")))
    await core.close()
    assert log == [
        ("journal.record", "RunStarted"),
        ("show", "RunStarted"),
        ("journal.record", "IntegrationDelta"),
        ("show", "IntegrationDelta"),
        ("journal.record", "RunFinished"),
        ("finished", "partial"),
        ("journal.finished", "partial", None),
        ("plan_over",),
        ("outcome",),
        ("close",),
    ]
    assert core.ended
    assert core.view.phase == "finished"


async def test_a_run_that_fails_says_why_before_its_end_is_recorded() -> None:
    core, log = await _opened()
    await core(RunFailed(run_id="r1", at=1.0, result=_result("failed")))
    assert log == [
        ("journal.record", "RunFailed"),
        ("failed",),
        ("journal.finished", "failed", None),
        ("plan_over",),
        ("outcome",),
    ]
    assert core.ended


async def test_a_cancelled_run_says_where_it_stopped_and_who_stopped_it() -> None:
    core, log = await _opened()
    core.stopping(Stop("cancelled_by_user", by="U2"))
    await core(RunCancelled(run_id="r1", at=1.0, result=_result("cancelled")))
    assert log == [
        ("journal.record", "RunCancelled"),
        ("stopped", "cancelled_by_user"),
        ("journal.finished", "cancelled", "U2"),
        ("plan_over",),
        ("outcome",),
    ]
    assert core.ended


async def test_a_run_paused_for_a_restart_says_so_first_and_shows_no_outcome() -> None:
    core, log = await _opened()
    await core.pause()
    await core(RunCancelled(run_id="r1", at=1.0, result=_result("cancelled")))
    await core.interrupted()  # its end was told already: nothing more
    assert log == [
        ("journal.paused",),
        ("paused",),
        ("journal.record", "RunCancelled"),
        ("stopped", "restart"),
        ("journal.paused",),
        ("plan_over",),
    ]
    assert core.stop == Stop("restart")


async def test_a_run_cancelled_before_the_pipeline_reported_it() -> None:
    core, log = await _opened()
    core.stopping(Stop("cancelled_by_user", by="U2"))
    await core.interrupted()
    assert log == [
        ("plan_over",),
        ("stopped_early", "cancelled_by_user"),
        ("journal.cancelled_early", "U2"),
        ("outcome",),
    ]
    assert core.view.phase == "cancelled"
    assert core.ended


async def test_with_no_thread_to_say_it_in_the_requester_is_told() -> None:
    core, log = await _opened(thread=False)
    await core.interrupted()
    assert log[1] == ("stopped_early", "cancelled_by_user")
    assert log[2][0] == "tell"
    assert "the goal" in log[2][1]
    assert log[3:] == [("journal.cancelled_early", None), ("outcome",)]


async def test_a_run_that_goes_quiet_writes_nothing_more() -> None:
    core, log = await _opened()
    core.stopping(Stop("cancelled_by_user", by="U2"))
    core.stopping(Stop("moved"))  # losing the run outranks any earlier reason
    await core(RunFinished(run_id="r1", at=1.0, result=_result()))
    await core.interrupted()
    await core.close()
    assert log == [("quiet",), ("quiet",), ("close",)]
    assert not core.ended
    core.stopping(Stop("cancelled_by_user"))  # and no later reason replaces it
    assert core.stop == Stop("moved")


async def test_a_run_slack_will_not_show_is_abandoned_and_its_requester_told() -> None:
    core, log = _run(refuse=Refused("not_in_channel", "I can't post there."))
    assert not await core.open(None, note="why")
    assert log == [
        ("open", None, None, "why"),
        ("tell", "I can't post there."),
        ("journal.abandoned", "not_in_channel"),
    ]
    assert core.ended


async def test_queue_position_and_review_reach_the_surface_only_when_they_change() -> None:
    core, log = await _opened()
    core.waiting(2)
    core.waiting(2)
    core.waiting(1)
    await core.reviewing("until 5 pm")
    await core.starting()
    await core.starting()
    assert log == [
        ("waiting",),
        ("waiting",),
        ("reviewing", "until 5 pm"),
        ("waiting",),
        ("journal.running",),
        ("journal.running",),
    ]
    assert core.queued_ahead is None


async def test_an_output_is_posted_once_and_not_without_a_thread() -> None:
    log: Log = []
    surface = FakeSurface(log)
    state = RunState("r1", "g", cast(Requester, FakeRequester(log)), RunView("r1", goal="g"))
    core = RunCore(state, cast(Journal, FakeJournal(log)), surface)
    assert await core.post_output("s1", "researcher", "text") == notes.NO_THREAD
    assert "s1" not in core.outputs_posted

    posted: list[Any] = []

    class Poster:
        async def post_or_report(self, message: Any, what: str) -> list[str] | None:
            posted.append(message)
            return ["ts"]

    surface.poster = Poster()
    assert await core.post_output("s1", "researcher", "text") is None
    assert posted
    assert await core.post_output("s1", "researcher", "text") == notes.OUTPUT_POSTED


@pytest.mark.parametrize("reason", ["cancelled_by_user", "restart"])
async def test_an_interrupted_run_is_ended_once(reason: Any) -> None:
    core, log = await _opened()
    core.stopping(Stop(reason))
    await core.interrupted()
    first = list(log)
    await core.interrupted()
    assert log == first
    if reason == "restart":
        assert first == [("plan_over",), ("journal.paused",)]
