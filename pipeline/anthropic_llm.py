"""The Anthropic adapter: the only module that imports `anthropic`."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

import anthropic
import httpx2  # the SDK's HTTP transport
from anthropic.types import (
    AssistantMessageParam,
    MessageParam,
    TextBlockParam,
    ToolUnionParam,
    UserMessageParam,
    WebFetchTool20250910Param,
    WebSearchTool20250305Param,
)
from anthropic.types import Message as ApiMessage

from pipeline.errors import LLMError, LLMErrorKind
from pipeline.llm import (
    LLMReply,
    LLMRequest,
    PausedTurn,
    Source,
    TextCallback,
    Usage,
    WebTools,
)

# Status codes the SDK itself treats as transient (its _should_retry), plus 529 overloaded.
_TRANSIENT = {408, 409, 429} | set(range(500, 600))

_KIND_BY_STATUS: Mapping[int, LLMErrorKind] = {
    400: "bad_request",
    401: "auth",
    403: "permission",
    404: "not_found",
    413: "too_large",
    429: "rate_limited",
    529: "overloaded",
}


def make_client(api_key: str, base_url: str | None, timeout_s: float) -> anthropic.AsyncAnthropic:
    """An SDK client with its own retries off: our tenacity policy is the one retry owner.

    Its own OpenTelemetry span (`anthropic.messages.create`, anthropic/_tracing.py, 2.x) is
    off too, whatever ANTHROPIC_OPEN_TELEMETRY* say: the app's chat span (bot.telemetry.genai)
    is the one span per call, with the usage and finish reasons the SDK's lacks."""
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        timeout=timeout_s,
        open_telemetry={"traces": False, "propagation": False},
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


_STATUS_BY_ERROR_TYPE = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500}


def _error_type(body: object) -> str:
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return str(inner.get("type", ""))
    return ""


def _message(status: int, kind: LLMErrorKind, detail: str, model: str) -> str:
    match kind:
        case "auth":
            return "Claude rejected the API key (401): check ANTHROPIC_API_KEY."
        case "permission":
            return "This API key may not use this model or feature (403)."
        case "not_found":
            return f"Claude could not find model '{model}' (404): check the model settings."
        case "too_large":
            return "The request was too large for Claude (413)."
        case "rate_limited":
            return "Claude is rate limiting us (429)."
        case "overloaded":
            return "Claude is overloaded (529)."
        case "bad_request":
            return f"Claude refused the request (400): {detail[:200]}"
        case _:
            return f"Claude returned an error ({status})."


def translate(error: anthropic.APIError, model: str) -> LLMError:
    """Map an SDK error to our LLMError with the retry decision made here, once."""
    if isinstance(error, anthropic.APITimeoutError):
        return LLMError("The call to Claude timed out.", kind="timeout", retryable=True)
    if isinstance(error, anthropic.APIConnectionError):
        return LLMError(
            "Could not reach Claude (connection error).", kind="connection", retryable=True
        )
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        if status < 400:
            # An `error` event inside a 200 SSE stream: its payload carries the real type.
            status = _STATUS_BY_ERROR_TYPE.get(_error_type(error.body), 500)
        headers = error.response.headers
        kind: LLMErrorKind = _KIND_BY_STATUS.get(status, "server" if status >= 500 else "other")
        retryable = status in _TRANSIENT
        # The API may say explicitly whether a retry can help; it knows better than the code.
        should_retry = headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            retryable = should_retry == "true"
        return LLMError(
            _message(status, kind, error.message, model),
            kind=kind,
            retryable=retryable,
            retry_after=parse_retry_after(headers) if retryable else None,
            status=status,
        )
    # An error event inside an SSE stream, or a stream cut short: a fresh attempt may succeed.
    return LLMError(
        f"Claude's reply was cut off ({type(error).__name__}).", kind="stream", retryable=True
    )


def _usage(message: ApiMessage) -> Usage:
    u = message.usage
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_creation_input_tokens=u.cache_creation_input_tokens or 0,
        cache_read_input_tokens=u.cache_read_input_tokens or 0,
        web_search_requests=u.server_tool_use.web_search_requests if u.server_tool_use else 0,
    )


def web_tools(web: WebTools) -> list[ToolUnionParam]:
    """The server-side tool definitions for `web`.

    Versions: `web_search_20250305` and `web_fetch_20250910`, the versions every model we
    configure accepts (Haiku 4.5, the subagents' default, as well as Sonnet 4.6). The newer
    `web_search_20260209` / `web_fetch_20260209` add dynamic filtering, which runs through
    the code execution tool and is offered on the newest Sonnet and Opus models only; a
    subagent model switched to Haiku would then get a 400, so we take the common version.
    """
    search: WebSearchTool20250305Param = {
        "type": "web_search_20250305",
        "name": "web_search",
        "max_uses": web.max_uses,
    }
    fetch: WebFetchTool20250910Param = {
        "type": "web_fetch_20250910",
        "name": "web_fetch",
        "max_uses": web.max_uses,
        "citations": {"enabled": True},  # off by default for fetched pages
        # Without it a fetched page adds whatever it holds to the input (no bound to reserve).
        "max_content_tokens": web.max_content_tokens,
    }
    if web.allowed_domains:
        search["allowed_domains"] = list(web.allowed_domains)
        fetch["allowed_domains"] = list(web.allowed_domains)
    if web.blocked_domains:
        search["blocked_domains"] = list(web.blocked_domains)
        fetch["blocked_domains"] = list(web.blocked_domains)
    return [search, fetch] if web.fetch else [search]


def _reply(message: ApiMessage) -> LLMReply:
    """Our reply from one API message (a paused one keeps its content to continue with)."""
    text: list[str] = []
    usage = _usage(message)
    sources: dict[str, Source] = {}  # by URL, in order of first citation
    errors: list[str] = []
    # Fetched pages, in order: a citation of a fetched page is a document location whose
    # `document_index` counts the documents in the message, and the page's URL is here.
    fetched: list[tuple[str, str]] = []
    for block in message.content:
        match block.type:
            case "web_search_tool_result":
                if not isinstance(block.content, list):
                    errors.append(block.content.error_code)
            case "web_fetch_tool_result":
                content = block.content
                if content.type == "web_fetch_tool_result_error":
                    errors.append(f"fetch:{content.error_code}")
                else:
                    fetched.append((content.url, content.content.title or content.url))
            case "text":
                text.append(block.text)
                for citation in block.citations or ():
                    if citation.type == "web_search_result_location":
                        source = Source(citation.url, citation.title or "", citation.cited_text)
                    elif citation.type in ("char_location", "page_location") and (
                        0 <= citation.document_index < len(fetched)
                    ):
                        url, title = fetched[citation.document_index]
                        source = Source(url, title, citation.cited_text)
                    else:
                        continue
                    sources.setdefault(source.url, source)
            case _:
                pass
    # The SDK's response blocks serialise to its param shapes: sent back unchanged, they
    # continue the turn (encrypted search results included).
    paused = (
        PausedTurn(tuple(block.to_dict() for block in message.content))
        if message.stop_reason == "pause_turn"
        else None
    )
    return LLMReply(
        "".join(text),
        usage,
        message.model,
        message.stop_reason,
        sources=tuple(sources.values()),
        searches=usage.web_search_requests,
        search_errors=tuple(errors),
        paused=paused,
    )


class AnthropicLLM:
    """`LLM` on the Messages API: structured output via `output_config`, streaming via SSE."""

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self._client = client

    def _arguments(self, request: LLMRequest) -> dict[str, Any]:
        system: TextBlockParam = {"type": "text", "text": request.system}
        if request.cache_system:
            # Prompt caching applies once the prefix passes the model's minimum size; below it
            # the marker is simply ignored, so it is always safe to send.
            system["cache_control"] = {"type": "ephemeral"}
        messages: list[MessageParam] = [
            UserMessageParam(role="user", content=m.content)
            if m.role == "user"
            else AssistantMessageParam(role="assistant", content=m.content)
            for m in request.messages
        ]
        arguments: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": [system],
            # A continuation: the paused turns go back as the last (assistant) messages,
            # as-is (plain dicts: the SDK's param shapes), and the API resumes the turn.
            "messages": [
                *messages,
                *({"role": "assistant", "content": list(p.blocks)} for p in request.paused),
            ],
        }
        if request.web is not None:
            arguments["tools"] = web_tools(request.web)
        if request.json_schema is not None:
            schema = anthropic.transform_schema(dict(request.json_schema))
            arguments["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        return arguments

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """One Messages API request; streamed when `on_text` is given."""
        arguments = self._arguments(request)
        try:
            message = await self._once(arguments, on_text)
        except anthropic.APIError as exc:
            raise translate(exc, request.model) from exc
        except httpx2.TransportError as exc:
            # The SDK does not wrap transport errors raised while iterating a stream.
            raise LLMError(
                "Claude's reply was cut off (connection lost mid-stream).",
                kind="stream",
                retryable=True,
            ) from exc
        except json.JSONDecodeError as exc:
            # A garbled body or SSE event (a proxy, a cut): transient like a cut stream.
            raise LLMError(
                "Claude's reply could not be read (malformed JSON).", kind="stream", retryable=True
            ) from exc
        return _reply(message)

    async def _once(self, arguments: dict[str, Any], on_text: TextCallback | None) -> ApiMessage:
        if on_text is None:
            message: ApiMessage = await self._client.messages.create(**arguments)
            return message
        async with self._client.messages.stream(**arguments) as stream:
            async for delta in stream.text_stream:
                await on_text(delta)
            return await stream.get_final_message()
