"""manifest.yml declares what the app listens for and needs: the events its listeners take,
the scopes its calls need, and the agent messages tab (`assistant_view`) with the same
suggested prompts a new thread gets. Shapes as slackapi/manifest-schema (v1) defines them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import notes

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
# manifest-schema v1: the keys `features` may hold, and those of `assistant_view`.
FEATURES = {
    "app_home",
    "bot_user",
    "functions",
    "shortcuts",
    "slash_commands",
    "workflow_steps",
    "unfurl_domains",
    "assistant_view",
    "agent_view",
}
# assistant.threads.setSuggestedPrompts takes up to four.
MAX_PROMPTS = 4


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_messages_tab_is_an_agent_surface(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert set(features) <= FEATURES
    home = features["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    view = features["assistant_view"]
    assert set(view) <= {"assistant_description", "suggested_prompts"}
    assert isinstance(view["assistant_description"], str)
    assert view["assistant_description"].strip()


def test_its_suggested_prompts_are_the_apps(manifest: dict[str, Any]) -> None:
    prompts = manifest["features"]["assistant_view"]["suggested_prompts"]
    assert 1 <= len(prompts) <= MAX_PROMPTS
    for prompt in prompts:
        assert set(prompt) == {"title", "message"}
        assert all(isinstance(value, str) and value for value in prompt.values())
    assert [(p["title"], p["message"]) for p in prompts] == list(notes.SUGGESTED_PROMPTS)


def test_every_event_the_app_takes_is_subscribed_with_its_scopes(
    manifest: dict[str, Any],
) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events))
    for event in (
        "app_mention",
        "app_home_opened",
        "message.im",
        "assistant_thread_started",
        "agent_session_stopped",
    ):
        assert event in events
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    for scope in ("chat:write", "app_mentions:read", "im:history", "assistant:write"):
        assert scope in scopes
