"""When no service can say whether a delivery was seen before, the person is told to ask
again: no run starts (a duplicate could), and nothing is dropped silently."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from bot.coordination.dedupe import Claim
from bot.render import notes
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


class _Unreachable:
    """Neither Redis nor the store answers."""

    async def claim(self, keys: Sequence[str], ttl_s: float) -> Claim:
        return Claim.UNDECIDED


async def test_a_command_that_cannot_be_checked_is_refused_with_a_reason(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    runs = world.deps.runs
    runs.coordination = dataclasses.replace(runs.coordination, claims=_Unreachable())
    response = await world.command("research tides", user="U7")
    assert response.status == 200
    await eventually(lambda: any(notes.NOT_CHECKED in str(r) for r in fake_slack.responses))
    assert fake_slack.channel_messages("C1") == []
    assert fake_claude.calls == []
    assert world.deps.runs.admission.runs_of("U7") == []  # the person's slot is given back


async def test_a_mention_that_cannot_be_checked_is_refused_with_a_reason(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    runs = world.deps.runs
    runs.coordination = dataclasses.replace(runs.coordination, claims=_Unreachable())
    await world.mention("<@UBOT> research tides", user="U7", event_id="Ev9")
    await eventually(lambda: any(notes.NOT_CHECKED in e[2] for e in fake_slack.ephemeral))
    assert [m for m in fake_slack.channel_messages("C1") if m.bot_id] == []
    assert fake_claude.calls == []
