"""A fake Slack Web API on loopback: the methods the app calls, Slack's response shapes and
documented refusals, its limits (sizes, blocks, channel membership, ephemeral visibility,
response_url expiry, strict rate limits), fault injection, a record of every call, and each
channel's visible state, streamed messages, assistant statuses and agent sessions included
(see `sandbox/fakes/slack_streams.py`). The real `slack_sdk` client talks to it via `api_url`.

The app is an agent-view app (manifest `features.agent_view`), as every new app must be since
2026-07-21: opening its DM is `app_home_opened` with tab "messages" (`signing.home_opened`),
there is no `assistant_thread_started` and no thread root posted by Slack, each top-level DM
is a thread of its own, and suggested prompts belong to the DM, not a thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from sandbox.fakes.slack_canvases import (
    CANVAS_MARKDOWN_LIMIT,
    Canvas,
    UploadedFile,
    canvases_access_set,
    canvases_create,
    canvases_delete,
    canvases_edit,
    complete_upload,
    get_upload_url,
    receive_upload,
)
from sandbox.fakes.slack_directory import (
    APP_SCOPES,
    METHOD_SCOPES,
    SCOPE_FAMILY,
    Conversation,
    ConversationType,
    Guest,
    Role,
    implied_type,
    missing_scope,
    page,
    user_object,
)
from sandbox.fakes.slack_limits import (
    BLOCKS_TOO_LONG,
    HOME_VIEW_BLOCKS,
    MAX_BLOCKS,
    MESSAGE_BLOCKS_TEXT,
    POST_TEXT_LIMIT,
    RESPONSE_URL_TTL_S,
    RESPONSE_URL_USES,
    SESSION_PROCESSING_S,
    SESSION_STATUSES,
    SESSION_TITLE,
    STATUS_TIMEOUT_S,
    STREAM_IDLE_S,
    STREAM_MAX_S,
    STREAM_TEXT,
    TASK_DISPLAY_MODES,
    TEXT_LIMIT,
    Rate,
    RateLimiter,
    block_errors,
    blocks_format_ok,
    blocks_text_length,
    undocumented,
)
from sandbox.fakes.slack_oauth import OAuthApp
from sandbox.fakes.slack_streams import (
    AgentSession,
    SessionCause,
    SessionChange,
    StatusChange,
    Stream,
    StreamMethod,
    StreamWrite,
    SuggestedPrompts,
    chunk_text,
    chunks_problem,
    invalid_arguments,
    loading_messages_problem,
    prompts_problem,
    too_long,
)
from sandbox.fakes.slack_views import Views, issue_trigger, views_open

BOT_USER, BOT_ID, TEAM = "UBOT", "B0BOT", "T0TEAM"
BOT_NAME = "Orchestra"  # the bot user's display name
WORKSPACE_URL = "https://orchestra-sandbox.slack.com/"


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
    subtype: str = ""  # e.g. "assistant_app_thread": the root of a thread with the app
    # A streamed message shows its stream (plan, tasks, text) above its blocks, until an edit
    # (chat.update) replaces what it shows; `FakeSlack.streams` keeps the record either way.
    stream: Stream | None = None
    files: list[dict[str, Any]] = field(default_factory=list)  # files shared with it

    def visible_text(self) -> str:
        """The text a person reads: the blocks' text, else the fallback text."""
        if self.stream is not None:
            return "\n".join([self.stream.display(), *(_block_text(b) for b in self.blocks)])
        names = [f"[file: {f.get('name', '')}]" for f in self.files]
        if not self.blocks:
            return "\n".join([self.text, *names]) if names else self.text
        return "\n".join([*(_block_text(b) for b in self.blocks), *names])

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
        if self.subtype:
            out["subtype"] = self.subtype
        if self.files:
            out["files"] = self.files
        return out


def _with_replies(parent: Message, replies: list[Message]) -> dict[str, Any]:
    """A thread's parent as conversations.replies shows it: with its thread's fields."""
    out = parent.to_api()
    if replies:
        people = list(dict.fromkeys(m.user or BOT_USER for m in replies))
        out.update(
            reply_count=len(replies),
            reply_users=people[:5],
            reply_users_count=len(people),
            latest_reply=replies[-1].ts,
            thread_ts=parent.ts,
        )
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
    delay_s: float = 0.0  # first hang this long (with `reset`: a request that never arrives)


RESET = -1  # a recorded call's status when its connection was dropped


@dataclass(frozen=True)
class Ephemeral:
    """A chat.postEphemeral Slack accepted, and whether its recipient can see it."""

    channel: str
    user: str
    text: str
    thread_ts: str | None
    shown: bool


@dataclass
class ResponseUrl:
    """One interaction's response_url: when Slack issued it and how often it was used."""

    issued_at: float
    uses: int = 0


@dataclass
class RecordedCall:
    """One Web API call and its answer."""

    method: str
    args: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any]
    token: str = ""  # the token it was made with (Bearer or a `token` argument)


ChangeKind = Literal[
    "posted", "updated", "deleted", "ephemeral", "status", "prompts", "title", "session", "home"
]


@dataclass(frozen=True)
class StateChange:
    """A visible change, for live UIs: a message posted, edited (a stream's append and stop
    too), deleted or shown privately, or an assistant thread's status line, suggested prompts
    or title set, or its agent session's status (`ts` and `thread_ts` are then the thread's),
    or a person's Home tab published (`home`: `channel` is the person's id, `ts` empty)."""

    kind: ChangeKind
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
        blocks_text_limit: int = MESSAGE_BLOCKS_TEXT,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
        stream_idle_s: float = STREAM_IDLE_S,
        stream_max_s: float | None = STREAM_MAX_S,
        stream_text_limit: int = STREAM_TEXT,
        status_timeout_s: float = STATUS_TIMEOUT_S,
        scopes: frozenset[str] = APP_SCOPES,
        session_processing_s: float = SESSION_PROCESSING_S,
    ) -> None:
        self.bot_token = bot_token
        self.strict_rate_limits = strict_rate_limits
        self.text_limit = text_limit
        self.blocks_text_limit = blocks_text_limit
        # When Slack ends a stream on its own (see STREAM_IDLE_S); None: no maximum age.
        self.stream_idle_s = stream_idle_s
        self.stream_max_s = stream_max_s
        self.stream_text_limit = stream_text_limit
        self.status_timeout_s = status_timeout_s
        # What the app's token may do (default: what manifest.yml asks for); a call without
        # the scope it needs is refused with `missing_scope`.
        self.scopes = scopes
        self.session_processing_s = session_processing_s
        self._sessions: dict[tuple[str, str], AgentSession] = {}
        self._streams: list[Stream] = []
        self._statuses: dict[tuple[str, str], list[StatusChange]] = {}
        self.titles: dict[tuple[str, str], str] = {}  # (channel, thread_ts) -> assistant title
        # (channel, thread_ts or "") -> the prompts last set there
        self.suggested_prompts: dict[tuple[str, str], SuggestedPrompts] = {}
        self._clock = clock
        self._skew = 0.0  # added by `advance`, so tests need not wait half an hour
        self._host, self._port = host, port
        self.limiter = RateLimiter()
        self.messages: dict[str, list[Message]] = {}
        # The bot is in every channel unless removed (`remove_bot`); archived ones refuse posts.
        self.not_member: set[str] = set()
        self.archived: set[str] = set()
        self.ephemerals: list[Ephemeral] = []
        self.home_views: dict[str, dict[str, Any]] = {}  # user -> their published Home tab
        self.users: dict[str, str] = {BOT_USER: BOT_NAME}  # user id -> display name
        self.guests: dict[str, Guest] = {}  # user id -> the kind of guest they are
        self.roles: dict[str, Role] = {}  # user id -> admin, owner (users.info is_admin ...)
        # Who is in which conversation: declared (`add_channel`), or implied by the ID's
        # letter with the people who posted in it as members (`conversation`).
        self.conversations: dict[str, Conversation] = {}
        self.page_size: int | None = None  # list pages hold at most this many (None: limit)
        # conversations.replies' default and largest `limit`: 1,000 (Tier 3: internal and
        # Marketplace apps); 15, at one call a minute, for apps distributed outside the
        # Marketplace (new installs since 2025-05-29, all since 2026-03-03).
        self.replies_max = 1000
        self.ephemeral: list[tuple[str, str, str]] = []  # (channel, user, text), shown or not
        self.responses: list[dict[str, Any]] = []  # what response_urls delivered
        self.responses_to: dict[str, list[dict[str, Any]]] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self.calls: list[RecordedCall] = []
        self.rate_limited: dict[str, int] = {}
        self._faults: list[SlackFault] = []
        # Set by `revoke_bot_token`: every call with the bot token is refused with this code.
        self.bot_token_refused = ""
        # Answers apps.connections.open for the app-level token (`slack_socket.FakeSocketMode`).
        self.connections_open: Callable[[str], dict[str, Any]] | None = None
        # The app installed by OAuth: more workspaces, each with its own bot token
        # (`sandbox.fakes.slack_oauth`); `bot_token` stays the single-workspace install.
        self.oauth = OAuthApp()
        self._clock_ts = time.time()
        self._subscribers: set[asyncio.Queue[StateChange]] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""
        # Canvases and uploaded files (`sandbox/fakes/slack_canvases.py`). `free_team`: a free
        # workspace, which refuses canvases not tabbed in a channel; `canvases_disabled`: an
        # admin turned canvases off (`canvas_disabled_user_team`).
        self.canvases: dict[str, Canvas] = {}
        self.files: dict[str, UploadedFile] = {}
        self.free_team = False
        self.canvases_disabled = False
        self.canvas_markdown_limit = CANVAS_MARKDOWN_LIMIT
        # Trigger ids and modals (`sandbox/fakes/slack_views.py`).
        self.views = Views()

    @property
    def api_url(self) -> str:
        """Base URL for slack_sdk (ends with /api/)."""
        return f"{self.url}/api/"

    @property
    def response_url(self) -> str:
        """A fresh response_url, as Slack sends with each command or click (read once per
        interaction): it takes 5 posts within 30 minutes, then answers 404 `expired_url`."""
        token = str(len(self._response_urls) + 1)
        self._response_urls[token] = ResponseUrl(self.now())
        return f"{self.url}/response/{token}"

    def issue_trigger(self, user: str) -> str:
        """A trigger id for a click of `user` (pass it in the click's payload): views.open
        takes it once, within 3 s."""
        return issue_trigger(self, user)

    def now(self) -> float:
        """The fake's clock (seconds), which `advance` moves forward."""
        return self._clock() + self._skew

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass for everything that expires (response_urls, streams, statuses)."""
        self._skew += seconds

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._dispatch)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
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
        """Arm a failure of `method` (see SlackFault); only an error Slack documents for it."""
        fault = SlackFault(method, **kwargs)
        if not (fault.reset or fault.lost_reply):
            error = fault.error or "internal_error"
            problem = undocumented(method, error, fault.status)
            if problem is not None:
                raise ValueError(f"not a fault Slack can answer: {problem}")
        self._faults.append(fault)
        return fault

    def revoke_bot_token(self, error: str = "token_revoked") -> None:
        """The app is uninstalled or its token revoked: from now on Slack answers every call
        made with the bot token `error` (`token_revoked`, `account_inactive`, `invalid_auth`)."""
        self.bot_token_refused = error

    def remove_bot(self, channel: str) -> None:
        """The bot leaves (or was never invited to) `channel`: posting there is refused."""
        self.not_member.add(channel)

    def add_bot(self, channel: str) -> None:
        """Someone invites the bot to `channel`."""
        self.not_member.discard(channel)

    def archive(self, channel: str) -> None:
        """`channel` is archived: it refuses new messages and edits."""
        self.archived.add(channel)

    def visible_ephemeral(self, user: str, channel: str | None = None) -> list[str]:
        """The ephemeral messages `user` can see (in `channel`, if given), oldest first."""
        return [
            e.text
            for e in self.ephemerals
            if e.shown and e.user == user and channel in (None, e.channel)
        ]

    def add_user(self, user: str, display_name: str, *, guest: Guest = "", role: Role = "") -> None:
        """A person joins the workspace (what `users.info` answers for them), as a full
        member, or a "multi"- or "single"-channel guest (who sees only the conversations
        they are in, public channels included); `role`: an admin or owner of it."""
        self.users[user] = display_name
        self.guests[user] = guest
        self.roles[user] = role

    def add_channel(
        self,
        channel: str,
        kind: ConversationType = "public_channel",
        members: tuple[str, ...] = (),
        name: str = "",
    ) -> Conversation:
        """Declare a conversation, its type and who is in it (the bot is in it unless
        `remove_bot`)."""
        conversation = Conversation(channel, kind, set(members), name)
        self.conversations[channel] = conversation
        return conversation

    def conversation(self, channel: str) -> Conversation:
        """A conversation as declared, else as its ID implies (see `implied_type`)."""
        found = self.conversations.get(channel)
        if found is None:
            found = self.conversations[channel] = Conversation(channel, implied_type(channel))
        return found

    def join(self, channel: str, user: str) -> None:
        """`user` joins (or is invited to) `channel`."""
        self.conversation(channel).members.add(user)

    def leave(self, channel: str, user: str) -> None:
        """`user` leaves (or is removed from) `channel`."""
        self.conversation(channel).members.discard(user)

    def is_in(self, channel: str, user: str) -> bool:
        """Whether `user` (the bot too) is a member of `channel`."""
        if user == BOT_USER:
            return channel not in self.not_member
        return user in self.conversation(channel).members

    def thread_exists(self, channel: str, ts: str) -> bool:
        """Whether the message `ts` has replies, i.e. there is a thread to show things in."""
        return any(m.thread_ts == ts and m.ts != ts for m in self.messages.get(channel, []))

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
        """A person posts (so is in the conversation); returns the new message's ts."""
        self.join(channel, user)
        message = Message(self._next_ts(), channel, text, user=user, thread_ts=thread_ts)
        self._store(message)
        return message.ts

    def outside_marketplace(self) -> None:
        """Slack's limits for an app distributed outside the Marketplace (since 2026-03-03
        for every install): conversations.replies pages of at most 15, one call a minute."""
        self.replies_max = 15
        self.strict_rate_limits = True
        self.limiter.rates["conversations.replies"] = Rate(1 / 60, 1)

    # --- canvases and files, for tests and the sandbox ---------------------------------

    def canvas_link(self, canvas_id: str) -> str:
        """A canvas's address in the workspace (Slack's shape: /docs/<team>/<canvas id>)."""
        return f"{WORKSPACE_URL}docs/{TEAM}/{canvas_id}"

    def share_files(
        self, channel: str, thread_ts: str | None, comment: str, files: list[UploadedFile]
    ) -> Message:
        """Files shared by the app: a message of the bot's carrying them (in the thread)."""
        message = Message(
            self._next_ts(),
            channel,
            comment,
            bot_id=BOT_ID,
            thread_ts=thread_ts,
            files=[f.to_api() for f in files],
        )
        self._store(message)
        return message

    async def _upload(self, request: web.Request) -> web.Response:
        return await receive_upload(self, request)

    # --- agent sessions, for tests ------------------------------------------------------

    def session(self, channel: str, thread_ts: str) -> AgentSession | None:
        """A thread's agent session, if it has one."""
        return self._sessions.get((channel, thread_ts))

    def session_status(self, channel: str, thread_ts: str) -> str:
        """What the thread's session shows now ("" when it has none): "processing" is a
        spinner and a stop button."""
        session = self.session(channel, thread_ts)
        return session.status_at(self.now(), self.session_processing_s) if session else ""

    def sessions_processing(self) -> list[AgentSession]:
        """Every session that shows a spinner and a stop button now."""
        return [
            s
            for s in self._sessions.values()
            if s.status_at(self.now(), self.session_processing_s) == "processing"
        ]

    # --- streams and assistant threads, for tests ---------------------------------------

    @property
    def streams(self) -> list[Stream]:
        """Every streamed message, oldest first, each in its current state."""
        for stream in self._streams:
            stream.expire(self.now(), self.stream_idle_s, self.stream_max_s)
        return list(self._streams)

    def stream(self, channel: str, ts: str) -> Stream | None:
        """The stream that wrote message `ts`, if it was streamed."""
        return next((s for s in self.streams if s.channel == channel and s.ts == ts), None)

    def streams_in(self, channel: str, thread_ts: str) -> list[Stream]:
        """The streamed replies in a thread, oldest first."""
        return [s for s in self.streams if s.channel == channel and s.thread_ts == thread_ts]

    def status_changes(self, channel: str, thread_ts: str) -> list[StatusChange]:
        """A thread's assistant status over time: each set, clear, reply and timeout."""
        changes = self._statuses.get((channel, thread_ts), [])
        if changes and changes[-1].status:
            ends = changes[-1].at + self.status_timeout_s
            if self.now() > ends:  # Slack removes a status left two minutes without a message
                changes.append(StatusChange("", ends, "timeout"))
        return list(changes)

    def status_history(self, channel: str, thread_ts: str) -> list[str]:
        """The statuses a thread showed, in order; "" where it was cleared."""
        return [c.status for c in self.status_changes(channel, thread_ts)]

    def status(self, channel: str, thread_ts: str) -> str:
        """The assistant status a thread shows now ("" for none)."""
        changes = self.status_changes(channel, thread_ts)
        return changes[-1].status if changes else ""

    def user_stops(self, channel: str, thread_ts: str, user: str) -> list[str]:
        """A person presses the native stop button on the agent's work in a thread: Slack stops
        the thread's live streams (appends then answer `stopped_by_user`) and sends the app
        `agent_session_stopped` (`signing.agent_session_stopped`) naming them; returns their ts."""
        stopped = [s for s in self.streams_in(channel, thread_ts) if s.state == "streaming"]
        for stream in stopped:
            stream.state, stream.ended_at, stream.stopped_by = "stopped_by_user", self.now(), user
            self._announce("updated", channel, stream.ts, thread_ts)
        return [s.ts for s in stopped]

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

    def _notify(self, kind: ChangeKind, message: Message) -> None:
        self._announce(kind, message.channel, message.ts, message.thread_ts)

    def _announce(self, kind: ChangeKind, channel: str, ts: str, thread_ts: str | None) -> None:
        change = StateChange(kind, channel, ts, thread_ts)
        for queue in self._subscribers:
            queue.put_nowait(change)

    def _store(self, message: Message) -> None:
        self.messages.setdefault(message.channel, []).append(message)
        self._notify("posted", message)
        if message.bot_id and message.thread_ts:
            self._replied(message.channel, message.thread_ts)

    def _replied(self, channel: str, thread_ts: str) -> None:
        # setStatus: "The status will be automatically cleared when the app sends a reply."
        if self.status(channel, thread_ts):
            self._statuses[(channel, thread_ts)].append(StatusChange("", self.now(), "reply"))

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "attachments", "view", "chunks", "prompts", "loading_messages"):
            if isinstance(args.get(key), str):
                # A form post carries JSON as text; text that is not JSON stays text and is
                # refused by the method's own check (`invalid_blocks_format`, `invalid_chunks`).
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        fault = self._fault_for(method, args)
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        authorization = request.headers.get("Authorization", "")
        status, body, headers = self._handle(method, args, authorization)
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else ""
        token = token or str(args.get("token", ""))
        self.calls.append(RecordedCall(method, args, time.monotonic(), status, body, token))
        if status == RESET:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        return web.json_response(body, status=status, headers=headers)

    def _handle(
        self, method: str, args: dict[str, Any], auth: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "oauth.v2.access":  # the app's credentials, not a token
            return 200, self.oauth.access(args, auth, self.now()), {}
        token = auth.removeprefix("Bearer ") or str(args.get("token", ""))
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if method == "apps.connections.open" and self.connections_open is not None:
            return 200, self.connections_open(token), {}
        installed = self.oauth.team_of(token)
        if token != self.bot_token and installed is None:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if installed is not None and installed.revoked:
            return 200, {"ok": False, "error": "token_revoked"}, {}
        if installed is not None and method == "auth.test":
            return 200, installed.auth_test(), {}
        if self.bot_token_refused:
            return 200, {"ok": False, "error": self.bot_token_refused}, {}
        refusal = missing_scope(self._scopes_needed(method, args), self.scopes)
        if refusal is not None:
            return 200, refusal, {}
        fault = self._fault_for(method, args)
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

    def _scopes_needed(self, method: str, args: dict[str, Any]) -> list[str]:
        """The scopes a call needs: its method's, or those of the conversations it reads."""
        if method in METHOD_SCOPES:
            return [METHOD_SCOPES[method]]
        if method == "users.conversations":
            kinds = str(args.get("types") or "public_channel").split(",")
            families = [SCOPE_FAMILY[k.strip()] for k in kinds if k.strip() in SCOPE_FAMILY]
            return [f"{family}:read" for family in dict.fromkeys(families)]
        channel = str(args.get("channel") or "")
        if channel and method in ("conversations.info", "conversations.replies"):
            verb = "read" if method == "conversations.info" else "history"
            return [f"{SCOPE_FAMILY[self.conversation(channel).type]}:{verb}"]
        return []

    def _fault_for(self, method: str, args: dict[str, Any]) -> SlackFault | None:
        return next(
            (
                f
                for f in self._faults
                if f.method == method
                and (f.times is None or f.times > 0)
                and (f.match is None or f.match(args))
            ),
            None,
        )

    def _content_error(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's refusal of a message's content, by the code `method` documents for it."""
        text, blocks = str(args.get("text") or ""), args.get("blocks") or []
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        # chat.postMessage truncates long text instead (see POST_TEXT_LIMIT).
        if method != "chat.postMessage" and len(text) > self.text_limit:
            return {"ok": False, "error": "msg_too_long"}
        if not blocks_format_ok(blocks):
            return {"ok": False, "error": "invalid_blocks_format"}
        if blocks_text_length(blocks) > self.blocks_text_limit:
            return {"ok": False, "error": BLOCKS_TOO_LONG[method]}
        errors = block_errors(blocks)
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        return None

    def _channel_error(self, method: str, channel: str) -> dict[str, Any] | None:
        """Slack's refusal to post or edit in `channel`: unknown, archived, or not a member."""
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.archived:
            # chat.update documents `is_inactive` for "a frozen, archived or deleted channel".
            return {
                "ok": False,
                "error": "is_inactive" if method == "chat.update" else "is_archived",
            }
        if channel in self.not_member:
            # The manifest has no chat:write.public: the bot posts only where it was invited.
            # chat.update documents no `not_in_channel`; a channel it cannot see is "not found".
            error = "channel_not_found" if method == "chat.update" else "not_in_channel"
            return {"ok": False, "error": error}
        return None

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        problem = self._channel_error("chat.postMessage", channel) or self._content_error(
            "chat.postMessage", args
        )
        if problem:
            return problem
        thread_ts = args.get("thread_ts") or None
        message = Message(
            self._next_ts(),
            channel,
            str(args.get("text") or "")[:POST_TEXT_LIMIT],
            list(args.get("blocks") or []),
            bot_id=BOT_ID,
            thread_ts=str(thread_ts) if thread_ts else None,
        )
        self._store(message)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.to_api()}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        problem = self._channel_error("chat.update", channel)
        if problem:
            return problem
        message = self.find(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.bot_id != BOT_ID:
            return {"ok": False, "error": "cant_update_message"}
        stream = self.stream(channel, ts)
        if stream is not None and stream.state == "streaming":
            return {"ok": False, "error": "streaming_state_conflict"}
        problem = self._content_error("chat.update", args)
        if problem:
            return problem
        message.stream = None  # the edit replaces what the stream showed
        message.text = str(args.get("text") or "")
        # Slack keeps a message's blocks when an edit omits `blocks`; `[]` removes them.
        if "blocks" in args:
            message.blocks = list(args.get("blocks") or [])
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
        problem = self._channel_error("chat.postEphemeral", channel)
        if problem:
            return problem
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        problem = self._content_error("chat.postEphemeral", args)
        if problem:
            return problem
        text, thread_ts = str(args.get("text") or ""), str(args.get("thread_ts") or "") or None
        # Slack: "Ephemeral messages in threads are only shown if there is already an active
        # thread." Accepted either way (ok: true), but aimed at a thread that does not exist,
        # nobody ever sees it.
        shown = thread_ts is None or self.thread_exists(channel, thread_ts)
        self.ephemerals.append(Ephemeral(channel, user, text, thread_ts, shown))
        self.ephemeral.append((channel, user, text))
        if shown:
            self._notify("ephemeral", Message(self._next_ts(), channel, text, user=user))
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user, view = str(args.get("user_id") or ""), args.get("view")
        if not user or not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        blocks = view.get("blocks") or []
        errors = block_errors(blocks[:MAX_BLOCKS]) if isinstance(blocks, list) else ["list"]
        if not isinstance(blocks, list) or len(blocks) > HOME_VIEW_BLOCKS or errors:
            return {"ok": False, "error": "invalid_arguments", "errors": errors}
        self.home_views[user] = view
        self._announce("home", user, "", None)
        return {"ok": True, "view": {"id": f"V{len(self.home_views)}", **view}}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if not channel or channel in self.not_member:
            return {"ok": False, "error": "channel_not_found"}
        thread = self.thread(channel, ts) if ts else []
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        # Slack's paging (its conversations.replies page, read 2026-12): oldest first; the
        # parent first on every first page, whatever the range, and counted in `limit`;
        # `latest`/`oldest` bound the replies (`inclusive` takes in both ends); `limit`
        # defaults to its maximum (`replies_max`); `cursor` goes on to newer replies.
        parent, replies = thread[0], thread[1:]
        latest, oldest = args.get("latest"), args.get("oldest")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        if latest:
            replies = [m for m in replies if m.ts < latest or (inclusive and m.ts == latest)]
        if oldest:
            replies = [m for m in replies if m.ts > oldest or (inclusive and m.ts == oldest)]
        limit = max(1, min(int(args.get("limit") or self.replies_max), self.replies_max))
        cursor = str(args.get("cursor") or "")
        start = int(cursor.removeprefix("next:")) if cursor.startswith("next:") else 0
        first = [] if cursor else [_with_replies(parent, thread[1:])]
        end = start + limit - len(first)
        page = first + [m.to_api() for m in replies[start:end]]
        more = end < len(replies)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": f"next:{end}" if more else ""},
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": "Sandbox",
            "user": "orchestra",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user") or "")
        name = self.users.get(user)
        if name is None:
            return {"ok": False, "error": "user_not_found"}
        guest, role = self.guests.get(user, ""), self.roles.get(user, "")
        return {"ok": True, "user": user_object(user, name, TEAM, guest, role)}

    def _users_conversations(self, args: dict[str, Any]) -> dict[str, Any]:
        kinds = [k.strip() for k in str(args.get("types") or "public_channel").split(",")]
        if not all(k in SCOPE_FAMILY for k in kinds):
            return {"ok": False, "error": "invalid_types"}
        user = str(args.get("user") or BOT_USER)
        skip_archived = str(args.get("exclude_archived", "")).lower() in ("1", "true")
        # "Non-public channels are restricted to those where the calling user shares
        # membership": the bot lists a person's private ones only where it is too.
        found = [
            c
            for c in sorted(self.conversations.values(), key=lambda c: c.id)
            if c.type in kinds
            and self.is_in(c.id, user)
            and (c.type == "public_channel" or self.is_in(c.id, BOT_USER))
            and not (skip_archived and c.id in self.archived)
        ]
        paged = page(found, args, self.page_size)
        if isinstance(paged, str):
            return {"ok": False, "error": paged}
        shown, cursor = paged
        return {
            "ok": True,
            "channels": [
                c.to_api(bot_member=self.is_in(c.id, BOT_USER), archived=c.id in self.archived)
                for c in shown
            ],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        conversation = self.conversation(channel)
        bot_member = self.is_in(channel, BOT_USER)
        if conversation.type != "public_channel" and not bot_member:
            # A private conversation the bot is not in does not exist as far as it can tell.
            return {"ok": False, "error": "channel_not_found"}
        shown = conversation.to_api(bot_member=bot_member, archived=channel in self.archived)
        return {"ok": True, "channel": shown}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel or channel in self.not_member:
            return {"ok": False, "error": "channel_not_found"}
        message = self.find(channel, str(args.get("ts") or ""))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        self.messages[message.channel].remove(message)
        self._notify("deleted", message)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    # --- native streaming -------------------------------------------------------------

    def _start_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = str(args.get("channel") or ""), str(args.get("thread_ts") or "")
        problem = self._channel_error("chat.startStream", channel)
        if problem:
            return problem
        if not thread_ts:
            # The page marks thread_ts optional since 2026-08, yet says "Streamed messages should
            # always be replies" and Slack refuses a stream outside a thread
            # (NangoHQ/integration-templates#676); slack_sdk requires it too.
            return invalid_arguments("missing required field: thread_ts")
        if not channel.startswith("D"):
            # "Required when streaming to channels": only that one person sees it stream.
            for name in ("recipient_team_id", "recipient_user_id"):
                if not args.get(name):
                    return {"ok": False, "error": f"missing_{name}"}
        mode = str(args.get("task_display_mode") or "timeline")
        if mode not in TASK_DISPLAY_MODES:
            return invalid_arguments(
                f"task_display_mode must be one of {sorted(TASK_DISPLAY_MODES)}"
            )
        message = Message(self._next_ts(), channel, "", bot_id=BOT_ID, thread_ts=thread_ts)
        stream = Stream(
            channel,
            message.ts,
            thread_ts,
            started := self.now(),
            mode,
            recipient_user_id=args.get("recipient_user_id"),
            recipient_team_id=args.get("recipient_team_id"),
        )
        problem = self._write(stream, "chat.startStream", args, started)
        if problem:
            return problem
        message.stream = stream
        self._show(message, stream)
        self._streams.append(stream)
        self._store(message)
        # A streaming reply shows the agent at work: its thread's session is processing.
        self._session_to(channel, thread_ts, "processing", "stream")
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _append_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._streamed("chat.appendStream", args)
        if isinstance(found, dict):
            return found
        message, stream = found
        if stream.state == "stopped_by_user":
            return {"ok": False, "error": "stopped_by_user"}
        if stream.state != "streaming":
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if not args.get("markdown_text") and not args.get("chunks"):
            return {"ok": False, "error": "no_text"}
        problem = self._write(stream, "chat.appendStream", args, self.now())
        if problem:
            return problem
        self._show(message, stream)
        self._notify("updated", message)
        return {"ok": True, "channel": stream.channel, "ts": stream.ts}

    def _stop_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._streamed("chat.stopStream", args)
        if isinstance(found, dict):
            return found
        message, stream = found
        # After the stop button Slack asks the app to end the session "using either
        # agents.sessions.setStatus or chat.stopStream" (agent_session_stopped), so a stream the
        # person stopped still takes its final stop; one that stopped or expired does not.
        if stream.state not in ("streaming", "stopped_by_user"):
            return {"ok": False, "error": "message_not_in_streaming_state"}
        blocks = args.get("blocks") or []
        problem = self._blocks_error(blocks) or self._write(
            stream, "chat.stopStream", args, self.now()
        )
        if problem:
            return problem
        stream.blocks += blocks
        stream.metadata = args.get("metadata")
        stream.state, stream.ended_at = "stopped", self.now()
        self._show(message, stream)
        self._notify("updated", message)
        # A successful stop is one of the two ways a session leaves processing
        # (agent_session_stopped); slack_sdk also sends an optional `session_status`.
        wanted = args.get("session_status")
        self._session_to(
            stream.channel,
            stream.thread_ts,
            wanted if wanted in SESSION_STATUSES else "active",
            "stopStream",
            only_from="processing",
        )
        return {
            "ok": True,
            "channel": stream.channel,
            "ts": stream.ts,
            "message": {**message.to_api(), "subtype": "bot_message"},
        }

    def _streamed(
        self, method: str, args: dict[str, Any]
    ) -> tuple[Message, Stream] | dict[str, Any]:
        """The streamed message an append or stop names, or Slack's refusal."""
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        problem = self._channel_error(method, channel)
        if problem:
            return problem
        if not ts:
            return invalid_arguments("missing required field: ts")
        message = self.find(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.bot_id != BOT_ID:
            return {"ok": False, "error": "message_not_owned_by_app"}
        stream = self.stream(channel, ts)
        if stream is None:  # a message posted, not streamed
            return {"ok": False, "error": "message_not_in_streaming_state"}
        return message, stream

    def _write(
        self, stream: Stream, method: StreamMethod, args: dict[str, Any], at: float
    ) -> dict[str, Any] | None:
        """Add one call's text and chunks to `stream` at `at`, or say why Slack refuses them."""
        markdown_text, chunks = args.get("markdown_text") or "", args.get("chunks") or []
        if not isinstance(markdown_text, str):
            return invalid_arguments("markdown_text must be a string")
        problem = chunks_problem(chunks)
        if problem:
            return {
                "ok": False,
                "error": "invalid_chunks",
                "response_metadata": {"messages": [f"[ERROR] {problem}"]},
            }
        for chunk in chunks:
            refusal = self._blocks_error(chunk["blocks"]) if chunk["type"] == "blocks" else None
            if refusal:
                return refusal
        if too_long(markdown_text, chunks):
            return {"ok": False, "error": "msg_too_long"}
        write = StreamWrite(method, at, markdown_text + chunk_text(chunks), tuple(chunks))
        stream.writes.append(write)
        if stream.size() > self.stream_text_limit:
            stream.writes.pop()  # refused whole; the stream goes on
            return {"ok": False, "error": "msg_too_long"}
        for chunk in chunks:
            if chunk["type"] == "blocks":
                stream.blocks += chunk["blocks"]
        return None

    def _blocks_error(self, blocks: Any) -> dict[str, Any] | None:
        if not blocks_format_ok(blocks):
            return {"ok": False, "error": "invalid_blocks"}
        if len(blocks) > MAX_BLOCKS:
            return {"ok": False, "error": "msg_blocks_too_many"}
        if blocks_text_length(blocks) > self.blocks_text_limit:
            return {"ok": False, "error": "msg_blocks_too_long"}
        errors = block_errors(blocks)
        return {"ok": False, "error": "invalid_blocks", "errors": errors} if errors else None

    @staticmethod
    def _show(message: Message, stream: Stream) -> None:
        # conversations.replies shows a streamed message's text so far, and its blocks.
        message.text, message.blocks = stream.text, list(stream.blocks)

    # --- assistant threads ------------------------------------------------------------

    def _assistant_thread(
        self, args: dict[str, Any], *, thread_required: bool = True
    ) -> tuple[str, str] | dict[str, Any]:
        """The (channel, thread_ts) an assistant.threads.* call names, or Slack's refusal."""
        channel, thread_ts = str(args.get("channel_id") or ""), str(args.get("thread_ts") or "")
        if not channel or channel in self.not_member:
            return {"ok": False, "error": "channel_not_found"}
        if not thread_ts and thread_required:
            return invalid_arguments("missing required field: thread_ts")
        if thread_ts and self.find(channel, thread_ts) is None:
            return {"ok": False, "error": "invalid_thread_ts"}
        return channel, thread_ts

    def _set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._assistant_thread(args)
        if isinstance(thread, dict):
            return thread
        status, loading = args.get("status"), args.get("loading_messages")
        if not isinstance(status, str):
            return invalid_arguments("missing required field: status")
        problem = loading_messages_problem(loading)
        if problem:
            return invalid_arguments(problem)
        self.status_changes(*thread)  # a status past its timeout was already gone
        change = StatusChange(
            status, self.now(), "set" if status else "cleared", tuple(loading or ())
        )
        self._statuses.setdefault(thread, []).append(change)
        self._announce("status", *thread, thread[1])
        if status:
            # Under agent view a status line is the session at work (processing); clearing
            # it does not end the session: only a stop or agents.sessions.setStatus does.
            self._session_to(*thread, "processing", "status")
        return {"ok": True}

    def _set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._assistant_thread(args, thread_required=False)
        if isinstance(thread, dict):
            return thread
        prompts, title = args.get("prompts"), args.get("title")
        problem = prompts_problem(prompts)
        if problem:
            return invalid_arguments(problem)
        if thread[1]:
            # "The thread_ts parameter should only be used in the legacy assistant messaging
            # experience. Including it in a call for an agent app will cause the call to
            # silently fail." (the method's page, read 2026-12-05): ok, and nothing is shown.
            return {"ok": True}
        self.suggested_prompts[thread] = SuggestedPrompts(
            tuple(prompts or ()), str(title) if title else None
        )
        self._announce("prompts", *thread, thread[1] or None)
        return {"ok": True}

    def _set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._assistant_thread(args)
        if isinstance(thread, dict):
            return thread
        title = args.get("title")
        if not isinstance(title, str) or not title:
            return invalid_arguments("missing required field: title")
        self.titles[thread] = title
        self._announce("title", *thread, thread[1])
        return {"ok": True}

    # --- agent sessions ---------------------------------------------------------------

    def _agents_session_status(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = str(args.get("channel_id") or ""), str(args.get("thread_ts") or "")
        status, title = args.get("status"), args.get("title")
        if not channel:
            return invalid_arguments("missing required field: channel_id")
        if channel in self.not_member:
            return {"ok": False, "error": "not_authorized"}
        if status not in SESSION_STATUSES:
            return {"ok": False, "error": "invalid_status"}
        if not thread_ts:
            # The fake has no session channels: every session is a thread's.
            return {"ok": False, "error": "thread_ts_required"}
        if title is not None and (not isinstance(title, str) or len(title) > SESSION_TITLE):
            return invalid_arguments(f"title must be a string of at most {SESSION_TITLE}")
        created = (channel, thread_ts) not in self._sessions
        self._session_to(channel, thread_ts, str(status), "set")
        session = self._sessions[(channel, thread_ts)]
        if created and title:
            session.title = str(title)  # "Only used when creating a new session"
        return {
            "ok": True,
            "status": status,
            "agent_status": status,
            **({"title": session.title} if session.title else {}),
        }

    def _session_to(
        self,
        channel: str,
        thread_ts: str,
        status: str,
        cause: SessionCause,
        *,
        only_from: str | None = None,
    ) -> None:
        """Move a thread's session (created if need be) to `status`; with `only_from`, only a
        session showing that status now moves."""
        session = self._sessions.get((channel, thread_ts))
        if session is None:
            if only_from is not None:
                return
            session = self._sessions[(channel, thread_ts)] = AgentSession(channel, thread_ts)
        now = self.now()
        if session.changes:
            shown = session.status_at(now, self.session_processing_s)
            if shown != session.changes[-1].status:  # Slack's own timeout, recorded
                expired = session.changes[-1].at + self.session_processing_s
                session.changes.append(SessionChange(shown, expired, "timeout"))
            if only_from is not None and shown != only_from:
                return
        if not session.changes or session.changes[-1].status != status or cause == "set":
            session.changes.append(SessionChange(status, now, cause))
            self._announce("session", channel, thread_ts, thread_ts)

    async def _response_url(self, request: web.Request) -> web.Response:
        url = self._response_urls.get(request.match_info["token"])
        if url is None:
            return web.Response(status=404, text="no_service")
        # Past its 5 uses or 30 minutes Slack refuses the post with a 404 (seen as `expired_url`;
        # the docs give the limits, not the answer): the message is lost unless the app notices.
        if url.uses >= RESPONSE_URL_USES or self.now() - url.issued_at > RESPONSE_URL_TTL_S:
            return web.Response(status=404, text="expired_url")
        url.uses += 1
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
    "views.publish": FakeSlack._views_publish,
    "users.info": FakeSlack._users_info,
    "users.conversations": FakeSlack._users_conversations,
    "conversations.info": FakeSlack._conversations_info,
    "chat.startStream": FakeSlack._start_stream,
    "chat.appendStream": FakeSlack._append_stream,
    "chat.stopStream": FakeSlack._stop_stream,
    "assistant.threads.setStatus": FakeSlack._set_status,
    "assistant.threads.setSuggestedPrompts": FakeSlack._set_suggested_prompts,
    "assistant.threads.setTitle": FakeSlack._set_title,
    "agents.sessions.setStatus": FakeSlack._agents_session_status,
    "canvases.create": canvases_create,
    "canvases.edit": canvases_edit,
    "canvases.access.set": canvases_access_set,
    "canvases.delete": canvases_delete,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "views.open": views_open,
}
