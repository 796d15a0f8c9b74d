"""The model seam: pipeline code talks to an `LLM`, never to a vendor SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from pipeline.config import Role


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one or more calls, as the Messages API reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    # Server-side web searches (`usage.server_tool_use.web_search_requests`), billed per
    # search on top of tokens. Web fetches cost only the tokens they add, so they are not here.
    web_search_requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.web_search_requests + other.web_search_requests,
        )

    @property
    def total_input(self) -> int:
        """Every input token, cached or not."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total(self) -> int:
        """All tokens in and out."""
        return self.total_input + self.output_tokens


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class WebTools:
    """Server-side web search (and fetch) for one call.

    Args:
        max_uses: searches (and, separately, fetches) the model may make in one API request
            (a paused turn's continuation is another request, with as many again).
        allowed_domains: only these domains (the API takes this or `blocked_domains`).
        blocked_domains: never these domains.
        fetch: also offer web fetch (reading a page whose URL came up in the conversation).
        max_content_tokens: the most input tokens one fetched page may add (the API cuts the
            page's text there), so that a fetch's cost is bounded and can be reserved.
    """

    max_uses: int = 5
    allowed_domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    fetch: bool = True
    max_content_tokens: int = 10_000

    def __post_init__(self) -> None:
        if self.max_uses < 1:
            raise ValueError("web tools need max_uses >= 1")
        if self.max_content_tokens < 1:
            raise ValueError("web tools need max_content_tokens >= 1")
        if self.allowed_domains and self.blocked_domains:
            # The Messages API rejects a tool carrying both lists (400).
            raise ValueError("web tools take allowed_domains or blocked_domains, not both")


@dataclass(frozen=True, slots=True)
class Source:
    """A web page a reply cited: where it is, what it is called, what was quoted from it."""

    url: str
    title: str = ""
    cited_text: str = ""


@dataclass(frozen=True, slots=True)
class PausedTurn:
    """What a turn the API paused (`pause_turn`) produced so far, in the API's own block
    shapes (search results stay encrypted): sent back unchanged, it lets the turn go on.
    Opaque to the pipeline, which only counts its size for a budget hold."""

    blocks: tuple[Mapping[str, object], ...]


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """Everything one API request needs; `json_schema` asks for structured output, and
    `paused` holds the turns paused so far when this request continues them."""

    role: Role
    model: str
    system: str
    messages: tuple[Message, ...]
    max_tokens: int
    json_schema: Mapping[str, Any] | None = None
    cache_system: bool = True
    web: WebTools | None = None  # None: no web tools offered
    label: str = field(default="")  # e.g. the subtask id, for logs and fakes
    paused: tuple[PausedTurn, ...] = ()

    def continued(self, paused: PausedTurn) -> LLMRequest:
        """The request that continues this one's paused turn."""
        return replace(self, paused=(*self.paused, paused))


@dataclass(frozen=True, slots=True)
class LLMReply:
    """The text a call produced and what it cost.

    `sources` are the pages the text cites, deduplicated by URL in order of first citation;
    `searches` counts the web searches made; `search_errors` holds the error codes of
    searches (and, as `fetch:<code>`, fetches) that failed. A failed search is no failure
    of the call: the model answers without it. `paused` is set when the API paused the turn
    (stop reason `pause_turn`); `stopped` says why such a turn was not continued (a budget
    that could not hold the next request), "" when it was, or had no need to be.
    """

    text: str
    usage: Usage
    model: str
    stop_reason: str | None = None
    sources: tuple[Source, ...] = ()
    searches: int = 0
    search_errors: tuple[str, ...] = ()
    paused: PausedTurn | None = None
    stopped: str = ""


def joined(replies: Sequence[LLMReply], stopped: str = "") -> LLMReply:
    """One reply for a turn that took several requests (a paused turn and its continuations):
    their text in order, usage and searches summed, sources once each; the last one's model
    and stop reason."""
    sources: dict[str, Source] = {}  # by URL, in order of first citation
    for reply in replies:
        for source in reply.sources:
            sources.setdefault(source.url, source)
    last = replies[-1]
    return LLMReply(
        "".join(reply.text for reply in replies),
        sum((reply.usage for reply in replies), Usage()),
        last.model,
        last.stop_reason,
        sources=tuple(sources.values()),
        searches=sum(reply.searches for reply in replies),
        search_errors=tuple(e for reply in replies for e in reply.search_errors),
        paused=last.paused,
        stopped=stopped,
    )


TextCallback = Callable[[str], Awaitable[None]]


class LLM(Protocol):
    """A chat model. Implementations raise `pipeline.errors.LLMError` on failure."""

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """Make one API request; when `on_text` is given, stream and hand it each text delta.

        A paused turn comes back with `paused` set; the caller decides whether to continue
        it (with `request.continued(reply.paused)`), since each continuation costs money."""
        ...
