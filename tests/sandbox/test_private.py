"""Private notes on the sandbox page: where Slack shows them, and for one session only."""

from __future__ import annotations

from sandbox.fakes.slack import Ephemeral, FakeSlack
from sandbox.private import PrivateNotes


def notes_of(slack: FakeSlack) -> PrivateNotes:
    return PrivateNotes(slack, "U1", "C1")


def test_an_ephemeral_goes_where_it_was_aimed() -> None:
    slack = FakeSlack()
    notes = notes_of(slack)
    slack.ephemerals += [
        Ephemeral("C1", "U1", "in the channel", None, shown=True),
        Ephemeral("C1", "U1", "in a thread", "1.0", shown=True),
    ]
    assert notes.sync()
    assert [n.text for n in notes.shown(0, None)] == ["in the channel"]
    assert [n.text for n in notes.shown(0, "1.0")] == ["in a thread"]


def test_what_slack_would_not_show_this_person_is_not_shown() -> None:
    slack = FakeSlack()
    notes = notes_of(slack)
    slack.ephemerals += [
        Ephemeral("C1", "U1", "aimed at a thread that does not exist", "9.0", shown=False),
        Ephemeral("C1", "U2", "someone else's", None, shown=True),
        Ephemeral("C2", "U1", "another channel", None, shown=True),
    ]
    assert not notes.sync()
    assert notes.count() == 0


def test_a_command_reply_shows_in_the_channel_with_its_blocks() -> None:
    slack = FakeSlack()
    notes = notes_of(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Recent runs"}}]
    slack.responses.append({"text": "history", "blocks": blocks, "response_type": "ephemeral"})
    slack.responses.append({"text": "for everyone", "response_type": "in_channel"})
    notes.sync()
    [note] = notes.shown(0, None)
    assert (note.text, note.blocks) == ("history", blocks)


def test_a_new_session_starts_empty_and_sees_what_comes_after() -> None:
    slack = FakeSlack()
    notes = notes_of(slack)
    notes.add("before the reload", None)
    session = notes.count()
    assert notes.shown(session, None) == []
    notes.add("after it", None)
    assert [n.text for n in notes.shown(session, None)] == ["after it"]
    notes.sync()
    notes.sync()  # taking in twice adds nothing twice
    assert notes.count() == 2
