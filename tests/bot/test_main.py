"""`python -m bot` refuses bad configuration with one sentence and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_bot(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k == "PATH" or k.startswith("COVERAGE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**base, **env},
        cwd="/",  # no .env here
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_nothing_configured_names_every_missing_variable() -> None:
    done = run_bot()
    assert done.returncode == 2
    message = done.stderr.strip()
    assert message.count("\n") == 0, message
    for name in ("SLACK_BOT_TOKEN", "ANTHROPIC_API_KEY", "SLACK_SIGNING_SECRET"):
        assert name in message


def test_socket_mode_does_not_need_a_signing_secret() -> None:
    done = run_bot(SLACK_APP_TOKEN="xapp-1", SLACK_BOT_TOKEN="xoxb-1")
    assert done.returncode == 2
    assert "ANTHROPIC_API_KEY" in done.stderr
    assert "SLACK_SIGNING_SECRET" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("ORCHESTRA_CANCEL_BY", "everyone"), ("ORCHESTRA_COMMAND", "research"), ("PORT", "99999")],
)
def test_an_invalid_setting_is_named_in_one_sentence(name: str, value: str) -> None:
    done = run_bot(**{name: value})
    assert done.returncode == 2
    assert name in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_an_unknown_log_level_is_named_in_one_sentence() -> None:
    done = run_bot(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        ANTHROPIC_API_KEY="sk-1",
        ORCHESTRA_LOG_LEVEL="loud",
    )
    assert done.returncode == 2
    assert "ORCHESTRA_LOG_LEVEL" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
