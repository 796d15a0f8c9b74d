"""ORCHESTRA_REDIS_URL and ORCHESTRA_LEASE_S: declared once, checked at start, and what the
composition root builds from them."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from bot.__main__ import open_coordination
from bot.config import Settings
from bot.coordination import RedisLink
from bot.serving.startup import EXIT_CONFIG, StartupError
from pipeline.settings import settings_problem
from tests.coordination.conftest import REDIS_URL
from tests.coordination.test_dedupe import Ledger


def test_one_process_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_REDIS_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.redis_url is None
    assert settings.lease_s == 15


def test_the_variables_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("ORCHESTRA_LEASE_S", "7.5")
    settings = Settings(_env_file=None)
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://cache:6379/1"
    assert settings.lease_s == 7.5


def test_an_empty_redis_url_means_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_REDIS_URL", "")
    assert Settings(_env_file=None).redis_url is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("ORCHESTRA_REDIS_URL", "http://user:hunter2@cache:6379"), ("ORCHESTRA_LEASE_S", "0")],
)
def test_a_bad_value_is_named_in_one_sentence_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    sentence = settings_problem(Settings, refused.value)
    assert name in sentence
    assert "hunter2" not in sentence


async def test_without_a_redis_url_coordination_stays_in_this_process() -> None:
    coordination = await open_coordination(Settings(_env_file=None), Ledger())
    assert not coordination.shared
    await coordination.close()


async def test_with_a_redis_url_the_replicas_share_it(link: RedisLink) -> None:
    # (`link`: skips, or fails in CI, without a Redis server)
    settings = Settings(_env_file=None, redis_url=REDIS_URL)
    coordination = await open_coordination(settings, Ledger())
    try:
        assert coordination.shared
        assert coordination.redis is not None
        await coordination.redis.ping()
    finally:
        await coordination.close()


async def test_an_unreachable_redis_at_start_is_logged_and_the_start_goes_on(
    dead_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, redis_url=dead_redis_url)
    with caplog.at_level(logging.WARNING):
        coordination = await open_coordination(settings, Ledger())
    await coordination.close()
    assert coordination.shared
    assert "starting anyway" in caplog.text


async def test_a_redis_url_redis_cannot_use_stops_the_start_with_exit_2() -> None:
    settings = Settings(_env_file=None, redis_url="redis://:hunter2@cache:notaport/0")
    with pytest.raises(StartupError) as refused:
        await open_coordination(settings, Ledger())
    assert refused.value.exit_code == EXIT_CONFIG
    assert "ORCHESTRA_REDIS_URL" in refused.value.sentence
    assert "hunter2" not in refused.value.sentence
