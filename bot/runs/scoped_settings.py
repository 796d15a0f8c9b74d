"""Settings per workspace and channel with the app around them (issue 24.4): read from the
store for a run or the modal, who may change them (Slack's `users.info`), saved and
announced, and a run's pipeline config with its domain rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.render import notes
from bot.render.messages import notice_message
from bot.render.settings_home import settings_sections
from bot.runs import channel_settings as cs
from bot.slack.errors import USER_UNKNOWN
from bot.store import StoreError
from bot.store.settings import WORKSPACE_DEFAULTS
from pipeline import PipelineConfig

logger = logging.getLogger(__name__)


async def levels(deps: Deps, channel: str) -> tuple[cs.LevelSettings, cs.LevelSettings]:
    """The workspace's defaults and the channel's own settings (StoreError if unreadable)."""
    workspace = deps.team.team_id
    defaults = await deps.store.settings_of(workspace, WORKSPACE_DEFAULTS)
    own = await deps.store.settings_of(workspace, channel) if channel else None
    return (
        cs.LevelSettings.from_json(defaults.data if defaults else None),
        cs.LevelSettings.from_json(own.data if own else None),
    )


async def applied_for(deps: Deps, channel: str) -> cs.Applied:
    """What a new run in `channel` uses; the environment's alone when the store cannot say
    (a run is not refused for its settings being unreadable; it is logged)."""
    try:
        workspace, own = await levels(deps, channel)
    except StoreError:
        logger.warning("run store: could not read the settings of %s; using the defaults", channel)
        workspace = own = cs.LevelSettings()
    return cs.applied(deps.settings, workspace, own)


async def recorded(deps: Deps, run_id: str) -> cs.Applied | None:
    """The settings the run started with, None when none were recorded (an older run)."""
    try:
        data = await deps.store.run_settings_of(run_id)
    except StoreError:
        logger.warning("run store: could not read a run's settings [run_id=%s]", run_id)
        return None
    return cs.Applied.from_json(data)


def run_config(config: PipelineConfig, settings: cs.Applied) -> PipelineConfig:
    """`config` with the run's domain rules (the web tools take one list of the two)."""
    return config.model_copy(
        update={
            "web_allowed_domains": settings.allowed,
            "web_blocked_domains": () if settings.allowed else settings.blocked,
            "web_search": config.web_search and settings.web,
        }
    )


async def is_admin(deps: Deps, user: str) -> bool | None:
    """Whether `user` is an admin or owner of the workspace (users.info); None when Slack
    could not say."""
    try:
        response = await deps.io.client.users_info(user=user)
    except SlackApiError as exc:
        error = exc.response.get("error")
        logger.warning("users.info failed for a settings change: %s", error)
        return False if error in USER_UNKNOWN else None
    found = response.get("user") or {}
    return bool(found.get("is_admin") or found.get("is_owner") or found.get("is_primary_owner"))


async def refusal(
    deps: Deps, user: str, scope: cs.Scope, workspace: cs.LevelSettings
) -> str | None:
    """Why `user` may not change `scope`'s settings, or None when they may: admins and owners
    always; a channel's members only where the workspace lets them."""
    admin = await is_admin(deps, user)
    if admin:
        return None
    if admin is None:
        return notes.SETTINGS_UNCHECKED
    if scope == "workspace":
        return notes.SETTINGS_WORKSPACE_ADMINS_ONLY
    return None if workspace.members_may_change else notes.SETTINGS_ADMINS_ONLY


async def save(
    deps: Deps, user: str, channel: str, scope: cs.Scope, after: cs.LevelSettings
) -> list[str]:
    """Store `after` for `scope` (StoreError if it cannot) and announce what changed in the
    channel, naming `user`; what changed (empty: nothing, nothing said)."""
    workspace = deps.team.team_id
    key = WORKSPACE_DEFAULTS if scope == "workspace" else channel
    stored = await deps.store.settings_of(workspace, key)
    before = cs.LevelSettings.from_json(stored.data if stored else None)
    if scope == "channel":
        after = replace(after, members_may_change=None)  # the workspace's alone
    changed = cs.changes(before, after)
    if not changed:
        return []
    await deps.store.save_settings(workspace, key, after.to_json(), user)
    logger.info("%s settings of %s changed by %s", scope, channel or workspace, user)
    text = notes.settings_changed(user, scope == "workspace", changed)
    try:
        await deps.io.post(channel, notice_message(text))
    except SlackApiError as exc:
        logger.warning("could not announce a settings change: %s", exc.response.get("error"))
    return changed


def summary(settings: cs.Applied) -> str:
    """What applies in a channel now, in one line (the modal's note, App Home)."""
    parts = [
        f"instructions: {'yes' if settings.instructions else 'none'}",
        "web: "
        + (
            "off (every allowed domain is blocked)"
            if not settings.web
            else f"only {', '.join(settings.allowed)}"
            if settings.allowed
            else f"any but {', '.join(settings.blocked)}"
            if settings.blocked
            else "any domain"
        ),
        "daily budget: "
        + ("none" if settings.budget_usd is None else f"${cs.amount_text(settings.budget_usd)}"),
        f"plan review: {'on' if settings.review else 'off'}",
        f"effort: {settings.effort or 'default'}",
    ]
    return "; ".join(parts) + "."


@dataclass(frozen=True)
class _Place:
    """A channel with settings of its own, as visibility checks it (nobody's run)."""

    channel: str
    requester: str = ""


async def home_settings(deps: Deps, user: str) -> list[dict[str, Any]]:
    """The Home tab's settings sections for `user`: the workspace's defaults, and the
    channels with their own settings that `user` may see ([] when the store cannot say)."""
    try:
        stored = await deps.store.all_settings(deps.team.team_id)
    except StoreError:
        logger.warning("run store: could not read settings for the Home tab")
        return []
    env, empty = deps.settings, cs.LevelSettings()
    defaults = next((s for s in stored if s.channel == WORKSPACE_DEFAULTS), None)
    workspace = cs.LevelSettings.from_json(defaults.data if defaults else None)
    places = [_Place(s.channel) for s in stored if s.channel != WORKSPACE_DEFAULTS]
    shown = {p.channel for p in (await deps.visibility.visible(user, places)).runs}
    channels = [
        (s.channel, summary(cs.applied(env, workspace, cs.LevelSettings.from_json(s.data))))
        for s in stored
        if s.channel in shown
    ]
    said = summary(cs.applied(env, workspace, empty)) if defaults else ""
    return settings_sections(said, channels)
