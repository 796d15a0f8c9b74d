"""Signed bodies of shapes Slack never sends (issue 19.11): an `event` that is a list, a
string or null, `actions: []`, an event or a click without the fields Slack always sends,
strings where objects are expected, a command without its response_url. Correctly signed,
so only a shape check stands between them and Bolt: each is answered 400, nothing runs, no
traceback is logged and the app goes on serving (before: 500 and a traceback from Bolt's
middleware or a listener). Then a property: any JSON put anywhere in a request Slack does
send, signed, never gets a 5xx or a traceback."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render.messages import CANCEL_ACTION
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.faults.conftest import serves_next_request
from tests.faults.test_abuse import (
    FORM,
    JSON,
    assert_no_crash_logged,
    debug_log,  # noqa: F401 - a fixture
    post_raw,
    sign_bytes,
)

pytestmark = pytest.mark.e2e


def envelope(event: Any, **fields: Any) -> dict[str, Any]:
    """An Events API envelope around `event`, as `signing.event_callback` makes it."""
    body: dict[str, Any] = json.loads(signing.event_callback({"type": "app_mention"})[0])
    return body | {"event": event} | fields


MENTION = {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.1", "channel": "C1"}
CLICK: dict[str, Any] = json.loads(
    urllib.parse.parse_qs(
        signing.block_action(
            action_id=CANCEL_ACTION, value="r1", user="U1", channel="C1", message_ts="1.0"
        )[0]
    )["payload"][0]
)
COMMAND: dict[str, str] = dict(
    urllib.parse.parse_qsl(
        signing.slash_command(command="/research", text="tides", user="U1", channel="C1")[0]
    )
)


def form(payload: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def command(**changes: str | None) -> bytes:
    fields = {k: v for k, v in (COMMAND | changes).items() if v is not None}
    return urllib.parse.urlencode(fields).encode()


NEVER_SENT: list[tuple[str, bytes, str]] = [
    ("event a list", json.dumps(envelope([])).encode(), JSON),
    ("event a string", json.dumps(envelope("app_mention")).encode(), JSON),
    ("event null", json.dumps(envelope(None)).encode(), JSON),
    ("event without a type", json.dumps(envelope({"user": "U1"})).encode(), JSON),
    ("mention without channel", json.dumps(envelope(MENTION | {"channel": None})).encode(), JSON),
    (
        "mention without ts",
        json.dumps(envelope({k: v for k, v in MENTION.items() if k != "ts"})).encode(),
        JSON,
    ),
    (
        "mention user an object",
        json.dumps(envelope(MENTION | {"user": {"id": "U1"}})).encode(),
        JSON,
    ),
    ("mention text a number", json.dumps(envelope(MENTION | {"text": 5})).encode(), JSON),
    ("authorizations a string", json.dumps(envelope(MENTION, authorizations="x")).encode(), JSON),
    ("team_id a list", json.dumps(envelope(MENTION, team_id=[])).encode(), JSON),
    (
        "stop with a number of streams",
        json.dumps(
            envelope({"type": "agent_session_stopped", "channel": "D1", "streaming_message_ts": 5})
        ).encode(),
        JSON,
    ),
    (
        "challenge an object",
        json.dumps({"type": "url_verification", "challenge": {}}).encode(),
        JSON,
    ),
    ("actions empty", form(CLICK | {"actions": []}), FORM),
    ("actions a string", form(CLICK | {"actions": "cancel"}), FORM),
    ("an action a number", form(CLICK | {"actions": [1]}), FORM),
    ("an action without action_id", form(CLICK | {"actions": [{"value": "r1"}]}), FORM),
    ("user a string", form(CLICK | {"user": "U1"}), FORM),
    ("no user", form({k: v for k, v in CLICK.items() if k != "user"}), FORM),
    ("channel a string", form(CLICK | {"channel": "C1"}), FORM),
    ("message a list", form(CLICK | {"message": []}), FORM),
    ("view a string", form({"type": "view_submission", "user": {"id": "U1"}, "view": "x"}), FORM),
    (
        "view without a type",
        form({"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "x"}}),
        FORM,
    ),
    ("type a number", form(CLICK | {"type": 5}), FORM),
    ("command without response_url", command(response_url=None), FORM),
    ("command without user_id", command(user_id=None), FORM),
    ("command without channel_id", command(channel_id=None), FORM),
]


@pytest.mark.parametrize(
    ("body", "kind"), [(b, k) for _, b, k in NEVER_SENT], ids=[n for n, _, _ in NEVER_SENT]
)
async def test_signed_shapes_slack_never_sends_get_400_and_no_traceback(
    debug_log: pytest.LogCaptureFixture,  # noqa: F811 - the fixture
    world: World,
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    body: bytes,
    kind: str,
) -> None:
    assert (
        await post_raw(world, body, {"Content-Type": kind, **sign_bytes(world.secret, body)}) == 400
    )
    assert (fake_slack.calls, fake_claude.calls) == ([], [])
    assert_no_crash_logged(debug_log)
    await serves_next_request(world)


# --- any JSON anywhere in a request Slack sends ----------------------------------------

ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
TEMPLATES: list[tuple[str, Any]] = [
    ("event", envelope(MENTION)),
    ("event", envelope(MENTION | {"type": "message", "channel": "D1", "channel_type": "im"})),
    ("event", envelope({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})),
    (
        "event",
        envelope(
            {
                "type": "agent_session_stopped",
                "user": "U1",
                "channel": "D1",
                "thread_ts": "1.0",
                "streaming_message_ts": ["1.1"],
            }
        ),
    ),
    ("event", {"type": "url_verification", "challenge": "c", "token": "t"}),
    ("payload", CLICK),
    (
        "payload",
        {
            "type": "view_submission",
            "user": {"id": "U1"},
            "view": {"type": "modal", "callback_id": "x", "state": {"values": {}}},
        },
    ),
    ("command", COMMAND),
]
KEYS = st.sampled_from(
    [
        "type",
        "event",
        "user",
        "channel",
        "ts",
        "text",
        "actions",
        "action_id",
        "value",
        "message",
        "view",
        "team",
        "authorizations",
        "response_url",
        "command",
        "user_id",
        "channel_id",
        "thread_ts",
        "tab",
        "streaming_message_ts",
        "state",
    ]
)


def places(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into a JSON value (its own: `()`)."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += places(child, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    """A request Slack sends with one to three places changed to any JSON, removed, or given
    a field that Bolt or the app reads."""
    kind, template = draw(st.sampled_from(TEMPLATES))
    body = json.loads(json.dumps(template))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(places(body)[1:]))
        parent: Any = body
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(["replace", "remove", "add"]))
        if how == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif how == "add" and isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(KEYS)] = draw(ANY_JSON)
        else:
            parent[path[-1]] = draw(ANY_JSON)
    if kind == "command":
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        return urllib.parse.urlencode(fields).encode(), FORM
    if kind == "payload":
        return form(body), FORM
    return json.dumps(body).encode(), JSON


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=mutated())
async def test_any_json_anywhere_in_a_signed_request_never_gets_a_5xx_or_a_traceback(
    debug_log: pytest.LogCaptureFixture,  # noqa: F811 - the fixture
    world: World,
    request: tuple[bytes, str],
) -> None:
    body, kind = request
    # A fresh timestamp each time: the same body twice is a replay (401), not a shape.
    headers = {"Content-Type": kind, **sign_bytes(world.secret, body, int(time.time()))}
    status = await post_raw(world, body, headers)
    assert status < 500, body
    crashes = [r for r in debug_log.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not crashes, (body, [r.getMessage() for r in crashes])
    assert "Traceback" not in debug_log.text
