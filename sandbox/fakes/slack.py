"""A fake Slack Web API on loopback: the methods the app calls, Slack's response shapes,
its limits (sizes, blocks, strict rate limits), fault injection, a record of every call,
and each channel's visible state. The real `slack_sdk` client talks to it via `api_url`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from sandbox.fakes.slack_limits import TEXT_LIMIT, RateLimiter, block_errors

BOT_USER, BOT_ID, TEAM = "UBOT", "B0BOT", "T0TEAM"


@dataclass
class Message:
    """A message as people in the workspace see it."""

    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    user: str = ""
    bot_id: str = ""
    thread_ts: str | None = None
    edited: int = 0

    def visible_text(self) -> str:
        """The text a person reads: the blocks' text, else the fallback text."""
        if not self.blocks:
            return self.text
        return "\n".join(_block_text(b) for b in self.blocks)

    def to_api(self) -> dict[str, Any]:
        """Slack's message shape."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.blocks:
            out["blocks"] = self.blocks
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"], out["user"] = self.bot_id, BOT_USER
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        return out


def _block_text(block: dict[str, Any]) -> str:
    text = block.get("text")
    if isinstance(text, dict):
        return str(text.get("text", ""))
    if isinstance(text, str):
        return text
    elements = block.get("elements") or []
    return " ".join(
        str(e.get("text", ""))
        if isinstance(e.get("text"), str)
        else str((e.get("text") or {}).get("text", ""))
        for e in elements
    )


@dataclass
class SlackFault:
    """An injected failure of a Web API method."""

    method: str
    error: str | None = None
    status: int = 200
    retry_after: int | None = None
    times: int | None = 1
    match: Callable[[dict[str, Any]], bool] | None = None
    reset: bool = False  # drop the connection before doing anything
    lost_reply: bool = False  # do the work, then drop the connection before answering


RESET = -1  # a recorded call's status when its connection was dropped


@dataclass
class RecordedCall:
    """One Web API call and its answer."""

    method: str
    args: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any]


@dataclass(frozen=True)
class StateChange:
    """A visible change, for live UIs."""

    kind: Literal["posted", "updated", "deleted", "ephemeral"]
    channel: str
    ts: str
    thread_ts: str | None


class FakeSlack:
    """The fake Web API. Use as `async with FakeSlack() as slack:`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",  # noqa: S107 - the fake's own token, not a secret
        strict_rate_limits: bool = False,
        text_limit: int = TEXT_LIMIT,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.bot_token = bot_token
        self.strict_rate_limits = strict_rate_limits
        self.text_limit = text_limit
        self._host, self._port = host, port
        self.limiter = RateLimiter()
        self.messages: dict[str, list[Message]] = {}
        self.ephemeral: list[tuple[str, str, str]] = []  # (channel, user, text)
        self.responses: list[dict[str, Any]] = []  # what arrived on response_url
        self.responses_to: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[RecordedCall] = []
        self.rate_limited: dict[str, int] = {}
        self._faults: list[SlackFault] = []
        self._clock_ts = time.time()
        self._subscribers: set[asyncio.Queue[StateChange]] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def api_url(self) -> str:
        """Base URL for slack_sdk (ends with /api/)."""
        return f"{self.url}/api/"

    @property
    def response_url(self) -> str:
        """Where slash-command replies (Bolt's `respond`) are posted."""
        return f"{self.url}/response"

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._dispatch)
        app.router.add_post("/response", self._response_url)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.url = f"http://{self._host}:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test and sandbox helpers -----------------------------------------------------

    def fail(self, method: str, **kwargs: Any) -> SlackFault:
        """Arm a failure of `method` (see SlackFault)."""
        fault = SlackFault(method, **kwargs)
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Disarm every injected failure."""
        self._faults.clear()

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one method."""
        return [c for c in self.calls if c.method == method]

    def counts_by_method(self) -> dict[str, int]:
        """How many calls each method received."""
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        return counts

    @property
    def rate_limited_count(self) -> int:
        """429s answered in all."""
        return sum(self.rate_limited.values())

    def channel_messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        return [m for m in self.messages.get(channel, []) if m.thread_ts in (None, m.ts)]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """A thread as people see it: the parent, then replies in order."""
        return [m for m in self.messages.get(channel, []) if m.ts == ts or m.thread_ts == ts]

    def find(self, channel: str, ts: str) -> Message | None:
        """A message by ts."""
        return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)

    def add_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> str:
        """A person posts; returns the new message's ts."""
        message = Message(self._next_ts(), channel, text, user=user, thread_ts=thread_ts)
        self._store(message)
        return message.ts

    def subscribe(self) -> asyncio.Queue[StateChange]:
        """A queue of every visible change from now on."""
        queue: asyncio.Queue[StateChange] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[StateChange]) -> None:
        """Stop delivering changes to `queue`."""
        self._subscribers.discard(queue)

    # --- internals --------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._clock_ts = max(self._clock_ts + 0.0001, time.time())
        return f"{self._clock_ts:.6f}"

    def _notify(
        self, kind: Literal["posted", "updated", "deleted", "ephemeral"], message: Message
    ) -> None:
        change = StateChange(kind, message.channel, message.ts, message.thread_ts)
        for queue in self._subscribers:
            queue.put_nowait(change)

    def _store(self, message: Message) -> None:
        self.messages.setdefault(message.channel, []).append(message)
        self._notify("posted", message)

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        status, body, headers = self._handle(method, args, request.headers.get("Authorization", ""))
        self.calls.append(RecordedCall(method, args, time.monotonic(), status, body))
        if status == RESET:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        return web.json_response(body, status=status, headers=headers)

    def _handle(
        self, method: str, args: dict[str, Any], auth: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = auth.removeprefix("Bearer ") or str(args.get("token", ""))
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.bot_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        fault = next(
            (
                f
                for f in self._faults
                if f.method == method
                and (f.times is None or f.times > 0)
                and (f.match is None or f.match(args))
            ),
            None,
        )
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
            if fault.reset:
                return RESET, {}, {}
            if fault.lost_reply:
                handler = _METHODS.get(method)
                return RESET, handler(self, args) if handler else {}, {}
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return fault.status, {"ok": False, "error": fault.error or "internal_error"}, headers
        if self.strict_rate_limits:
            wait = self.limiter.check(method, str(args.get("channel", "")))
            if wait > 0:
                self.rate_limited[method] = self.rate_limited.get(method, 0) + 1
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(max(1, round(wait)))},
                )
        handler = _METHODS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(self, args), {}

    def _content_error(self, args: dict[str, Any]) -> dict[str, Any] | None:
        text, blocks = str(args.get("text") or ""), args.get("blocks") or []
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if len(text) > self.text_limit:
            return {"ok": False, "error": "msg_too_long"}
        errors = block_errors(blocks) if isinstance(blocks, list) else ["blocks must be a list"]
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        return None

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        problem = self._content_error(args)
        if problem:
            return problem
        thread_ts = args.get("thread_ts") or None
        message = Message(
            self._next_ts(),
            channel,
            str(args.get("text") or ""),
            list(args.get("blocks") or []),
            bot_id=BOT_ID,
            thread_ts=str(thread_ts) if thread_ts else None,
        )
        self._store(message)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.to_api()}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        message = self.find(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.bot_id != BOT_ID:
            return {"ok": False, "error": "cant_update_message"}
        problem = self._content_error(args)
        if problem:
            return problem
        message.text, message.blocks = str(args.get("text") or ""), list(args.get("blocks") or [])
        message.edited += 1
        self._notify("updated", message)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "message": message.to_api(),
        }

    def _ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, user = str(args.get("channel") or ""), str(args.get("user") or "")
        if not channel or not user:
            return {"ok": False, "error": "invalid_arguments"}
        problem = self._content_error(args)
        if problem:
            return problem
        self.ephemeral.append((channel, user, str(args.get("text") or "")))
        self._notify(
            "ephemeral", Message(self._next_ts(), channel, str(args.get("text")), user=user)
        )
        return {"ok": True, "message_ts": self._next_ts()}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        thread = self.thread(channel, ts)
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        # Slack's paging: oldest first, `latest`/`oldest` bound the range, `cursor` continues.
        latest, oldest = args.get("latest"), args.get("oldest")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        if latest:
            thread = [m for m in thread if m.ts < latest or (inclusive and m.ts == latest)]
        if oldest:
            thread = [m for m in thread if m.ts > oldest or (inclusive and m.ts == oldest)]
        limit = min(int(args.get("limit") or 1000), 1000)
        cursor = str(args.get("cursor") or "")
        start = int(cursor.removeprefix("next:")) if cursor.startswith("next:") else 0
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        return {
            "ok": True,
            "messages": [m.to_api() for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": f"next:{start + limit}" if more else ""},
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://orchestra-sandbox.slack.com/",
            "team": "Sandbox",
            "user": "orchestra",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.find(str(args.get("channel") or ""), str(args.get("ts") or ""))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        self.messages[message.channel].remove(message)
        self._notify("deleted", message)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    async def _response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.responses.append(payload)
        # Each command may get its own response_url (`?to=<id>`), to tell replies apart.
        self.responses_to.setdefault(request.query.get("to", ""), []).append(payload)
        return web.Response(text="ok")


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._post_message,
    "chat.update": FakeSlack._update,
    "chat.postEphemeral": FakeSlack._ephemeral,
    "chat.delete": FakeSlack._delete,
    "conversations.replies": FakeSlack._replies,
}
