"""Who may see which runs: the rule (property-based, over any IDs and memberships), the
sentences that quote a person's runs (any goal text), which messages count as a person's,
and `Visibility` asking the fake Slack over HTTP: only about others' runs, once per minute,
page by page, failing closed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.listeners.requests import from_a_person
from bot.render import notes
from bot.render.history import goal_link
from bot.runs.visibility import Kind, Viewer, Visibility, may_see
from bot.slack.client import make_slack_client
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_directory import APP_SCOPES

FAST = settings(deadline=timedelta(seconds=2))
ids = st.sampled_from(["U1", "U2", "U3", "", "C1", "G1", "D1"])
kinds = st.sampled_from([*get_args(Kind), None])
viewers = st.builds(Viewer, ids, st.booleans(), st.frozensets(ids))


@FAST
@given(viewers, ids, ids, kinds)
def test_a_person_sees_only_what_slack_shows_them(
    viewer: Viewer, requester: str, channel: str, kind: Kind | None
) -> None:
    seen = may_see(viewer, requester, channel, kind)
    own = bool(requester) and requester == viewer.user
    if own:
        assert seen  # their own runs, wherever they asked
    elif kind is None or kind == "dm":
        assert not seen  # never another person's DM; nothing Slack could not vouch for
    elif kind == "private" or viewer.guest:
        assert seen == (channel in viewer.member_of)
    else:
        assert seen  # a public channel, for a member of the workspace
    as_guest = Viewer(viewer.user, True, viewer.member_of)
    assert not may_see(as_guest, requester, channel, kind) or seen  # a guest sees no more


goal_text = st.lists(
    st.sampled_from([*"ab <>|&*_~`@!#:/.\n", "<@U1>", "<!here>", "<http://x|y>", "&gt;"]),
    max_size=60,
).map("".join)


@FAST
@given(st.lists(goal_text, max_size=8), st.integers(0, 5), st.integers(1, 20))
def test_the_limit_reply_says_the_number_it_lists_whatever_the_goals(
    goals: list[str], starting: int, limit: int
) -> None:
    links = [
        goal_link("https://w.slack.com/", goal, "C1", f"1.{n}") for n, goal in enumerate(goals)
    ]
    text = notes.over_limit(limit, links, starting)
    going = len(goals) + starting
    assert "the limit per person" in text
    assert "<@" not in text.replace("<@U1>", "")  # a goal's own mention stays inert text
    assert len(text) < 4000
    if going == 0:
        return
    said = re.search(r"You already have (\d+) runs? going \((.*)\);", text, re.DOTALL)
    assert said
    assert int(said.group(1)) == going
    # Every goal is one link, whatever it holds: none can open or close another.
    assert len(re.findall(r"<https://w\.slack\.com/archives/[^|>]+\|[^<>]*>", text)) == len(goals)
    public = notes.over_limit_public(limit)
    assert "the limit per person" in public
    assert "<" not in public


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["user", "bot_id", "bot_profile", "subtype", "text"]),
        st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["bot_message", "U1"])),
    )
)
def test_only_a_person_s_own_message_counts_as_theirs(event: dict[str, Any]) -> None:
    by_app = bool(event.get("bot_id") or event.get("bot_profile"))
    by_integration = event.get("subtype") == "bot_message" or not event.get("user")
    assert from_a_person(event) == (not by_app and not by_integration)


@dataclass(frozen=True)
class Run:
    requester: str
    channel: str


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("U1", "Ann")
        fake.add_user("U2", "Bo")
        fake.add_user("U4", "Gus", guest="single")
        fake.add_channel("C1", "public_channel", ("U1",))
        fake.add_channel("G1", "private_channel", ("U1", "U2"))
        for n in range(5):  # more channels than a page holds
            fake.add_channel(f"C9{n}", "public_channel", ("U4",))
        fake.page_size = 2
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


RUNS = [Run("U1", "C1"), Run("U1", "G1"), Run("U1", "D1"), Run("U4", "C94"), Run("U2", "D2")]


async def test_visibility_asks_slack_about_others_runs_once_a_minute(slack: FakeSlack) -> None:
    clock = Clock()
    visibility = Visibility(make_slack_client(slack.bot_token, slack.api_url), clock=clock)
    shown = await visibility.visible("U1", RUNS[:3])
    assert shown.runs == RUNS[:3]
    assert slack.calls == []  # her own runs: nothing to ask
    bo = await visibility.visible("U2", RUNS)
    # Bo: the public channels, the private one he is in, his own DM; not Ann's DM.
    assert bo.runs == [Run("U1", "C1"), Run("U1", "G1"), Run("U4", "C94"), Run("U2", "D2")]
    assert bo.complete
    gus = await visibility.visible("U4", RUNS)
    assert gus.runs == [Run("U4", "C94")]  # a guest: no public channel he is not in
    asked = len(slack.calls)
    assert not any(c.args.get("channel", "").startswith("D") for c in slack.calls)
    slack.leave("G1", "U2")
    assert (await visibility.visible("U2", RUNS)).runs == bo.runs  # within the minute
    assert len(slack.calls) == asked
    clock.now += 61
    assert Run("U1", "G1") not in (await visibility.visible("U2", RUNS)).runs


async def test_visibility_pages_through_a_guests_channels(slack: FakeSlack) -> None:
    visibility = Visibility(make_slack_client(slack.bot_token, slack.api_url))
    slack.add_channel("C95", "public_channel", ("U4",))
    shown = await visibility.visible("U4", [Run("U1", "C95")])
    assert shown.runs == [Run("U1", "C95")]  # on the third page of his channels
    assert len(slack.calls_to("users.conversations")) == 3


async def test_what_slack_will_not_answer_stays_hidden(slack: FakeSlack) -> None:
    slack.scopes = APP_SCOPES - {"users:read"}
    visibility = Visibility(make_slack_client(slack.bot_token, slack.api_url))
    shown = await visibility.visible("U2", RUNS)
    assert shown.runs == [Run("U2", "D2")]  # only his own
    assert not shown.complete
