"""`python -m bot`: the composition root. Settings -> clients -> app -> Socket Mode | HTTP."""

from __future__ import annotations

import asyncio
import logging
import sys

from pydantic import SecretStr, ValidationError

from bot.app import create_app
from bot.config import Settings
from bot.deps import Deps
from bot.log_safety import configure_logging
from bot.pacing import Pacer
from bot.runs import RunRegistry
from bot.server import finished_before, serve_http, serve_socket_mode, stop_on_signals
from bot.slack_client import make_slack_client
from bot.slack_io import SlackIO
from bot.startup import EXIT_CONFIG, StartupError, check_bot_token
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.settings import settings_problem


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def build_deps(settings: Settings) -> Deps:
    """Every dependency, built once (main has checked the required secrets are set)."""
    config = settings.pipeline_config()
    claude = make_client(
        _secret(settings.anthropic_api_key),
        settings.anthropic_base_url,
        config.call_timeout_s,
    )
    slack = make_slack_client(_secret(settings.slack_bot_token), settings.slack_api_url)
    return Deps(
        settings=settings,
        io=SlackIO(slack, Pacer()),
        llm=AnthropicLLM(claude),
        config=config,
        runs=RunRegistry(),
    )


async def _serve(settings: Settings) -> None:
    # Signals first: a stop during the start-up checks must end the process promptly too.
    stop = stop_on_signals()
    check = check_bot_token(_secret(settings.slack_bot_token), settings.slack_api_url)
    if not await finished_before(stop, check):
        return
    deps = build_deps(settings)
    secret = _secret(settings.slack_signing_secret)
    if settings.slack_app_token is not None:
        app = create_app(deps, signing_secret=secret, socket_mode=True)
        await serve_socket_mode(app, deps, settings.slack_app_token.get_secret_value(), stop)
    else:
        await serve_http(create_app(deps, signing_secret=secret), deps, stop)


def load_settings() -> Settings | str:
    """Settings, or one sentence saying what is wrong with them."""
    try:
        settings = Settings()
    except ValidationError as exc:
        return settings_problem(Settings, exc)
    missing = settings.missing_for_slack()
    if missing:
        return f"Missing configuration: set {', '.join(missing)} (see README, Configuration)."
    if settings.log_level.upper() not in logging.getLevelNamesMapping():
        return "ORCHESTRA_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR."
    return settings


def main() -> int:
    """Start the Slack app; exit code 2 on bad configuration or a refused token, 1 when
    Slack cannot be reached at start."""
    loaded = load_settings()
    if isinstance(loaded, str):
        print(loaded, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(loaded.log_level)
    try:
        asyncio.run(_serve(loaded))
    except StartupError as exc:
        print(exc.sentence, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
