"""Steering, plan review, the clarifying question, the deadline and Continue with replicas
(issue 22: "works the same with replicas"): three real `python -m bot` processes on one
PostgreSQL run store and one real Redis, driven over HTTP with signed requests, in front of
one fake Slack and one fake Claude, whose recorded requests say what each call carried.

Every case is taken in by a replica that does not own the run, and a takeover after SIGKILL
keeps the run's working time, its steers and its approval state. Leases last 2 s."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.render.messages import APPROVE_ACTION, CONTINUE_ACTION, EDIT_ACTION
from bot.render.notes import TAKEN_OVER, resumed
from bot.store import StoredRun
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_views import initial_values, submit_view
from tests.coordination.cluster import LEASE_S, SECRET, Cluster, Replica, cluster, mentioned
from tests.e2e.conftest import eventually, fake_claude, fake_slack, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

ANSWERED = "tokens in"  # the answer's footer: once per answer
STEER = "focus on operating costs"
DEADLINE_S = 10.0


@pytest.fixture
async def replicas(
    request: pytest.FixtureRequest,
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Three replicas with 2 s leases and the default deadline, or the deadline a test gives
    (`parametrize("replicas", [seconds], indirect=True)`)."""
    deadline_s = float(getattr(request, "param", 600))
    async with cluster(
        fake_slack,
        fake_claude,
        database_url=postgres_url,
        redis_url=redis_db_url,
        logs=tmp_path,
        ORCHESTRA_RUN_DEADLINE_S=str(deadline_s),
    ) as started:
        yield started
    for replica in started.replicas:
        assert "Traceback" not in replica.log(), replica.log()[-3000:]


WITH_DEADLINE = pytest.mark.parametrize(
    "replicas", [DEADLINE_S], indirect=True, ids=["10s-deadline"]
)


def aspect(call: CallInfo) -> int:
    """Which of the plan's subtasks (aspect n) a subagent call is for."""
    return next(n for n in range(1, 10) if f"aspect {n}" in call.system_text)


def aspects_called(claude: FakeAnthropic) -> list[int]:
    """The aspect of every subagent request so far, in order."""
    return [n for c in claude.calls_for("subagent") for n in range(1, 10) if _about(c.body, n)]


def _about(body: dict[str, object], n: int) -> bool:
    return f"aspect {n}" in str(body.get("system", ""))


def subagent_requests(claude: FakeAnthropic, n: int) -> list[str]:
    return [str(c.body["messages"]) for c in claude.calls_for("subagent") if _about(c.body, n)]


def text_of(slack: FakeSlack, ts: str, channel: str = "C1") -> str:
    return thread_text(slack.thread(channel, ts))


async def mention(
    replica: Replica,
    replicas: Cluster,
    slack: FakeSlack,
    text: str,
    *,
    user: str = "U1",
    thread_ts: str | None = None,
) -> str:
    """A mention of the app in C1 (in `thread_ts` when given) delivered to `replica`; its ts."""
    if thread_ts is None:
        ts, body, kind = mentioned(slack, "C1", text, user, f"Ev-{time.monotonic_ns()}")
    else:
        ts = slack.add_user_message("C1", user, text, thread_ts=thread_ts)
        body, kind = signing.mention_event(
            text=text, user=user, channel="C1", ts=ts, thread_ts=thread_ts, event_id=f"Ev{ts}"
        )
    assert await replica.post(body, kind, http=replicas.http) == 200
    return ts


async def click(
    replica: Replica,
    replicas: Cluster,
    slack: FakeSlack,
    action_id: str,
    run: StoredRun,
    *,
    user: str = "U1",
) -> int:
    """A click of a button on the run's plan message, delivered to `replica`."""
    assert run.plan_ts is not None
    body, kind = signing.block_action(
        action_id=action_id,
        value=run.run_id,
        user=user,
        channel=run.channel,
        message_ts=run.plan_ts,
        thread_ts=run.thread_ts,
        response_url=slack.response_url,
        trigger_id=slack.issue_trigger(user),
    )
    return await replica.post(body, kind, http=replicas.http)


async def the_run(replicas: Cluster) -> StoredRun:
    [run] = await replicas.runs()
    return run


async def until(check: object, within: float = 20) -> None:
    """Until the async `check()` holds (another process's state, read from the store)."""
    assert callable(check)
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - other processes' state
            await asyncio.sleep(0.05)


async def waiting_for_approval(replicas: Cluster, slack: FakeSlack, root: str) -> StoredRun:
    """Once the run's plan waits for approval with its buttons: the run."""
    await eventually(lambda: "Waiting for" in text_of(slack, root), within=20)

    async def has_plan_ts() -> bool:
        runs = await replicas.runs()
        return len(runs) == 1 and runs[0].plan_ts is not None

    await until(has_plan_ts)
    return await the_run(replicas)


async def test_a_steer_mentioned_at_a_replica_that_does_not_own_the_run_reaches_its_later_calls(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # s2 waits for s1, and s1 answers only once released: s2 starts after the steer.
    release = asyncio.Event()
    fake_claude.respond_plan(simple_plan("compare queues", 2, depends={"s2": ["s1"]}))

    async def subagent(call: CallInfo) -> Reply:
        if aspect(call) == 1:
            await release.wait()
        return Reply(text=f"Result {aspect(call)}.")

    fake_claude.respond("subagent", subagent)
    owner, elsewhere, _ = replicas.replicas
    root = await mention(owner, replicas, fake_slack, "<@UBOT> compare message queues")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 1, within=20)
    run = await the_run(replicas)
    assert owner.owns(run)
    assert not elsewhere.owns(run)

    sent = time.monotonic()
    await mention(elsewhere, replicas, fake_slack, f"<@UBOT> {STEER}", user="U2", thread_ts=root)
    await eventually(lambda: "Steering noted" in text_of(fake_slack, root), within=2)
    assert time.monotonic() - sent <= 2.0
    note = next(m for m in fake_slack.thread("C1", root) if "Steering noted" in m.visible_text())
    assert "<@U2>" in note.text
    assert STEER in note.text

    release.set()
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=30)
    await replicas.idle()
    [first] = subagent_requests(fake_claude, 1)
    [second] = subagent_requests(fake_claude, 2)
    assert STEER not in first  # it had started before
    assert STEER in second
    [integrator] = fake_claude.calls_for("integrator")
    assert f"<steering>\\n1. from <@U2>: {STEER}\\n</steering>" in str(integrator.body["messages"])
    assert len(fake_claude.calls_for("orchestrator")) == 1  # no new run
    assert [r.run_id for r in await replicas.runs()] == [run.run_id]
    assert owner.owns(await the_run(replicas))  # the owner answered it: nothing taken over


async def test_approve_at_other_replicas_starts_the_waiting_run_once_and_refuses_another_person(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    owner, first, second = replicas.replicas
    root = await mention(owner, replicas, fake_slack, "<@UBOT> --review compare tides")
    run = await waiting_for_approval(replicas, fake_slack, root)
    assert owner.owns(run)

    assert await click(first, replicas, fake_slack, APPROVE_ACTION, run, user="U2") == 200
    await eventually(lambda: any("Only <@U1>" in t for t in fake_slack.visible_ephemeral("U2")))
    # Past a whole lease: the owner polls every 0.25 s (it would have started by now), and a
    # waiting run is still renewed by its owner, not taken over by another replica.
    await asyncio.sleep(LEASE_S * 2)
    assert fake_claude.calls_for("subagent") == []
    assert owner.owns(await the_run(replicas))

    # The requester double-clicks, the two clicks reaching two replicas that do not own it.
    clicks = [click(r, replicas, fake_slack, APPROVE_ACTION, run) for r in (first, second)]
    assert await asyncio.gather(*clicks) == [200, 200]
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=30)
    await replicas.idle()
    assert sorted(aspects_called(fake_claude)) == [1, 2, 3]  # started once
    assert len(fake_claude.calls_for("integrator")) == 1
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert text_of(fake_slack, root).count(ANSWERED) == 1
    done = await the_run(replicas)
    assert done.status == "succeeded"
    assert owner.owns(done)
    review = await replicas.store.review_of(run.run_id)
    assert review is not None
    assert (review.state, review.decided_by) == ("approved", "U1")


async def test_edits_submission_at_another_replica_runs_the_edited_plan_once(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    owner, opener, submitter = replicas.replicas
    root = await mention(owner, replicas, fake_slack, "<@UBOT> --review compare tides")
    run = await waiting_for_approval(replicas, fake_slack, root)
    assert owner.owns(run)

    assert await click(opener, replicas, fake_slack, EDIT_ACTION, run) == 200
    await eventually(lambda: bool(fake_slack.views.open))
    [opened] = fake_slack.views.open.values()
    assert initial_values(opened.view)["input:s2"] == "Describe aspect 2."
    edited = "Describe aspect 2, and only its operating costs."
    answer = await submit_view(
        fake_slack,
        f"{submitter.url}/slack/events",
        SECRET,
        opened.view_id,
        {"input:s2": edited, "title:s3": "", "input:s3": ""},
    )
    assert answer == {}  # the modal closed
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=30)
    await replicas.idle()
    assert sorted(aspects_called(fake_claude)) == [1, 2]  # once each; s3 removed
    assert any(edited in r for r in subagent_requests(fake_claude, 2))
    assert len(fake_claude.calls_for("integrator")) == 1
    plan = fake_slack.find("C1", str(run.plan_ts))
    assert plan is not None
    assert "aspect 3" not in plan.visible_text()  # the plan shows the edited plan
    review = await replicas.store.review_of(run.run_id)
    assert review is not None
    assert (review.state, review.edited) == ("approved", True)


async def test_a_clarifying_answer_mentioned_at_another_replica_continues_the_run(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    question = "Which coast do you mean?"
    fake_claude.respond_question(question, simple_plan("tides on a coast", 2))
    owner, elsewhere, _ = replicas.replicas
    root = await mention(owner, replicas, fake_slack, "<@UBOT> tell me about tides")
    await eventually(lambda: question in text_of(fake_slack, root), within=20)
    assert owner.owns(await the_run(replicas))

    await mention(elsewhere, replicas, fake_slack, "<@UBOT> the North Sea", thread_ts=root)
    await eventually(lambda: "planning now with your answer" in text_of(fake_slack, root))
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=30)
    await replicas.idle()
    _, planned = fake_claude.calls_for("orchestrator")
    assert "The person answered: the North Sea" in str(planned.body["messages"])
    assert sorted(aspects_called(fake_claude)) == [1, 2]
    assert "Steering noted" not in text_of(fake_slack, root)  # an answer, not a steer
    assert len(await replicas.runs()) == 1  # no new run


@WITH_DEADLINE
async def test_continue_at_two_other_replicas_runs_only_the_cut_subtask_once(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=1, hang=True))
    owner, first, second = replicas.replicas
    root = await mention(owner, replicas, fake_slack, "<@UBOT> compare tides")
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=DEADLINE_S + 15)
    await replicas.idle()
    assert "cut at the deadline" in text_of(fake_slack, root)
    run = await the_run(replicas)
    assert owner.owns(run)

    # The requester double-clicks Continue; the two clicks reach the other two replicas.
    clicks = [click(r, replicas, fake_slack, CONTINUE_ACTION, run) for r in (first, second)]
    assert await asyncio.gather(*clicks) == [200, 200]
    await eventually(lambda: text_of(fake_slack, root).count(ANSWERED) == 2, within=30)
    await replicas.idle()
    await asyncio.sleep(1)  # a second continued run would have called Claude by now
    assert sorted(aspects_called(fake_claude)) == [1, 2, 2, 3]  # s1 and s3 not called again
    assert len(fake_claude.calls_for("integrator")) == 2
    assert len(fake_claude.calls_for("orchestrator")) == 1
    runs = await replicas.runs()
    assert len(runs) == 2
    continued = next(r for r in runs if r.run_id != run.run_id)
    assert continued.status == "succeeded"
    assert not owner.owns(continued)  # started where the click was taken


def plan_with_approve(slack: FakeSlack, root: str) -> bool:
    return any(APPROVE_ACTION in str(m.blocks) for m in slack.thread("C1", root))


@WITH_DEADLINE
async def test_a_run_taken_over_after_sigkill_keeps_its_working_time_steers_and_approval(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # Approved, steered, subtasks 1 and 2 done, subtask 3 hanging in every replica.
    fake_claude.respond(
        "subagent",
        lambda call: Reply(text=f"Result {aspect(call)}.", latency=600 if aspect(call) == 3 else 0),
    )
    victim, approver, steerer = replicas.replicas
    root = await mention(victim, replicas, fake_slack, "<@UBOT> --review compare tides")
    run = await waiting_for_approval(replicas, fake_slack, root)
    assert victim.owns(run)
    assert await click(approver, replicas, fake_slack, APPROVE_ACTION, run) == 200
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3, within=20)
    await mention(steerer, replicas, fake_slack, f"<@UBOT> {STEER}", user="U2", thread_ts=root)
    await eventually(lambda: "Steering noted" in text_of(fake_slack, root), within=2)

    async def worked_a_while() -> bool:
        stored = await the_run(replicas)
        return (
            stored.work_s >= DEADLINE_S / 2 - 1
            and sum(s.state == "done" for s in stored.subtasks) == 2
        )

    await until(worked_a_while, within=DEADLINE_S)
    victim.signal(signal.SIGKILL)
    killed = time.monotonic()
    assert victim.process is not None
    await victim.process.wait()
    kept = (await the_run(replicas)).work_s

    survivors = replicas.replicas[1:]
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=DEADLINE_S + 15)
    took = time.monotonic() - killed
    await replicas.idle(survivors)
    text = text_of(fake_slack, root)
    assert resumed(2, 3, why=TAKEN_OVER) in text
    assert "cut at the deadline" in text
    assert text.count(ANSWERED) == 1
    done = await the_run(replicas)
    assert any(replica.owns(done) for replica in survivors)
    # The deadline went on from the time kept (a restarted one would end past kept + 10 s).
    assert DEADLINE_S <= done.work_s < DEADLINE_S + 3, f"{done.work_s:.1f}s worked in all"
    assert took < (DEADLINE_S - kept) + LEASE_S * 1.5 + 4, f"{took:.1f}s, {kept:.1f}s kept"
    # The approval held: no second wait for it, the plan not made again, done work reused.
    assert not plan_with_approve(fake_slack, root)
    assert text.count("Waiting for") == 0
    review = await replicas.store.review_of(run.run_id)
    assert review is not None
    assert review.state == "approved"
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert sorted(aspects_called(fake_claude)) == [1, 2, 3, 3]
    # The steer reached the subtask run again after the takeover and the integrator.
    before, after = subagent_requests(fake_claude, 3)
    assert STEER not in before
    assert STEER in after
    [integrator] = fake_claude.calls_for("integrator")
    assert f"from <@U2>: {STEER}" in str(integrator.body["messages"])


async def test_a_plan_awaiting_approval_when_its_owner_is_sigkilled_still_waits_and_approve_runs_it(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    victim, *survivors = replicas.replicas
    root = await mention(victim, replicas, fake_slack, "<@UBOT> --review compare tides")
    run = await waiting_for_approval(replicas, fake_slack, root)
    assert victim.owns(run)
    before = await replicas.store.review_of(run.run_id)
    assert before is not None
    victim.signal(signal.SIGKILL)
    assert victim.process is not None
    await victim.process.wait()

    async def taken_over() -> bool:
        stored = await the_run(replicas)
        return any(replica.owns(stored) for replica in survivors)

    await until(taken_over, within=LEASE_S * 3 + 10)
    stamp = f"<!date^{int(before.expires_at.timestamp())}^"
    await eventually(
        lambda: any(
            APPROVE_ACTION in str(m.blocks) and stamp in str(m.blocks)
            for m in fake_slack.thread("C1", root)
        ),
        within=10,
    )
    await asyncio.sleep(1)
    assert fake_claude.calls_for("subagent") == []  # still waiting: nothing runs
    after = await replicas.store.review_of(run.run_id)
    assert after is not None
    assert (after.state, after.expires_at) == ("awaiting", before.expires_at)

    heir = await the_run(replicas)
    [clicker] = [r for r in survivors if not r.owns(heir)]
    assert await click(clicker, replicas, fake_slack, APPROVE_ACTION, heir) == 200
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=30)
    await replicas.idle(survivors)
    assert sorted(aspects_called(fake_claude)) == [1, 2, 3]
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert text_of(fake_slack, root).count(ANSWERED) == 1


async def test_an_open_question_stays_open_after_its_owner_is_sigkilled_and_an_answer_plans_it(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    question = "Which coast do you mean?"
    fake_claude.respond_question(question, simple_plan("tides on a coast", 2))
    victim, *survivors = replicas.replicas
    root = await mention(victim, replicas, fake_slack, "<@UBOT> tell me about tides")
    await eventually(lambda: question in text_of(fake_slack, root), within=20)
    run = await the_run(replicas)
    assert victim.owns(run)
    victim.signal(signal.SIGKILL)
    assert victim.process is not None
    await victim.process.wait()

    async def taken_over() -> bool:
        stored = await the_run(replicas)
        return any(replica.owns(stored) for replica in survivors)

    await until(taken_over, within=LEASE_S * 3 + 10)
    await eventually(lambda: "Resumed" in text_of(fake_slack, root))
    await asyncio.sleep(1)  # a run that asked again would have called by now
    assert len(fake_claude.calls_for("orchestrator")) == 1  # not asked again: it waits
    assert text_of(fake_slack, root).count(question) == 1

    heir = await the_run(replicas)
    [elsewhere] = [r for r in survivors if not r.owns(heir)]
    await mention(elsewhere, replicas, fake_slack, "<@UBOT> the North Sea", thread_ts=root)
    await eventually(lambda: ANSWERED in text_of(fake_slack, root), within=30)
    await replicas.idle(survivors)
    _, planned = fake_claude.calls_for("orchestrator")
    assert "The person answered: the North Sea" in str(planned.body["messages"])
    assert sorted(aspects_called(fake_claude)) == [1, 2]
    assert text_of(fake_slack, root).count(ANSWERED) == 1


async def test_in_a_dm_approve_and_a_steer_taken_at_other_replicas_reach_the_owners_run(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    release = asyncio.Event()
    fake_claude.respond_plan(simple_plan("compare queues", 2, depends={"s2": ["s1"]}))

    async def subagent(call: CallInfo) -> Reply:
        if aspect(call) == 1:
            await release.wait()
        return Reply(text=f"Result {aspect(call)}.")

    fake_claude.respond("subagent", subagent)
    owner, approver, steerer = replicas.replicas

    async def dm(replica: Replica, text: str, thread_ts: str | None = None) -> str:
        ts = fake_slack.add_user_message("D1", "U1", text, thread_ts)
        body, kind = signing.dm_message(
            text=text, user="U1", channel="D1", ts=ts, thread_ts=thread_ts, event_id=f"Ev{ts}"
        )
        assert await replica.post(body, kind, http=replicas.http) == 200
        return ts

    root = await dm(owner, "--review compare message queues")
    await eventually(
        lambda: any(APPROVE_ACTION in str(m.blocks) for m in fake_slack.thread("D1", root)),
        within=20,
    )
    run = await the_run(replicas)
    assert owner.owns(run)
    buttons = next(m.ts for m in fake_slack.thread("D1", root) if APPROVE_ACTION in str(m.blocks))
    body, kind = signing.block_action(
        action_id=APPROVE_ACTION,
        value=run.run_id,
        user="U1",
        channel="D1",
        message_ts=buttons,
        thread_ts=root,
        trigger_id=fake_slack.issue_trigger("U1"),
    )
    assert await approver.post(body, kind, http=replicas.http) == 200
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 1, within=20)

    sent = time.monotonic()
    await dm(steerer, STEER, thread_ts=root)  # no mention needed in a DM
    await eventually(lambda: "Steering noted" in text_of(fake_slack, root, "D1"), within=2)
    assert time.monotonic() - sent <= 2.0
    release.set()
    await eventually(lambda: bool(fake_claude.calls_for("integrator")), within=30)
    await replicas.idle()
    [first] = subagent_requests(fake_claude, 1)
    [second] = subagent_requests(fake_claude, 2)
    assert STEER not in first
    assert STEER in second
    [integrator] = fake_claude.calls_for("integrator")
    assert STEER in str(integrator.body["messages"])
    assert len(fake_claude.calls_for("orchestrator")) == 1
    done = await the_run(replicas)
    assert (done.status, owner.owns(done)) == ("succeeded", True)
