"""A run's long answer as a Slack canvas: made (or an earlier run's edited), shared with the
run's channel, recorded with the run. Any refusal returns None: the caller posts the answer as
messages, exactly as without canvases, so nothing is lost."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.render import notes
from bot.render.report import canvas_markdown, canvas_title
from bot.render.text import CANVAS_MARKDOWN_LIMIT
from bot.slack.canvases import CanvasIO
from pipeline import RunResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CanvasShown:
    """The canvas that holds the answer: its link, title, and how it came to hold it."""

    canvas_id: str
    link: str
    title: str
    how: notes.CanvasHow


@dataclass
class AnswerCanvas:
    """Where one run's answer goes once it is longer than `min_chars` (0: never)."""

    canvases: CanvasIO
    goal: str
    channel: str
    person: str  # the requester: the reader of a DM run's canvas
    min_chars: int
    link: Callable[[str], str]  # a canvas id -> its address ("" when unknown)
    earlier: Callable[[], Awaitable[str | None]]  # the canvas of this run or its parent
    save: Callable[[str], Awaitable[None]]  # record the canvas with the run

    def wanted(self, answer: str) -> bool:
        """Whether an answer this long goes to a canvas."""
        return 0 < self.min_chars < len(answer) and bool(self.link("x"))

    async def publish(self, result: RunResult) -> CanvasShown | None:
        """The whole answer in a canvas the channel (or the DM's person) can read; None when
        Slack refuses any step (free workspace, missing scope, size, any error)."""
        title, markdown = canvas_title(self.goal), canvas_markdown(result)
        if len(markdown) > CANVAS_MARKDOWN_LIMIT:
            return None
        had_earlier, canvas_id = await self._earlier_updated(title, markdown)
        how: notes.CanvasHow = "updated"
        if canvas_id is None:
            how = "replaced" if had_earlier else "new"
            try:
                canvas_id = await self.canvases.create(title, markdown)
            except SlackApiError as exc:
                logger.warning(
                    "canvas refused (%s): the answer goes as messages", exc.response.get("error")
                )
                return None
            try:
                await self.canvases.share(canvas_id, self.channel, self.person)
            except SlackApiError as exc:
                logger.warning(
                    "canvas not shared (%s): the answer goes as messages", exc.response.get("error")
                )
                await self._discard(canvas_id)
                return None
        # Recorded before any message links it: a run resumed after a restart finds it here
        # (`earlier`) and edits it. A process killed between create's answer and this line
        # leaves that canvas unrecorded, and the resumed run makes another (Slack has no
        # idempotency key for canvases.create).
        try:
            await self.save(canvas_id)
        except Exception:
            # The canvas holds the answer all the same; a Retry then makes another.
            logger.exception("run store: could not record the canvas %s", canvas_id)
        return CanvasShown(canvas_id, self.link(canvas_id), title, how)

    async def _discard(self, canvas_id: str) -> None:
        """Delete a canvas nobody else can read: the answer goes as messages, and a private
        copy of it left in the app's canvases would be a second, unlinked answer."""
        try:
            await self.canvases.delete(canvas_id)
        except SlackApiError as exc:
            # Only the app can open it; nothing a reader sees depends on it.
            logger.warning("could not delete canvas %s: %s", canvas_id, exc.response.get("error"))

    async def _earlier_updated(self, title: str, markdown: str) -> tuple[bool, str | None]:
        """(whether there was an earlier canvas, its id if it now holds this answer)."""
        try:
            earlier = await self.earlier()
        except Exception:
            # Only a lookup: without it a new canvas is made.
            logger.exception("run store: could not read the earlier canvas")
            earlier = None
        if earlier is None:
            return False, None
        try:
            await self.canvases.replace(earlier, title, markdown)
        except SlackApiError as exc:
            logger.warning("could not update the earlier canvas: %s", exc.response.get("error"))
            return True, None
        return True, earlier
