"""One module per Slack surface, each with `register(app, deps)`."""

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.listeners import actions, assistant, commands, events, reports, review, settings


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach every listener to the app."""
    commands.register(app, deps)
    events.register(app, deps)
    actions.register(app, deps)
    review.register(app, deps)
    reports.register(app, deps)
    assistant.register(app, deps)
    settings.register(app, deps)
