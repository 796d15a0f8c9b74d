"""A run's reports beyond its thread, wired to the app: where its long answer's canvas goes
(`bot.thread.canvas`) and which canvas an earlier attempt or run left."""

from __future__ import annotations

from bot.deps import Deps
from bot.render.history import canvas_url
from bot.slack.canvases import CanvasIO
from bot.slack.io import SlackIO
from bot.slack.requester import Requester
from bot.store import Fence
from bot.thread.canvas import AnswerCanvas


def canvas_link(workspace_url: str, team_id: str, canvas_id: str) -> str:
    """A canvas's address in the workspace; '' without the workspace's URL (then no canvas is
    made: the thread could not link it)."""
    return canvas_url(workspace_url, team_id, canvas_id)


def answer_canvas(
    deps: Deps,
    io: SlackIO,
    *,
    run_id: str,
    goal: str,
    requester: Requester,
    fence: Fence | None,
    parent_run_id: str | None = None,
) -> AnswerCanvas | None:
    """Where the run's long answer goes (None: `ORCHESTRA_CANVAS_MIN_CHARS` is 0). A resumed
    run finds the canvas its earlier attempt made; a Retry, Re-run or Continue its parent's."""
    if deps.settings.canvas_min_chars == 0:
        return None
    store, workspace = deps.store, deps.team

    async def earlier() -> str | None:
        own = await store.canvas_of(run_id)
        if own is None and parent_run_id is not None:
            return await store.canvas_of(parent_run_id)
        return own

    async def save(canvas_id: str) -> None:
        await store.save_canvas(run_id, canvas_id, fence=fence)

    return AnswerCanvas(
        canvases=CanvasIO(io),
        goal=goal,
        channel=requester.channel,
        person=requester.user,
        min_chars=deps.settings.canvas_min_chars,
        link=lambda canvas_id: canvas_link(workspace.url, workspace.team_id, canvas_id),
        earlier=earlier,
        save=save,
    )
