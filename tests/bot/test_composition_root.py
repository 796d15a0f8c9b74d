"""One composition root (issue 21.4): `bot.__main__.build_deps` is the only place the app's
dependency record is built; the sandbox, the replica tests and the benchmarks call it with
overrides (svcs-style) instead of wiring the app by hand."""

from __future__ import annotations

import ast
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.__main__ import build_deps
from bot.config import Settings
from bot.deps import Workspace
from bot.serving.app import EVENTS_PATH, create_app, create_web_app
from bot.serving.observability import with_telemetry
from bot.slack.pacing import Pacer
from bot.store import RunStore
from bot.telemetry import telemetry_off
from pipeline.testing import FunctionLLM
from sandbox.fakes.signing import sign

ROOT = Path(__file__).resolve().parents[2]
ROOT_MODULE = ROOT / "bot" / "__main__.py"


def _settings(**changes: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": "from-settings",
        "slack_api_url": "http://127.0.0.1:9/api/",
        "anthropic_api_key": "unused",
        **changes,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(f"sqlite:///{tmp_path}/orchestra.db")
    yield opened
    await opened.close()


def _builds_deps(source: str) -> bool:
    """Whether `source` calls `Deps(...)` itself."""
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Deps"
        for node in ast.walk(ast.parse(source))
    )


def test_only_the_composition_root_builds_the_dependency_record() -> None:
    builders = {
        str(path.relative_to(ROOT))
        for folder in ("bot", "sandbox", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if _builds_deps(path.read_text())
    }
    assert builders == {"bot/__main__.py"}


def test_the_check_sees_a_hand_wired_record() -> None:
    assert _builds_deps("deps = Deps(settings=s, io=io)")
    assert not _builds_deps("deps = build_deps(settings, store)")


async def test_overrides_replace_their_part_and_the_rest_comes_from_settings(
    store: RunStore,
) -> None:
    llm = FunctionLLM(lambda request: "unused")
    pacer = Pacer()
    settings = _settings(max_live_runs=3, max_runs_per_user=2)
    deps = build_deps(
        settings,
        store,
        Workspace("T1", "https://acme.slack.com/"),
        llm=llm,
        pacer=pacer,
        stream_keepalive_s=1.5,
    )
    assert deps.llm is llm
    assert deps.io.pacer is pacer
    assert deps.stream_keepalive_s == 1.5
    assert deps.workspace.team_id == "T1"
    assert deps.runs.admission.max_live == 3
    assert deps.config == settings.pipeline_config()


async def test_the_pipeline_config_is_built_once_and_kept_by_every_copy(
    store: RunStore,
) -> None:
    deps = build_deps(_settings(), store, llm=FunctionLLM(lambda request: "unused"))
    assert with_telemetry(deps, telemetry_off()).config is deps.config
    assert dataclasses.replace(deps, clock=lambda: 0.0).config is deps.config


async def test_the_app_checks_signatures_with_the_settings_secret(store: RunStore) -> None:
    deps = build_deps(_settings(), store, llm=FunctionLLM(lambda request: "unused"))
    web_app = create_web_app(create_app(deps), deps)
    body = json.dumps({"type": "url_verification", "challenge": "c"})
    async with TestClient(TestServer(web_app)) as client:
        for secret, status in (("from-settings", 200), ("another", 401)):
            response = await client.post(
                EVENTS_PATH,
                data=body,
                headers={**sign(secret, body), "Content-Type": "application/json"},
            )
            assert response.status == status
