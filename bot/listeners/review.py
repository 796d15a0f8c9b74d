"""Plan review's buttons and modal (issue 22.3): Approve, Edit (a modal listing the plan's
subtasks) and its submission, which approves the edited plan. Only the requester may decide;
anyone else is told privately. The decision goes to the store (`bot.store.reviews`), where the
replica holding the run sees it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.listeners.actions import Click
from bot.render import messages as blocks
from bot.render import notes
from bot.runs.plan_edit import EDIT_CALLBACK, edit_modal, edited_plan, submitted_values
from bot.store import StoreError
from pipeline import Plan

logger = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for Approve, Edit and the edit modal's submission."""

    async def waiting(click: Click) -> tuple[str, Plan] | None:
        """The run's requester and plan when its plan waits and `click` may decide it."""
        try:
            stored = await deps.store.get_run(click.value)
            review = await deps.store.review_of(click.value)
        except StoreError:
            logger.exception("run store: could not read run %s", click.value)
            await deps.io.tell(click.channel, click.user, notes.UNKNOWN_RUN, click.thread_ts)
            return None
        if stored is None or review is None or not stored.plan:
            await deps.io.tell(click.channel, click.user, notes.UNKNOWN_RUN, click.thread_ts)
            return None
        if click.user != stored.requester:
            text = notes.only_requester(stored.requester, "approve or edit the plan of")
            await deps.io.tell(click.channel, click.user, text, click.thread_ts)
            return None
        if review.state != "awaiting":
            await deps.io.tell(click.channel, click.user, notes.REVIEW_NOT_WAITING, click.thread_ts)
            return None
        return stored.requester, Plan.model_validate(stored.plan, context={"min": 1, "max": 1000})

    @app.action(blocks.APPROVE_ACTION)
    async def approve(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        if await waiting(click) is None:
            return
        if not await deps.store.approve_review(click.value, click.user):
            await deps.io.tell(click.channel, click.user, notes.REVIEW_NOT_WAITING, click.thread_ts)
            return
        logger.info("plan approved by %s [run_id=%s]", click.user, click.value)

    @app.action(blocks.EDIT_ACTION)
    async def edit(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        found = await waiting(click)
        if found is None:
            return
        view = edit_modal(click.value, found[1], deps.config.max_subtasks)
        try:
            await deps.io.client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except SlackApiError as exc:
            logger.warning("could not open the plan editor: %s", exc.response.get("error"))

    @app.view(EDIT_CALLBACK)
    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        run_id = str(view.get("private_metadata", ""))
        user = str((body.get("user") or {}).get("id", ""))
        try:
            stored = await deps.store.get_run(run_id)
        except StoreError:
            stored = None
        if stored is None or not stored.plan or user != stored.requester:
            await ack()
            return
        plan = Plan.model_validate(stored.plan, context={"min": 1, "max": 1000})
        found = edited_plan(
            plan,
            submitted_values(view),
            low=deps.config.min_subtasks,
            high=deps.config.max_subtasks,
        )
        if isinstance(found, dict):
            await ack(response_action="errors", errors=found)
            return
        await ack()
        roles = [(t.id, t.role) for t in found.subtasks]
        if not await deps.store.approve_review(run_id, user, found.model_dump(), roles):
            await deps.io.tell(stored.channel, user, notes.REVIEW_EDIT_EXPIRED, stored.thread_ts)
