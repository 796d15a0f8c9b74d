"""manifest.yml declares what the app listens for and needs: the events its listeners take,
the scopes its calls need, and the agent messages tab (`agent_view`) with the same suggested
prompts opening the DM gets. Shapes as slackapi/manifest-schema (v1) defines them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.render import notes
from sandbox.fakes.slack_directory import APP_SCOPES

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
# manifest-schema v1 (schemas/manifest.schema.1.0.0.json; `agent_view` added in a936b12,
# 2026-06-19; checked 2026-12-05): the keys `features` may hold, and those of `agent_view`.
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
AGENT_VIEW = {"agent_description", "suggested_prompts", "actions"}
AGENT_DESCRIPTION_CHARS = 300  # `agent_description`: maxLength 300
MAX_PROMPTS = 4  # `suggested_prompts`: maxItems 4 (setSuggestedPrompts takes up to four too)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_messages_tab_is_an_agent_surface(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert set(features) <= FEATURES
    # Slack refuses `assistant_view` for new apps (changelog 2026-07-21): agent view only.
    assert "assistant_view" not in features
    home = features["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    view = features["agent_view"]
    assert set(view) <= AGENT_VIEW
    description = view["agent_description"]
    assert isinstance(description, str)
    assert description.strip()
    assert len(description) <= AGENT_DESCRIPTION_CHARS


def test_its_suggested_prompts_are_the_apps(manifest: dict[str, Any]) -> None:
    prompts = manifest["features"]["agent_view"]["suggested_prompts"]
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
    for event in ("app_mention", "app_home_opened", "message.im", "agent_session_stopped"):
        assert event in events
    # Under agent view Slack sends no `assistant_thread_started`: opening the DM is
    # `app_home_opened` with tab "messages".
    assert "assistant_thread_started" not in events
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    for scope in ("chat:write", "app_mentions:read", "im:history", "assistant:write"):
        assert scope in scopes


def test_the_fake_slacks_token_has_the_manifests_scopes(manifest: dict[str, Any]) -> None:
    # The fake refuses a call its token has no scope for (`missing_scope`), so tests catch a
    # call that needs a scope the manifest does not ask for.
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == APP_SCOPES
