"""The model seam: pipeline code talks to an `LLM`, never to a vendor SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pipeline.config import Role


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one or more calls, as the Messages API reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
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
class LLMRequest:
    """Everything one call needs; `json_schema` asks for structured output."""

    role: Role
    model: str
    system: str
    messages: tuple[Message, ...]
    max_tokens: int
    json_schema: Mapping[str, Any] | None = None
    cache_system: bool = True
    label: str = field(default="")  # e.g. the subtask id, for logs and fakes


@dataclass(frozen=True, slots=True)
class LLMReply:
    """The text a call produced and what it cost."""

    text: str
    usage: Usage
    model: str
    stop_reason: str | None = None


TextCallback = Callable[[str], Awaitable[None]]


class LLM(Protocol):
    """A chat model. Implementations raise `pipeline.errors.LLMError` on failure."""

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """Run one call; when `on_text` is given, stream and hand it each text delta."""
        ...
