"""The leading switches of a goal: what they ask for, and the goal left intact."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.listeners.flags import SWITCHES, Flags, parse_flags


def test_review_and_no_review_at_the_start() -> None:
    assert parse_flags("--review compare queues") == (Flags(review=True), "compare queues")
    assert parse_flags("--no-review compare") == (Flags(review=False), "compare")
    assert parse_flags("  --REVIEW   x") == (Flags(review=True), "x")


def test_a_dash_slack_made_of_two_hyphens_counts() -> None:
    assert parse_flags("\u2014review x") == (Flags(review=True), "x")
    assert parse_flags("\u2013no-review x") == (Flags(review=False), "x")


def test_only_leading_switches_count() -> None:
    assert parse_flags("compare --review tools") == (Flags(), "compare --review tools")
    assert parse_flags("--reviewer x") == (Flags(), "--reviewer x")
    assert parse_flags("--unknown --review x") == (Flags(), "--unknown --review x")


def test_the_last_switch_for_a_field_wins() -> None:
    assert parse_flags("--review --no-review x") == (Flags(review=False), "x")


def test_a_switch_alone_leaves_an_empty_goal() -> None:
    assert parse_flags("--review") == (Flags(review=True), "")


_words = st.sampled_from([f"--{w}" for w in SWITCHES])
# A goal that does not itself start with a switch (then it would be one more switch).
_goals = st.text(max_size=200).filter(lambda goal: parse_flags(goal)[0] == Flags())


@given(st.lists(_words, max_size=4), _goals)
def test_switches_are_read_and_the_goal_after_them_kept_whole(
    switches: list[str], goal: str
) -> None:
    flags, rest = parse_flags(" ".join([*switches, goal]))
    # Per field, the last switch for it wins (review, and effort from issue 22.4).
    expected: dict[str, object] = {}
    for word in switches:
        field, value = SWITCHES[word.removeprefix("--")]
        expected[field] = value
    assert flags.review is expected.get("review")
    assert flags.effort == expected.get("effort")
    assert rest == (goal.lstrip() if switches else goal)


@given(st.text(max_size=300))
def test_any_text_parses_to_a_tail_of_itself(text: str) -> None:
    flags, rest = parse_flags(text)
    assert isinstance(flags, Flags)
    assert text.endswith(rest)


def test_effort_switches() -> None:
    assert parse_flags("--quick x") == (Flags(effort="quick"), "x")
    assert parse_flags("--deep --review x") == (Flags(review=True, effort="deep"), "x")


def test_bad_switches_get_a_clear_sentence() -> None:
    from bot.listeners.flags import flag_problem

    assert flag_problem("--quick --deep compare") is not None
    assert "--qiuck" in (flag_problem("--qiuck compare") or "")
    assert flag_problem("--quick compare --deep") is None
    assert flag_problem("compare --nonsense") is None


@given(st.text(max_size=300))
def test_any_text_is_judged_without_error(text: str) -> None:
    from bot.listeners.flags import flag_problem

    problem = flag_problem(text)
    assert problem is None or isinstance(problem, str)
