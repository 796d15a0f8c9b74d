"""A fake Anthropic Messages API on loopback: JSON and SSE replies, errors, faults, records.

The real `anthropic` SDK talks to it through `base_url`. It enforces what the real API
checks that our code could get wrong: the key, required fields, body size, and the web
tools' `max_uses` (per request) and `max_content_tokens`; it bills what the API bills:
search results and fetched pages as input tokens, and each search in
`usage.server_tool_use.web_search_requests`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from pipeline.testing import simple_plan

MAX_BODY_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit
CHARS_PER_TOKEN = 4  # the fake's token count, for the usage it reports

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Usage:
    """Token counts the fake reports."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    web_search_requests: int = 0  # usage.server_tool_use: billed per search


# Placeholder pages: the fake's web is example.com, and its titles say they are placeholders.
EXAMPLE_RESULTS = (
    ("https://example.com/placeholder-1", "Placeholder source 1 (example.com)"),
    ("https://example.com/placeholder-2", "Placeholder source 2 (example.com)"),
)


@dataclass(frozen=True)
class Search:
    """One server-side web search: its results (url, title) or an error code.

    Error codes as the API sends them: max_uses_exceeded, too_many_requests, query_too_long,
    unavailable, invalid_tool_input, request_too_large. An errored search is not billed.
    `tokens`: what its results add to the request's input tokens (the API reads them to the
    model as input; no parameter bounds them)."""

    query: str = "placeholder query"
    results: Sequence[tuple[str, str]] = EXAMPLE_RESULTS
    error: str | None = None
    tokens: int = 1_000


@dataclass(frozen=True)
class Fetch:
    """One server-side web fetch of `url`, or its error code (e.g. url_not_accessible).

    The page's text is input tokens (about 4 characters a token here), cut to the request's
    `max_content_tokens` when the web_fetch tool sets it; a fetch has no fee of its own."""

    url: str = "https://example.com/placeholder-page"
    title: str = "Placeholder page (example.com)"
    text: str = "Placeholder page text."
    error: str | None = None

    @property
    def tokens(self) -> int:
        """Input tokens the fetched page adds (none when the fetch failed)."""
        return 0 if self.error else -(-len(self.text) // CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Citation:
    """A sentence of the answer citing a search result (or, `fetched`, the n-th fetched page)."""

    text: str
    url: str = EXAMPLE_RESULTS[0][0]
    title: str = EXAMPLE_RESULTS[0][1]
    cited_text: str = "Placeholder text quoted from the source."
    fetched: int | None = None  # index of the fetched page cited (a char_location citation)


@dataclass(frozen=True)
class Reply:
    """What a responder answers: text (or JSON for structured output), usage, latency.

    Web shapes: `searches` and `fetches` come first (server_tool_use + result blocks), then
    `text`, then each of `citations` as a text block carrying its citation. `pause_turn`
    ends the reply with stop reason pause_turn (the client continues the turn: script the
    next call by `CallInfo.index`); `search_error` is shorthand for one failed search."""

    text: str = ""
    json: Any = None
    usage: Usage | None = None
    latency: float = 0.0
    stop_reason: str = "end_turn"
    searches: Sequence[Search] = ()
    fetches: Sequence[Fetch] = ()
    citations: Sequence[Citation] = ()
    pause_turn: bool = False
    search_error: str | None = None

    @property
    def all_searches(self) -> list[Search]:
        """The searches, with `search_error` as one more failed search."""
        extra = [Search(results=(), error=self.search_error)] if self.search_error else []
        return [*self.searches, *extra]

    @property
    def full_text(self) -> str:
        """Every text block's text, joined as the client joins them."""
        return self.text + "".join(c.text for c in self.citations)


@dataclass(frozen=True)
class CallInfo:
    """One request as a responder or fault matcher sees it."""

    role: str
    body: dict[str, Any]
    system_text: str
    user_text: str
    index: int  # how many calls of this role came before


@dataclass
class Fault:
    """An injected failure for the next `times` matching calls (None: every call)."""

    role: str | None = None
    match: Callable[[CallInfo], bool] | None = None
    times: int | None = 1
    status: int | None = None
    error_type: str | None = None
    retry_after: float | None = None
    hang: bool = False
    reset: bool = False
    truncate_stream: bool = False  # streamed: cut mid-stream; JSON: cut mid-body
    error_event: bool = False
    malformed: bool = False  # 200 with a body that is not the API's JSON
    latency: float = 0.0

    def applies(self, call: CallInfo) -> bool:
        """True if this fault is still armed and matches the call."""
        if self.times is not None and self.times <= 0:
            return False
        if self.role is not None and self.role != call.role:
            return False
        return self.match is None or self.match(call)


@dataclass
class RecordedCall:
    """What happened to one request."""

    role: str
    body: dict[str, Any]
    started_at: float
    finished_at: float = 0.0
    status: int = 0
    streamed: bool = False
    fault: Fault | None = None
    usage: Usage | None = None
    first_text_at: float | None = None  # when a streamed reply's first text left (monotonic)


Responder = Callable[[CallInfo], "Reply | Awaitable[Reply]"]
_Use = TypeVar("_Use", Search, Fetch)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def default_classify(body: dict[str, Any]) -> str:
    """orchestrator (structured output asked), integrator (streamed) or subagent.

    A call is known by what it is, not by its prompt's words: our adapter streams only
    when handed `on_text`, and only the integrator hands it one (its answer is shown as it
    is written); the orchestrator alone asks for structured output."""
    output_config = body.get("output_config") or {}
    tool_choice = body.get("tool_choice") or {}
    schema = (output_config.get("format") or {}).get("schema") or {}
    if "follow_up_questions" in (schema.get("properties") or {}):
        # The suggested follow-ups (pipeline/follow_ups.py): structured output too, known
        # by its schema's own property.
        return "follow_ups"
    if output_config.get("format") or tool_choice.get("type") == "tool":
        return "orchestrator"
    if body.get("stream"):
        return "integrator"
    return "subagent"


def offers_question(call: CallInfo) -> bool:
    """Whether a plan request lets the orchestrator ask a clarifying question instead: its
    structured output's schema has a `question` property (issue 22.3). Structured output
    (`output_config.format`) constrains Claude's reply to the schema, so a reply can hold a
    question only when the request offered one."""
    output = call.body.get("output_config") or {}
    schema = (output.get("format") or {}).get("schema") or {}
    return "question" in (schema.get("properties") or {})


def question_or_plan(
    call: CallInfo, question: str, plan: dict[str, Any], latency: float = 0.0
) -> Reply:
    """The orchestrator's reply: `question` (no subtasks) where it may ask, else `plan`."""
    if offers_question(call):
        asked = {"goal": plan["goal"], "subtasks": [], "question": question}
        return Reply(json=asked, latency=latency)
    return Reply(json=plan, latency=latency)


# What the fake suggests after an answer (a list the schema takes; tests may script others).
FOLLOW_UPS = (
    "What are the main risks?",
    "How does this compare with the alternatives?",
    "What should we do first?",
)


def _defaults(call: CallInfo) -> Reply:
    if call.role == "orchestrator":
        return Reply(json=simple_plan("Research the goal."))
    if call.role == "follow_ups":
        return Reply(json={"follow_up_questions": list(FOLLOW_UPS)})
    if call.role == "integrator":
        return Reply(text="Integrated answer from the fake.")
    return Reply(text=f"Fake result for: {call.user_text[:60]}")


def error_body(status: int, error_type: str | None = None, message: str = "") -> dict[str, Any]:
    """Anthropic's error shape."""
    kind = error_type or ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or kind.replace("_", " ")},
        "request_id": f"req_{uuid.uuid4().hex[:20]}",
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeAnthropic:
    """The fake server. Use as `async with FakeAnthropic() as claude:`."""

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        classify: Callable[[dict[str, Any]], str] = default_classify,
        chunk_chars: int = 24,
    ) -> None:
        self.api_key = api_key
        self._host, self._port = host, port
        self._classify = classify
        self._chunk_chars = chunk_chars
        self._responders: dict[str, Responder] = {}
        self._faults: list[Fault] = []
        self.calls: list[RecordedCall] = []
        self._in_flight: dict[str | None, int] = {}
        self._peak: dict[str | None, int] = {}
        self._runner: web.AppRunner | None = None
        self._hung: set[asyncio.Future[None]] = set()
        self.base_url = ""

    async def __aenter__(self) -> FakeAnthropic:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application(client_max_size=MAX_BODY_BYTES + 1024)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # handler_cancellation: a client that hangs up (a cancelled run) ends the handler, so
        # the record shows when the call really stopped.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"

    async def close(self) -> None:
        """Stop serving; hung requests are released first."""
        for hung in self._hung:
            hung.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    def respond(self, role: str, responder: Responder) -> None:
        """Answer calls of `role` with `responder`."""
        self._responders[role] = responder

    def respond_plan(self, plan: dict[str, Any], latency: float = 0.0) -> None:
        """Have the orchestrator answer with this plan."""
        self.respond("orchestrator", lambda call: Reply(json=plan, latency=latency))

    def respond_question(self, question: str, plan: dict[str, Any], latency: float = 0.0) -> None:
        """Have the orchestrator ask `question` instead of planning wherever the request lets
        it (`offers_question`: a run's first plan request), and answer with `plan` otherwise
        (the plan request after the answer)."""
        self.respond("orchestrator", lambda call: question_or_plan(call, question, plan, latency))

    def inject(self, fault: Fault) -> Fault:
        """Arm a fault; the first armed fault matching a call applies to it."""
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Disarm every injected fault (hung calls stay hung until they time out)."""
        self._faults.clear()

    def calls_for(self, role: str) -> list[RecordedCall]:
        """Recorded calls of one role."""
        return [c for c in self.calls if c.role == role]

    def max_concurrency(self, role: str | None = None) -> int:
        """Peak number of requests in flight (of one role, or overall)."""
        return self._peak.get(role, 0)

    def total_usage(self) -> Usage:
        """Sum of the usage reported by every successful call."""
        done = [c.usage for c in self.calls if c.usage is not None and c.status == 200]
        return Usage(
            sum(u.input_tokens for u in done),
            sum(u.output_tokens for u in done),
            sum(u.cache_creation_input_tokens for u in done),
            sum(u.cache_read_input_tokens for u in done),
            sum(u.web_search_requests for u in done),
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(error_body(404, message=f"no route {request.path}"), status=404)

    def _track(self, role: str, delta: int) -> None:
        for key in (None, role):
            self._in_flight[key] = self._in_flight.get(key, 0) + delta
            self._peak[key] = max(self._peak.get(key, 0), self._in_flight[key])

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        # The API takes the key as x-api-key; this SDK generation sends it as a bearer token.
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key not in (request.headers.get("x-api-key"), bearer):
            self.calls.append(RecordedCall("unauthenticated", {}, time.monotonic(), status=401))
            return web.json_response(error_body(401, message="invalid x-api-key"), status=401)
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.json_response(error_body(413), status=413)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response(error_body(400, message="body is not JSON"), status=400)
        problem = _validate(body)
        if problem:
            return web.json_response(error_body(400, message=problem), status=400)
        role = self._classify(body)
        call = CallInfo(
            role=role,
            body=body,
            system_text=_text_of(body.get("system", "")),
            user_text="\n".join(_text_of(m.get("content")) for m in body["messages"]),
            index=len(self.calls_for(role)),
        )
        record = RecordedCall(role, body, time.monotonic(), streamed=bool(body.get("stream")))
        self.calls.append(record)
        self._track(role, +1)
        try:
            return await self._answer(request, call, record)
        finally:
            self._track(role, -1)
            record.finished_at = time.monotonic()

    async def _answer(
        self, request: web.Request, call: CallInfo, record: RecordedCall
    ) -> web.StreamResponse:
        fault = next((f for f in self._faults if f.applies(call)), None)
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
            record.fault = fault
            await asyncio.sleep(fault.latency)
            if fault.hang:
                hung: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._hung.add(hung)
                with contextlib.suppress(asyncio.CancelledError):
                    await hung
                self._hung.discard(hung)
                raise web.HTTPServiceUnavailable()
            if fault.reset:
                if request.transport is not None:
                    request.transport.abort()
                record.status = -1
                # Nothing reaches the client any more; returning (not raising) keeps the fake's
                # own logs free of an "error handling request" that is the point of the fault.
                return web.Response(status=500)
            if fault.status is not None:
                record.status = fault.status
                headers = {"request-id": f"req_{uuid.uuid4().hex[:12]}"}
                if fault.retry_after is not None:
                    headers["retry-after"] = f"{fault.retry_after:g}"
                return web.json_response(
                    error_body(fault.status, fault.error_type), status=fault.status, headers=headers
                )
        responder = self._responders.get(call.role, _defaults)
        reply = responder(call)
        if inspect.isawaitable(reply):
            reply = await reply
        reply = within_limits(reply, call.body)
        text = json.dumps(reply.json) if reply.json is not None else reply.full_text
        searched = [search for search in reply.all_searches if search.error is None]
        billed = len(searched)
        read = sum(search.tokens for search in searched) + sum(f.tokens for f in reply.fetches)
        usage = reply.usage or Usage(
            input_tokens=max(1, len(json.dumps(call.body)) // CHARS_PER_TOKEN) + read,
            output_tokens=max(1, len(text) // CHARS_PER_TOKEN),
            web_search_requests=billed,
        )
        if reply.usage is not None and reply.all_searches:
            # Searches are billed as they happen, whatever tokens the script chose.
            usage = dataclasses.replace(usage, web_search_requests=billed)
        message = _message(call.body["model"], text, usage, reply.stop_reason)
        if reply.json is None:
            message["content"] = web_content(reply)
            if reply.pause_turn:
                message["stop_reason"] = "pause_turn"
            if reply.all_searches or reply.fetches:
                message["usage"]["server_tool_use"] = {
                    "web_search_requests": usage.web_search_requests,
                    "web_fetch_requests": sum(1 for f in reply.fetches if f.error is None),
                }
        if call.body.get("stream"):
            return await self._stream(request, message, reply.latency, fault, record, usage)
        await asyncio.sleep(reply.latency)
        if fault is not None and fault.malformed:
            record.status = -3
            return web.Response(
                text='{"type": "message", "content": [', content_type="application/json"
            )
        if fault is not None and fault.truncate_stream:
            return await self._truncated(request, message, record)
        record.status, record.usage = 200, usage
        return web.json_response(message)

    async def _truncated(
        self, request: web.Request, message: dict[str, Any], record: RecordedCall
    ) -> web.StreamResponse:
        """Announce the whole body, send half, hang up: a reply cut off in transit."""
        body = json.dumps(message).encode()
        response = web.StreamResponse(
            headers={"content-type": "application/json", "content-length": str(len(body))}
        )
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        record.status = -2
        if request.transport is not None:
            request.transport.abort()
        return response

    async def _stream(
        self,
        request: web.Request,
        message: dict[str, Any],
        latency: float,
        fault: Fault | None,
        record: RecordedCall,
        usage: Usage,
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        blocks: list[dict[str, Any]] = message["content"]
        chunked = [
            [
                b["text"][i : i + self._chunk_chars]
                for i in range(0, len(b["text"]), self._chunk_chars)
            ]
            if b["type"] == "text"
            else []
            for b in blocks
        ]
        total = sum(len(c) for c in chunked)
        pause = latency / (total + 1)
        start = {**message, "content": [], "stop_reason": None}
        start["usage"] = {**message["usage"], "output_tokens": 1}
        start["usage"].pop("server_tool_use", None)
        await asyncio.sleep(pause)
        await response.write(_sse("message_start", {"type": "message_start", "message": start}))
        sent = 0
        for index, (block, chunks) in enumerate(zip(blocks, chunked, strict=True)):
            for event in _block_opening(index, block):
                await response.write(event)
            if index == 0:
                await response.write(_sse("ping", {"type": "ping"}))
            for chunk in chunks:
                if (
                    fault is not None
                    and sent == total // 2
                    and await self._stream_fault(request, response, fault, record)
                ):
                    return response
                sent += 1
                await asyncio.sleep(pause)
                await response.write(_delta(index, {"type": "text_delta", "text": chunk}))
                if record.first_text_at is None:
                    record.first_text_at = time.monotonic()
            await response.write(
                _sse("content_block_stop", {"type": "content_block_stop", "index": index})
            )
        end = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        final_usage: dict[str, Any] = {"output_tokens": usage.output_tokens}
        if "server_tool_use" in message["usage"]:
            final_usage["server_tool_use"] = message["usage"]["server_tool_use"]
        await response.write(
            _sse("message_delta", {"type": "message_delta", "delta": end, "usage": final_usage})
        )
        await response.write(_sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        record.status, record.usage = 200, usage
        return response

    async def _stream_fault(
        self,
        request: web.Request,
        response: web.StreamResponse,
        fault: Fault,
        record: RecordedCall,
    ) -> bool:
        """Apply a mid-stream fault; True when the stream ended with it."""
        if fault.error_event:
            record.status = 529
            await response.write(_sse("error", error_body(529)))
            return True
        if fault.malformed:
            record.status = -3
            await response.write(b"event: content_block_delta\ndata: {not json\n\n")
            await response.write_eof()
            return True
        if fault.truncate_stream:
            record.status = -2
            if request.transport is not None:
                request.transport.abort()
            return True
        return False


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return _sse(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


def _block_opening(index: int, block: dict[str, Any]) -> list[bytes]:
    """A block's content_block_start and the deltas that come before its text.

    As the API streams them: a text block opens empty and receives its citations as
    citations_delta events and its text as text_delta; a server_tool_use block opens with
    an empty input that arrives as input_json_delta; a tool result block opens whole."""
    opening: dict[str, Any]
    if block["type"] == "text":
        opening = {"type": "text", "text": ""}
        events = [
            _delta(index, {"type": "citations_delta", "citation": c})
            for c in block.get("citations") or ()
        ]
    elif block["type"] == "server_tool_use":
        opening = {**block, "input": {}}
        events = [
            _delta(index, {"type": "input_json_delta", "partial_json": json.dumps(block["input"])})
        ]
    else:
        opening, events = block, []
    start = {"type": "content_block_start", "index": index, "content_block": opening}
    return [_sse("content_block_start", start), *events]


def _tool(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("name") == name:
            return tool
    return None


def _capped(uses: list[_Use], max_uses: int | None, exceeded: Callable[[_Use], _Use]) -> list[_Use]:
    """The first `max_uses` uses, then the next attempt's max_uses_exceeded error (the model
    reads it and stops trying); all of them when the tool sets no `max_uses`."""
    if max_uses is None or len(uses) <= max_uses:
        return uses
    kept = uses[:max_uses]
    kept.append(exceeded(uses[max_uses]))
    return kept


def within_limits(reply: Reply, body: dict[str, Any]) -> Reply:
    """The reply as the API gives it for this request's tools: `max_uses` counts per API
    request (each pause_turn continuation starts again from zero), and a fetched page is cut
    to the web_fetch tool's `max_content_tokens`. A tool the request does not offer leaves
    the script as it is (shape tests post without tools)."""
    searches = reply.all_searches
    fetches = list(reply.fetches)
    search_tool = _tool(body, "web_search")
    if search_tool is not None:
        searches = _capped(
            searches,
            search_tool.get("max_uses"),
            lambda s: dataclasses.replace(s, results=(), error="max_uses_exceeded"),
        )
    fetch_tool = _tool(body, "web_fetch")
    if fetch_tool is not None:
        fetches = _capped(
            fetches,
            fetch_tool.get("max_uses"),
            lambda f: dataclasses.replace(f, error="max_uses_exceeded"),
        )
        limit = fetch_tool.get("max_content_tokens")
        if isinstance(limit, int):
            fetches = [
                dataclasses.replace(f, text=f.text[: limit * CHARS_PER_TOKEN]) for f in fetches
            ]
    return dataclasses.replace(reply, searches=searches, fetches=fetches, search_error=None)


def _tool_id() -> str:
    return f"srvtoolu_{uuid.uuid4().hex[:24]}"


def web_content(reply: Reply) -> list[dict[str, Any]]:
    """A reply's content blocks in the API's shapes: tool calls and results, then text."""
    blocks: list[dict[str, Any]] = []
    for search in reply.all_searches:
        tool_id = _tool_id()
        blocks.append(
            {
                "type": "server_tool_use",
                "id": tool_id,
                "name": "web_search",
                "input": {"query": search.query},
            }
        )
        content: Any = (
            {"type": "web_search_tool_result_error", "error_code": search.error}
            if search.error
            else [
                {
                    "type": "web_search_result",
                    "url": url,
                    "title": title,
                    "encrypted_content": f"placeholder-encrypted-{n}",
                    "page_age": None,
                }
                for n, (url, title) in enumerate(search.results)
            ]
        )
        blocks.append(
            {"type": "web_search_tool_result", "tool_use_id": tool_id, "content": content}
        )
    for fetch in reply.fetches:
        tool_id = _tool_id()
        blocks.append(
            {
                "type": "server_tool_use",
                "id": tool_id,
                "name": "web_fetch",
                "input": {"url": fetch.url},
            }
        )
        result: dict[str, Any] = (
            {"type": "web_fetch_tool_result_error", "error_code": fetch.error}
            if fetch.error
            else {
                "type": "web_fetch_result",
                "url": fetch.url,
                "retrieved_at": "2026-11-01T00:00:00Z",
                "content": {
                    "type": "document",
                    "title": fetch.title,
                    "citations": {"enabled": True},
                    "source": {"type": "text", "media_type": "text/plain", "data": fetch.text},
                },
            }
        )
        blocks.append({"type": "web_fetch_tool_result", "tool_use_id": tool_id, "content": result})
    if reply.text or not (blocks or reply.citations):
        blocks.append({"type": "text", "text": reply.text})
    for citation in reply.citations:
        blocks.append({"type": "text", "text": citation.text, "citations": [_citation(citation)]})
    return blocks


def _citation(citation: Citation) -> dict[str, Any]:
    if citation.fetched is not None:
        return {
            "type": "char_location",
            "cited_text": citation.cited_text,
            "document_index": citation.fetched,
            "document_title": citation.title,
            "start_char_index": 0,
            "end_char_index": len(citation.cited_text),
            "file_id": None,
        }
    return {
        "type": "web_search_result_location",
        "url": citation.url,
        "title": citation.title,
        "cited_text": citation.cited_text,
        "encrypted_index": "placeholder-encrypted-index",
    }


def _message(model: str, text: str, usage: Usage, stop_reason: str) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
        },
    }


def _validate(body: Any) -> str | None:
    """What the real API would reject with a 400, in its words."""
    if not isinstance(body, dict):
        return "body: must be an object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        return "max_tokens: Field required and must be >= 1"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: must be 'user' or 'assistant'"
        content = message.get("content")
        has_blocks = isinstance(content, list) and bool(content)
        if not has_blocks and not _text_of(content).strip():
            return f"messages.{i}: all messages must have non-empty content"
    if messages[0]["role"] != "user":
        return "messages: first message must use the 'user' role"
    return None
