"""What Slack shows only to the sandbox's person ("Only visible to you"), and where.

Slack shows an ephemeral message in the thread it was aimed at (and not at all if that thread
does not exist yet: the fake records that as `shown`), else in the channel; a command's ack
text and its response_url replies in the channel where the command ran. Ephemerals are not
stored by Slack: a reload of the client drops them. The page does the same: each page load
starts a session (`count()` at that moment) and shows only the notes that came after it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.fakes.slack import FakeSlack


@dataclass(frozen=True)
class PrivateNote:
    """One private message, placed in the channel (`thread_ts` None) or in a thread."""

    ts: str  # when it appeared, so it sits among the messages posted around it
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class PrivateNotes:
    """The private messages one person got in one channel, oldest first."""

    def __init__(self, slack: FakeSlack, user: str, channel: str) -> None:
        self._slack = slack
        self.user, self.channel = user, channel
        self._notes: list[PrivateNote] = []
        self._seen_ephemerals = 0
        self._seen_responses = 0

    def add(
        self, text: str, thread_ts: str | None, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """A note the page itself shows (a command's ack text, where a command went)."""
        self._notes.append(PrivateNote(f"{time.time():.6f}", thread_ts, text, blocks or []))

    def sync(self) -> bool:
        """Take in what the app sent since the last call; whether there was anything new."""
        before = len(self._notes)
        ephemerals = self._slack.ephemerals
        for ephemeral in ephemerals[self._seen_ephemerals :]:
            if ephemeral.shown and (ephemeral.user, ephemeral.channel) == (
                self.user,
                self.channel,
            ):
                self.add(ephemeral.text, ephemeral.thread_ts)
        self._seen_ephemerals = len(ephemerals)
        # response_urls of the page's own commands: shown in the channel they ran in.
        responses = self._slack.responses
        for response in responses[self._seen_responses :]:
            if response.get("response_type", "ephemeral") == "ephemeral":
                blocks = response.get("blocks")
                self.add(
                    str(response.get("text", "")),
                    None,
                    blocks if isinstance(blocks, list) else None,
                )
        self._seen_responses = len(responses)
        return len(self._notes) > before

    def count(self) -> int:
        """How many notes there are: a new session shows only the ones after this."""
        return len(self._notes)

    def shown(self, since: int, thread_ts: str | None) -> list[PrivateNote]:
        """The notes of a session that started at `since`, in the channel or one thread."""
        return [n for n in self._notes[max(since, 0) :] if n.thread_ts == thread_ts]
