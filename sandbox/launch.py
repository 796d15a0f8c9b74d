"""`make run`: the real bot when Slack tokens are configured, the local sandbox when none is,
and neither when only some are (it says which are missing and exits 2)."""

from __future__ import annotations

import sys

from bot.__main__ import main as bot_main
from bot.config import Settings
from bot.serving.startup import EXIT_CONFIG
from pipeline import config_words
from sandbox.__main__ import main as sandbox_main


def has_slack_tokens(settings: Settings) -> bool:
    """True when a real workspace is configured (bot token, and app token or signing secret)."""

    def present(value: object) -> bool:
        return bool(value is not None and getattr(value, "get_secret_value", lambda: "")())

    return present(settings.slack_bot_token) and (
        present(settings.slack_app_token) or present(settings.slack_signing_secret)
    )


def main() -> int:
    """Pick the main job from the environment (and `.env`)."""
    try:
        settings = Settings()
    except Exception:  # a broken .env: the bot prints what is wrong
        return bot_main()
    if has_slack_tokens(settings):
        return bot_main()
    incomplete = settings.slack_incomplete()
    if incomplete is not None:  # a half-filled .env: not a sandbox the person asked for
        print(config_words.half_slack(*incomplete), file=sys.stderr)
        return EXIT_CONFIG
    print(config_words.NO_SLACK, flush=True)
    return sandbox_main()


if __name__ == "__main__":
    sys.exit(main())
