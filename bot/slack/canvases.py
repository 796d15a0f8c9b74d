"""Canvases and file uploads: the Web API calls, paced at their tiers (`bot.slack.pacing`).

canvases.create makes a standalone canvas (no `channel_id`: tabbing it in the channel would give
the channel write access and take the channel's one canvas tab on a free workspace), then
canvases.access.set lets the run's channel read it, or, in a DM (whose id canvases.access.set
does not take as a channel), the person. Files go up in Slack's two steps: an upload URL
(files.getUploadURLExternal), the bytes POSTed to it, then files.completeUploadExternal shares
the file in the thread."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.slack.io import SlackIO, SlackUnreachable, reaching
from bot.slack.pacing import Priority

logger = logging.getLogger(__name__)

UPLOAD_TIMEOUT_S = 30.0


def _markdown(text: str) -> dict[str, str]:
    return {"type": "markdown", "markdown": text}


class CanvasIO:
    """A run's canvas calls and uploads, through the app's client and pacer."""

    def __init__(self, io: SlackIO) -> None:
        self._io = io

    async def _ready(self, method: str) -> None:
        await self._io.pacer.wait(method, "", priority=Priority.URGENT)
        await self._io.writable(method)

    async def create(self, title: str, markdown: str) -> str:
        """A new standalone canvas holding `markdown`; its id (SlackApiError if refused)."""
        await self._ready("canvases.create")
        async with reaching("canvases.create"):
            response = await self._io.client.canvases_create(
                title=title, document_content=_markdown(markdown)
            )
        return str(response["canvas_id"])

    async def replace(self, canvas_id: str, title: str, markdown: str) -> None:
        """Canvas `canvas_id` holds `markdown` now, under `title` (one change per call)."""
        changes = (
            {"operation": "replace", "document_content": _markdown(markdown)},
            {"operation": "rename", "title_content": _markdown(title)},
        )
        for change in changes:
            await self._ready("canvases.edit")
            async with reaching("canvases.edit"):
                await self._io.client.canvases_edit(canvas_id=canvas_id, changes=[change])

    async def delete(self, canvas_id: str) -> None:
        """Canvas `canvas_id` is gone (canvases.delete, Tier 3; SlackApiError if refused)."""
        await self._ready("canvases.delete")
        async with reaching("canvases.delete"):
            await self._io.client.canvases_delete(canvas_id=canvas_id)

    async def share(self, canvas_id: str, channel: str, person: str) -> None:
        """Let `channel`'s members read the canvas, or `person` in a DM or group DM."""
        await self._ready("canvases.access.set")
        async with reaching("canvases.access.set"):
            if channel.startswith(("D", "G")) and person:
                # DMs and group DMs are not taken as channels ("use user_ids for DMs").
                await self._io.client.canvases_access_set(
                    canvas_id=canvas_id, access_level="read", user_ids=[person]
                )
            else:
                await self._io.client.canvases_access_set(
                    canvas_id=canvas_id, access_level="read", channel_ids=[channel]
                )

    async def upload(
        self, channel: str, thread_ts: str, filename: str, title: str, body: str, comment: str
    ) -> str:
        """Share `body` as file `filename` in the thread; its file id (SlackApiError if
        refused, `SlackUnreachable` if the upload URL cannot be reached)."""
        data = body.encode()
        await self._ready("files.getUploadURLExternal")
        async with reaching("files.getUploadURLExternal"):
            got = await self._io.client.files_getUploadURLExternal(
                filename=filename, length=len(data)
            )
        file_id, url = str(got["file_id"]), str(got["upload_url"])
        try:
            timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT_S)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(url, data=data) as answer,
            ):
                if answer.status != 200:
                    raise SlackApiError(  # type: ignore[no-untyped-call] # slack_sdk's untyped init
                        "upload refused", {"ok": False, "error": f"upload_http_{answer.status}"}
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SlackUnreachable("upload", exc) from exc
        await self._ready("files.completeUploadExternal")
        async with reaching("files.completeUploadExternal"):
            await self._io.client.files_completeUploadExternal(
                files=[{"id": file_id, "title": title}],
                channel_id=channel,
                thread_ts=thread_ts,
                initial_comment=comment,
            )
        return file_id
