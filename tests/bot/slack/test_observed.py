"""Slack calls seen by telemetry (bot.slack.observed): the pure readings of a request and an
answer, and the app's client against the fake Slack, a call a span and each request counted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from bot.slack.client import make_slack_client
from bot.slack.observed import (
    UPLOAD,
    CallWatch,
    method_of,
    observe_calls,
    rate_limited,
    retry_after_s,
)
from bot.telemetry.setup import telemetry_off
from sandbox.fakes.slack import FakeSlack
from tests.bot.telemetry.conftest import Recorded, recorded
from tests.e2e.conftest import fake_slack

__all__ = ["fake_slack", "recorded"]  # fixtures, used by name

BASE = "https://slack.com/api/"


@given(st.from_regex(r"[a-z]+(\.[a-zA-Z]+){1,2}", fullmatch=True))
def test_the_method_is_read_from_the_url(method: str) -> None:
    assert method_of(BASE + method, BASE) == method
    assert method_of(f"{BASE}{method}?cursor=x", BASE) == method


@given(st.text())
def test_a_url_outside_the_web_api_is_an_upload_never_its_path(path: str) -> None:
    assert method_of("https://files.slack.com/upload/v1/" + path, BASE) == UPLOAD


def test_a_rate_limit_is_a_429_or_ratelimited_in_the_body() -> None:
    assert rate_limited(429, None)
    assert rate_limited(200, {"ok": False, "error": "ratelimited"})
    assert rate_limited(200, {"ok": False, "error": "rate_limited"})
    assert not rate_limited(200, {"ok": False, "error": "not_in_channel"})
    assert not rate_limited(200, {"ok": True})


def test_retry_after_is_read_in_seconds_whatever_the_header_s_case() -> None:
    assert retry_after_s({"Retry-After": ["3"]}) == 3.0
    assert retry_after_s({"retry-after": "1"}) == 1.0
    assert retry_after_s({"Retry-After": ["soon"]}) is None
    assert retry_after_s({}) is None


async def test_with_telemetry_off_the_client_is_left_alone(fake_slack: FakeSlack) -> None:
    client = make_slack_client(fake_slack.bot_token, fake_slack.api_url)
    handlers = list(client.retry_handlers)
    observe_calls(client, telemetry_off())
    assert client.retry_handlers == handlers
    assert "api_call" not in vars(client)


async def test_a_call_in_a_trace_is_one_span_its_429_an_event_each_request_counted(
    fake_slack: FakeSlack, recorded: Recorded
) -> None:
    client = make_slack_client(fake_slack.bot_token, fake_slack.api_url)
    observe_calls(client, recorded.telemetry)
    observe_calls(client, recorded.telemetry)  # twice: still one watch, one span a call
    assert sum(isinstance(h, CallWatch) for h in client.retry_handlers) == 1
    fake_slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=1, times=1)
    with recorded.telemetry.tracer.start_as_current_span("run"):
        await client.chat_postMessage(channel="C1", text="a secret answer")
    call, _run = recorded.finished()
    assert call.name == "slack chat.postMessage"
    assert call.attributes is not None
    assert call.attributes["http.response.status_code"] == 200
    assert call.attributes["slack.ok"] is True
    assert [e.name for e in call.events] == ["slack.rate_limited"]
    assert "secret" not in str(dict(call.attributes))
    assert recorded.total("orchestra.slack.calls") == 2  # the 429 and the retry
    assert recorded.total("orchestra.slack.rate_limited") == 1


async def test_a_refused_call_s_span_says_slack_s_error(
    fake_slack: FakeSlack, recorded: Recorded
) -> None:
    client = make_slack_client(fake_slack.bot_token, fake_slack.api_url)
    observe_calls(client, recorded.telemetry)
    fake_slack.remove_bot("C1")
    with recorded.telemetry.tracer.start_as_current_span("run"), pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C1", text="hello")
    call, _run = recorded.finished()
    assert call.attributes is not None
    assert call.attributes["error.type"] == "not_in_channel"
    assert call.attributes["slack.ok"] is False


async def test_a_call_outside_any_trace_is_counted_but_opens_no_trace(
    fake_slack: FakeSlack, recorded: Recorded
) -> None:
    client = make_slack_client(fake_slack.bot_token, fake_slack.api_url)
    observe_calls(client, recorded.telemetry)
    await client.auth_test()
    assert not recorded.finished()
    assert recorded.total("orchestra.slack.calls") == 1
