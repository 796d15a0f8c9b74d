"""End to end: model and user text is untrusted output. Whatever the models write, the thread
shows no live broadcast, no link that hides its destination, no message Slack refuses for its
size, and a text the splitter once looped forever on still arrives while the app keeps
answering."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.render.kit import block_text_chars
from bot.render.text import MESSAGE_BLOCKS_BUDGET
from pipeline import PipelineConfig
from pipeline.testing import simple_plan
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(messages_world: World) -> World:
    """Answers as messages, not a canvas: these tests are about the messages."""
    return messages_world


EVIL_ANSWER = (
    "Done. [Open the report](https://evil.example/x) and "
    "<https://evil.example/login|re-authenticate with Slack SSO>, then tell <!group> and "
    "<!channel> or @here. Source: [[1]](https://src.example/paper)"
)
# A Slack link whose label does not end in its own host, in any field we post.
_DISGUISED = re.compile(r"<https?://[^\s<>|]+\|[^<>]*>")


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01,
        retry_max_wait_s=1,
        call_timeout_s=5,
        max_attempts=2,
        max_subtasks=20,
    )


def posted(slack: FakeSlack) -> list[dict[str, Any]]:
    """The arguments of every message the app posted or edited."""
    return [c.args for c in slack.calls if c.method in ("chat.postMessage", "chat.update")]


def root_ts(slack: FakeSlack) -> str:
    return slack.channel_messages("C1")[0].ts


async def answered(slack: FakeSlack) -> str:
    """The thread's text once the answer's footer is in it."""

    def done() -> bool:
        return bool(slack.channel_messages("C1")) and "tokens in" in thread_text(
            slack.thread("C1", root_ts(slack))
        )

    await eventually(done, within=20)
    return thread_text(slack.thread("C1", root_ts(slack)))


def assert_no_live_control_sequence(slack: FakeSlack) -> None:
    everything = json.dumps(posted(slack), ensure_ascii=False)
    for live in ("<!group>", "<!channel>", "<!here>", "with Slack SSO>"):
        assert live not in everything
    for args in posted(slack):
        for link in _DISGUISED.findall(str(args.get("text", ""))):
            assert re.search(r"\([a-z0-9.-]+\)>$|\|[a-z0-9.-]+>$", link), link


async def test_a_models_disguised_links_show_their_host_everywhere(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", lambda c: Reply(text=EVIL_ANSWER))
    await world.command("summarise the incident, see [the ticket](https://tracker.example/1)")
    thread = await answered(fake_slack)
    assert "[Open the report (evil.example)](https://evil.example/x)" in thread
    assert "[re-authenticate with Slack SSO (evil.example)](https://evil.example/login)" in thread
    assert "[[1] (src.example)](https://src.example/paper)" in thread
    root = fake_slack.channel_messages("C1")[0].visible_text()
    assert "<https://tracker.example/1|the ticket (tracker.example)>" in root
    answer_text = [
        str(args["text"]) for args in posted(fake_slack) if "Open the report" in str(args["text"])
    ]
    assert answer_text
    assert "<https://evil.example/x|Open the report (evil.example)>" in answer_text[0]
    assert_no_live_control_sequence(fake_slack)


async def test_the_plain_text_fallback_shows_hosts_too(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", lambda c: Reply(text=EVIL_ANSWER))

    def has_markdown(args: dict[str, Any]) -> bool:
        return any(b.get("type") == "markdown" for b in args.get("blocks") or [])

    fake_slack.fail("chat.postMessage", error="invalid_blocks", times=None, match=has_markdown)
    await world.command("summarise the incident")
    thread = await answered(fake_slack)
    assert "<https://evil.example/login|re-authenticate with Slack SSO (evil.example)>" in thread
    assert_no_live_control_sequence(fake_slack)


async def test_an_answer_that_once_hung_the_splitter_arrives_and_the_app_keeps_answering(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = "```" + "a" * 13_000 + "\n" + "b" * 7_000 + "\nEND-OF-ANSWER"
    fake_claude.respond("integrator", lambda c: Reply(text=answer))
    await world.command("a pathological answer")
    thread = await answered(fake_slack)
    assert "END-OF-ANSWER" in thread
    assert thread.count("a") >= 13_000
    async with world.http.get(f"{world.app_url}/healthz") as health:
        assert health.status == 200
    errors = [c.response.get("error") for c in fake_slack.calls if not c.response.get("ok")]
    assert errors == []


async def test_a_twenty_subtask_plan_with_long_text_fits_every_edit(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    plan = simple_plan("goal", 20)
    for task in plan["subtasks"]:
        task["role"] = ("Compare <vendors> & [pricing](https://evil.example/p) " * 6)[:200]
    plan["goal"] = ("&<>" * 200)[:500]
    fake_claude.respond("orchestrator", lambda c: Reply(json=plan))
    fake_claude.respond("subagent", lambda c: Reply(text="Findings & <notes> " * 400))
    await world.command("compare twenty vendors")
    await answered(fake_slack)
    await eventually(lambda: not world.deps.runs.running)  # the plan's last edit follows
    for args in posted(fake_slack):
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        assert block_text_chars(blocks or []) <= MESSAGE_BLOCKS_BUDGET
    refused = [c for c in fake_slack.calls if not c.response.get("ok")]
    assert refused == []
    plan_message = fake_slack.thread("C1", root_ts(fake_slack))[1].visible_text()
    assert "Finished." in plan_message
    assert "(evil.example)" in plan_message
