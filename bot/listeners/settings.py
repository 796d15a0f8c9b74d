"""`/research settings` (issue 24.4): a modal of the channel's settings, or with `settings
workspace` of the workspace's defaults, and its submission. Admins and owners may always
change them, a channel's members only where the workspace allows it; anyone else is told
privately (on opening, or in the modal on submit, where the check is made again: a person's
role may change while the modal is open). Every change is announced in the channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.render import notes
from bot.runs import channel_settings as cs
from bot.runs.scoped_settings import levels, refusal, save, summary
from bot.runs.settings_modal import SETTINGS_CALLBACK, modal_channel, settings_modal, submitted
from bot.store import StoreError

logger = logging.getLogger(__name__)


def settings_scope(text: str) -> cs.Scope | None:
    """Whether a command's text asks for the settings: `settings` (this channel's) or
    `settings workspace` (the workspace's defaults); None when it asks for something else."""
    words = text.strip().lower().split()
    if words == ["settings"]:
        return "channel"
    if words == ["settings", "workspace"]:
        return "workspace"
    return None


async def open_settings(
    deps: Deps, command: dict[str, Any], scope: cs.Scope, respond: AsyncRespond
) -> None:
    """Open the settings modal for the command's sender (after its ack), or tell them
    privately why not."""
    user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
    try:
        workspace, own = await levels(deps, channel)
    except StoreError:
        logger.exception("run store: could not read settings")
        await respond(text=notes.SETTINGS_UNREADABLE, response_type="ephemeral")
        return
    refused = await refusal(deps, user, scope, workspace)
    if refused is not None:
        await respond(text=refused, response_type="ephemeral")
        return
    shown = workspace if scope == "workspace" else own
    now = summary(cs.applied(deps.settings, workspace, own))
    note = notes.settings_defaults_note(f"Applies here now: {now}")
    view = settings_modal(channel, shown, scope, note)
    try:
        await deps.io.client.views_open(trigger_id=str(command.get("trigger_id", "")), view=view)
    except SlackApiError as exc:
        logger.warning("could not open the settings: %s", exc.response.get("error"))
        await respond(text=notes.SETTINGS_NOT_OPENED, response_type="ephemeral")


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for the settings modal's submission."""

    @app.view(SETTINGS_CALLBACK)
    async def saved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = str((body.get("user") or {}).get("id", ""))
        channel = modal_channel(view)
        parsed = cs.parse_submission(submitted(view))
        if parsed.errors:
            await ack(response_action="errors", errors=parsed.errors)
            return
        try:
            workspace, _ = await levels(deps, channel)
        except StoreError:
            logger.exception("run store: could not read settings")
            await ack(response_action="errors", errors={cs.SCOPE: notes.SETTINGS_UNREADABLE})
            return
        refused = await refusal(deps, user, parsed.scope, workspace)
        if refused is not None:
            await ack(response_action="errors", errors={cs.SCOPE: refused})
            return
        await ack()
        try:
            changed = await save(deps, user, channel, parsed.scope, parsed.settings)
        except StoreError:
            logger.exception("run store: could not save settings")
            await deps.io.tell(channel, user, notes.SETTINGS_UNREADABLE)
            return
        if not changed:
            await deps.io.tell(channel, user, notes.SETTINGS_UNCHANGED)
