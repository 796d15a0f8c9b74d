"""Canvases and file uploads, as the fake Slack serves them.

From the methods' reference pages on docs.slack.dev (canvases.create, canvases.edit,
canvases.access.set, files.getUploadURLExternal, files.completeUploadExternal; their error lists
as mirrored in slack-ruby/slack-api-ref; read 2026-12-05) and the installed slack_sdk
(`AsyncWebClient.canvases_*`, `files_*`: canvases.create and .edit go as JSON, canvases.access.set
and the two files methods as query parameters, lists comma-joined, `files` as a JSON string):

- canvases.create (Tier 2): `title`, `document_content` `{"type": "markdown", "markdown": …}`
  ("The markdown content is limited to 1 MiB (1,048,576 characters)"), `channel_id` ("This is a
  required field for free teams": without it a free workspace answers
  `free_teams_cannot_create_non_tabbed_canvases`). Answers `canvas_id`.
- canvases.edit (Tier 3): `canvas_id`, `changes` (one operation per call: "Only one operation
  per API call is currently supported"); `replace` without `section_id` replaces the whole
  canvas, `rename` takes `title_content`.
- canvases.access.set (Tier 3): `canvas_id`, `access_level` (read, write, owner), and exactly
  one of `channel_ids` / `user_ids` (1-20 each; `invalid_parameters` otherwise); DM and group DM
  ids are not accepted as channels ("use user_ids for DMs").
- canvases.delete (Tier 3): `canvas_id`; errors `canvas_deleting_disabled`,
  `canvas_not_found`, `restricted_action` (its page, as mirrored in slack_kit's
  priv/docs/methods/canvases.delete.json; read 2026-12-05).
- files.getUploadURLExternal (Tier 4): `filename`, `length` (> 0, else `missing_argument`);
  answers `upload_url` and `file_id`. The bytes are POSTed to the upload URL (served here by
  the fake, as files.slack.com does), then
- files.completeUploadExternal (Tier 4): `files` `[{"id", "title"}]`, `channel_id`,
  `thread_ts`, `initial_comment`: the file is shared as a message in the thread.

A too-large canvas: the pages give the size, not the code Slack answers past it; the fake answers
`canvas_creation_failed` (create) and `canvas_editing_failed` (edit), each method's documented
general failure."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.fakes.slack import FakeSlack

CANVAS_MARKDOWN_LIMIT = 1_048_576  # characters of markdown in one canvas
ACCESS_IDS_MAX = 20  # channel_ids / user_ids: "Minimum: 1 Maximum: 20"
ACCESS_LEVELS = frozenset({"read", "write", "owner"})
EDIT_OPERATIONS = frozenset(
    {"insert_after", "insert_before", "insert_at_start", "insert_at_end", "replace", "delete"}
)

# Each method's own codes (plus Slack's common ones, added in slack_limits.METHOD_ERRORS).
CANVAS_ERRORS: dict[str, str] = {
    "canvases.create": """canvas_creation_failed canvas_disabled_user_team
        free_teams_cannot_create_non_tabbed_canvases invalid_arguments restricted_action
        team_tier_cannot_create_canvases""",
    "canvases.edit": """canvas_disabled_user_team canvas_editing_failed canvas_not_found
        free_teams_cannot_edit_standalone_canvases invalid_arguments restricted_action""",
    "canvases.access.set": """canvas_disabled_user_team canvas_not_found channel_not_found
        failed_to_update_channel_ids failed_to_update_user_ids invalid_parameters
        restricted_action user_not_found""",
    "canvases.delete": "canvas_deleting_disabled canvas_not_found restricted_action",
    "files.getUploadURLExternal": """alt_txt_too_large file_type_not_allowed
        file_upload_size_restricted file_uploads_disabled file_uploads_except_images_disabled
        invalid_arguments missing_argument snippet_too_large""",
    "files.completeUploadExternal": """channel_not_found file_not_found file_uploads_disabled
        invalid_arguments invalid_channel is_archived not_in_channel restricted_action""",
}
# Canvases (Tier 2 create, Tier 3 edit and access) and files (Tier 4), per their pages.
CANVAS_TIERS: dict[str, int] = {
    "canvases.create": 2,
    "canvases.edit": 3,
    "canvases.access.set": 3,
    "canvases.delete": 3,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
CANVAS_SCOPES: dict[str, str] = {
    "canvases.create": "canvases:write",
    "canvases.edit": "canvases:write",
    "canvases.access.set": "canvases:write",
    "canvases.delete": "canvases:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}


@dataclass
class Canvas:
    """A canvas as people open it: its title, its markdown, and who may open it."""

    canvas_id: str
    title: str
    markdown: str
    channel_id: str | None  # the channel it is tabbed in, if any
    access: dict[str, str] = field(default_factory=dict)  # channel or user id -> level
    edits: int = 0

    def readable_by(self, entity: str) -> bool:
        """Whether the channel or person `entity` was given access."""
        return entity in self.access


@dataclass
class UploadedFile:
    """A file from files.getUploadURLExternal, its bytes once uploaded, where it was shared."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Slack's file object (the fields the app and the sandbox read)."""
        return {
            "id": self.file_id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "mimetype": "text/markdown" if self.filename.endswith(".md") else "text/plain",
        }


_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):09d}"


def _refuse(error: str, detail: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "error": error}
    if detail:
        out["response_metadata"] = {"messages": [f"[ERROR] {detail}"]}
    return out


def _markdown_of(content: Any) -> str | dict[str, Any]:
    """The markdown of a `document_content`, or Slack's refusal of its shape."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return _refuse("invalid_arguments", "document_content must be an object")
    if not isinstance(content, dict) or content.get("type") != "markdown":
        return _refuse("invalid_arguments", "document_content.type must be markdown")
    markdown = content.get("markdown")
    if not isinstance(markdown, str):
        return _refuse("invalid_arguments", "document_content.markdown must be a string")
    return markdown


def _ids_of(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.startswith("["):
            try:
                return [str(v) for v in json.loads(text)]
            except ValueError:
                return [text]
        return [v.strip() for v in text.split(",") if v.strip()]
    return []


def canvases_create(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """canvases.create."""
    if slack.canvases_disabled:
        return _refuse("canvas_disabled_user_team")
    channel = str(args.get("channel_id") or "") or None
    if slack.free_team and channel is None:
        return _refuse("free_teams_cannot_create_non_tabbed_canvases")
    markdown = ""
    if args.get("document_content") is not None:
        found = _markdown_of(args["document_content"])
        if isinstance(found, dict):
            return found
        markdown = found
    if len(markdown) > slack.canvas_markdown_limit:
        return _refuse("canvas_creation_failed")
    if channel is not None:
        problem = slack._channel_error("chat.postMessage", channel)
        if problem:
            return _refuse("canvas_creation_failed")
    canvas = Canvas(_new_id("F0CANVAS"), str(args.get("title") or ""), markdown, channel)
    if channel is not None:
        canvas.access[channel] = "write"  # "added to a channel tab with write permissions"
    slack.canvases[canvas.canvas_id] = canvas
    return {"ok": True, "canvas_id": canvas.canvas_id}


def canvases_edit(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """canvases.edit: one change per call."""
    canvas = slack.canvases.get(str(args.get("canvas_id") or ""))
    if canvas is None:
        return _refuse("canvas_not_found")
    changes = args.get("changes")
    if isinstance(changes, str):
        try:
            changes = json.loads(changes)
        except ValueError:
            return _refuse("invalid_arguments", "changes must be an array")
    if not isinstance(changes, list) or len(changes) != 1 or not isinstance(changes[0], dict):
        return _refuse("invalid_arguments", "changes must hold exactly one operation")
    change = changes[0]
    operation = change.get("operation")
    if operation == "rename":
        title = _markdown_of(change.get("title_content"))
        if isinstance(title, dict):
            return title
        canvas.title = title
    elif operation in EDIT_OPERATIONS:
        whole = operation == "replace" and not change.get("section_id")
        if not whole and operation not in ("insert_at_start", "insert_at_end"):
            # The fake keeps no sections: only whole-canvas replaces and appends are served.
            return _refuse("canvas_editing_failed")
        text = _markdown_of(change.get("document_content"))
        if isinstance(text, dict):
            return text
        new = {
            "replace": text,
            "insert_at_start": text + "\n" + canvas.markdown,
            "insert_at_end": canvas.markdown + "\n" + text,
        }[str(operation)]
        if len(new) > slack.canvas_markdown_limit:
            return _refuse("canvas_editing_failed")
        canvas.markdown = new
    else:
        return _refuse("invalid_arguments", f"unknown operation {operation}")
    canvas.edits += 1
    return {"ok": True}


def canvases_access_set(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """canvases.access.set: channels or people, never both."""
    canvas = slack.canvases.get(str(args.get("canvas_id") or ""))
    if canvas is None:
        return _refuse("canvas_not_found")
    level = str(args.get("access_level") or "")
    if level not in ACCESS_LEVELS:
        return _refuse("invalid_arguments", "access_level must be read, write or owner")
    channels, users = _ids_of(args.get("channel_ids")), _ids_of(args.get("user_ids"))
    if bool(channels) == bool(users):
        return _refuse("invalid_parameters")
    if len(channels) > ACCESS_IDS_MAX or len(users) > ACCESS_IDS_MAX:
        return _refuse("invalid_arguments", f"at most {ACCESS_IDS_MAX} ids")
    if level == "owner" and channels:
        return _refuse("invalid_arguments", "owner is for users only")
    for channel in channels:
        # Only regular channels: "Channel IDs associated with direct messages (DMs) and
        # multi-party direct messages (MPDMs) will not be accepted."
        if slack.conversation(channel).type in ("im", "mpim"):
            return _refuse("channel_not_found")
    for user in users:
        if user not in slack.users:
            return _refuse("user_not_found")
    for entity in channels + users:
        canvas.access[entity] = level
    return {"ok": True}


def canvases_delete(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """canvases.delete: the canvas is gone (a later edit or access answers canvas_not_found)."""
    if slack.canvases_disabled:
        return _refuse("canvas_deleting_disabled")
    if slack.canvases.pop(str(args.get("canvas_id") or ""), None) is None:
        return _refuse("canvas_not_found")
    return {"ok": True}


def get_upload_url(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """files.getUploadURLExternal."""
    filename = str(args.get("filename") or "")
    try:
        length = int(str(args.get("length") or "0"))
    except ValueError:
        return _refuse("invalid_arguments", "length must be an integer")
    if not filename or length <= 0:
        return _refuse("missing_argument")
    upload = UploadedFile(_new_id("F0FILE"), filename, length)
    slack.files[upload.file_id] = upload
    return {
        "ok": True,
        "upload_url": f"{slack.url}/upload/{upload.file_id}",
        "file_id": upload.file_id,
    }


async def receive_upload(slack: FakeSlack, request: web.Request) -> web.Response:
    """The upload URL: raw bytes or a multipart form; Slack answers 200 `OK - <length>`."""
    upload = slack.files.get(request.match_info["file_id"])
    if upload is None or upload.content is not None:
        return web.Response(status=404, text="not_found")
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        part = next(iter(form.values()), b"")
        data = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
    else:
        data = await request.read()
    if len(data) != upload.length:
        return web.Response(status=400, text="length_mismatch")
    upload.content = data
    return web.Response(text=f"OK - {len(data)}")


def complete_upload(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """files.completeUploadExternal: the files shared in the channel (its thread)."""
    listed = args.get("files")
    if isinstance(listed, str):
        try:
            listed = json.loads(listed)
        except ValueError:
            return _refuse("invalid_arguments", "files must be a JSON array")
    if not isinstance(listed, list) or not listed:
        return _refuse("invalid_arguments", "files must list at least one file")
    found: list[UploadedFile] = []
    for item in listed:
        upload = (
            slack.files.get(str((item or {}).get("id") or "")) if isinstance(item, dict) else None
        )
        if upload is None or upload.content is None:
            return _refuse("file_not_found")
        upload.title = str(item.get("title") or upload.filename)
        found.append(upload)
    channel = str(args.get("channel_id") or "") or None
    if channel is not None:
        problem = slack._channel_error("chat.postMessage", channel)
        if problem:
            return problem
        thread_ts = str(args.get("thread_ts") or "") or None
        for upload in found:
            upload.channel, upload.thread_ts = channel, thread_ts
        slack.share_files(channel, thread_ts, str(args.get("initial_comment") or ""), found)
    return {"ok": True, "files": [u.to_api() for u in found]}
