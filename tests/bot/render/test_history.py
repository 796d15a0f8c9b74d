"""History and App Home rendering: escaped goals, links to threads, within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.render.history import Spend, history_blocks, home_view, run_line, thread_link
from bot.store import RunSummary

WORKSPACE = "https://team.slack.com/"


def summary(goal: str = "compare queues", **changes: object) -> RunSummary:
    values: dict[str, object] = {
        "run_id": "r1",
        "workspace": "T1",
        "goal": goal,
        "requester": "U1",
        "channel": "C1",
        "thread_ts": "1700000000.000100",
        "status": "succeeded",
        "cost_usd": 0.0123,
        "parent_run_id": None,
        "created_at": datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        "finished_at": None,
        **changes,
    }
    return RunSummary(**values)  # type: ignore[arg-type]


def test_a_run_line_links_its_thread_and_names_who_asked() -> None:
    line = run_line(summary(), WORKSPACE)
    assert "<https://team.slack.com/archives/C1/p1700000000000100|thread>" in line
    assert "<@U1>" in line
    assert "$0.0123" in line
    assert "answered" in line


def test_unknown_cost_and_missing_thread_are_said_plainly() -> None:
    line = run_line(summary(cost_usd=None, thread_ts=None, status="running"), WORKSPACE)
    assert "cost unknown" in line
    assert "<#C1>" in line
    assert thread_link(WORKSPACE, "C1", None) == ""


def test_a_goal_cannot_ping_and_its_links_show_their_host() -> None:
    line = run_line(summary(goal="<!channel> see <https://evil.example|docs>"), WORKSPACE)
    assert "<!channel>" not in line
    assert "docs (evil.example)" in line  # a person's link shows where it goes


def test_history_lists_the_channel_runs_or_says_there_are_none() -> None:
    text, blocks = history_blocks([summary(), summary(goal="tides")], "C1", WORKSPACE)
    assert "<#C1>" in text
    assert len(blocks) == 3
    _, empty = history_blocks([], "C1", WORKSPACE)
    assert "No runs" in str(empty)


def test_home_shows_mine_the_team_and_spend() -> None:
    view = home_view(
        [summary()], [summary(), summary(requester="U2")], Spend(1.5, 12.25), WORKSPACE, "/research"
    )
    assert view["type"] == "home"
    rendered = str(view["blocks"])
    assert "$1.50" in rendered
    assert "$12.25" in rendered
    assert "Your recent runs" in rendered
    assert len(view["blocks"]) <= 100


@given(goal=st.text(max_size=5000))
def test_any_goal_renders_within_a_section(goal: str) -> None:
    _, blocks = history_blocks([summary(goal=goal)], "C1", WORKSPACE)
    for block in blocks:
        assert len(block["text"]["text"]) <= 3000


def test_a_run_line_sets_its_estimate_beside_what_it_cost_and_took() -> None:
    line = run_line(
        summary(cost_usd=0.0512, estimate_usd=0.04, estimate_s=75.0, work_s=52.4), WORKSPACE
    )
    assert "estimated $0.04 and 75 s; took $0.05 and 52 s" in line
    running = run_line(
        summary(status="running", estimate_usd=None, estimate_s=200.0, work_s=3.0), WORKSPACE
    )
    assert "estimated an unknown cost and 3 min" in running
    assert "took" not in running  # not finished: nothing to compare yet
    assert "estimated" not in run_line(summary(), WORKSPACE)  # no estimate was made
