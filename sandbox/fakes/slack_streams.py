"""Slack's native AI streaming and assistant threads as the fake Slack keeps them: one `Stream`
per streamed message (every write with its time, the task and plan chunks, its state), each
thread's assistant status history, and the pure checks of what these methods accept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.fakes.slack_limits import (
    LOADING_MESSAGE_LENGTH,
    LOADING_MESSAGES,
    STREAM_CHUNK_FIELD,
    STREAM_MARKDOWN_TEXT,
    SUGGESTED_PROMPTS,
    TASK_STATUSES,
)

StreamState = Literal["streaming", "stopped", "expired", "stopped_by_user"]
StreamMethod = Literal["chat.startStream", "chat.appendStream", "chat.stopStream"]


@dataclass(frozen=True)
class StreamWrite:
    """One call that wrote to a streamed message, at `at` on the fake's clock (`FakeSlack.now`)."""

    method: StreamMethod
    at: float
    markdown_text: str  # the text this call added: `markdown_text`, then `markdown_text` chunks
    chunks: tuple[dict[str, Any], ...]


@dataclass
class Stream:
    """A message written with chat.startStream / appendStream / stopStream."""

    channel: str
    ts: str
    thread_ts: str
    started_at: float
    task_display_mode: str = "timeline"
    recipient_user_id: str | None = None
    recipient_team_id: str | None = None
    state: StreamState = "streaming"
    ended_at: float | None = None
    stopped_by: str | None = None  # who pressed the native stop button (`FakeSlack.user_stops`)
    writes: list[StreamWrite] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)  # `blocks` chunks, stop's blocks
    metadata: Any = None

    @property
    def text(self) -> str:
        """The markdown written so far."""
        return "".join(w.markdown_text for w in self.writes)

    @property
    def last_write_at(self) -> float:
        """When the stream was last written to (its start, if never since)."""
        return self.writes[-1].at if self.writes else self.started_at

    @property
    def first_text_at(self) -> float | None:
        """When the first text arrived, or None while there is none."""
        return next((w.at for w in self.writes if w.markdown_text), None)

    @property
    def chunks(self) -> list[dict[str, Any]]:
        """Every chunk written, in order."""
        return [c for w in self.writes for c in w.chunks]

    @property
    def task_updates(self) -> list[dict[str, Any]]:
        """Every `task_update` chunk, in order."""
        return [c for c in self.chunks if c.get("type") == "task_update"]

    def task_states(self, task_id: str) -> list[str]:
        """The statuses one task went through, in order (repeats included)."""
        return [str(c["status"]) for c in self.task_updates if c.get("id") == task_id]

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        """Each task as shown now: its updates merged, in the order tasks first appeared."""
        tasks: dict[str, dict[str, Any]] = {}
        for chunk in self.task_updates:
            tasks.setdefault(str(chunk["id"]), {}).update(chunk)
        return tasks

    @property
    def plan_title(self) -> str | None:
        """The latest `plan_update` title, if any."""
        titles = [str(c["title"]) for c in self.chunks if c.get("type") == "plan_update"]
        return titles[-1] if titles else None

    def expire(self, now: float, idle_s: float, max_s: float | None) -> None:
        """Leave streaming state as Slack does: idle past `idle_s`, or older than `max_s`."""
        if self.state != "streaming":
            return
        ends = [self.last_write_at + idle_s]
        if max_s is not None:
            ends.append(self.started_at + max_s)
        if now > min(ends):
            self.state, self.ended_at = "expired", min(ends)

    def display(self) -> str:
        """What a person reads in the message: the plan, each task with its status, the text."""
        lines = [self.plan_title] if self.plan_title else []
        for task in self.tasks.values():
            lines.append(f"{task['title']} [{task['status']}]")
            lines += [str(task[k]) for k in ("details", "output") if task.get(k)]
        if self.text:
            lines.append(self.text)
        return "\n".join(lines)

    def size(self) -> int:
        """Characters of everything the message shows, as Slack counts them against its cap."""
        return len(self.display())


@dataclass(frozen=True)
class StatusChange:
    """One change of a thread's assistant status; `status` "" means cleared."""

    status: str
    at: float
    cause: Literal["set", "cleared", "reply", "timeout"]
    loading_messages: tuple[str, ...] = ()


SessionCause = Literal["set", "stream", "status", "stopStream", "timeout"]


@dataclass(frozen=True)
class SessionChange:
    """One change of a thread's agent session: what moved it (`agents.sessions.setStatus`,
    a stream or a status line that shows the agent working, a stop, or Slack's own timeout)."""

    status: str
    at: float
    cause: SessionCause


@dataclass
class AgentSession:
    """A thread's agent session: its status over time and its title (set on creation)."""

    channel: str
    thread_ts: str
    title: str | None = None
    changes: list[SessionChange] = field(default_factory=list)

    def status_at(self, now: float, processing_s: float) -> str:
        """The status shown at `now`: Slack ends a session left processing after a while."""
        last = self.changes[-1]
        if last.status == "processing" and now > last.at + processing_s:
            return "active"
        return last.status

    def history(self) -> list[str]:
        """The statuses it went through, in order."""
        return [c.status for c in self.changes]


@dataclass(frozen=True)
class SuggestedPrompts:
    """The prompts assistant.threads.setSuggestedPrompts last set for a thread."""

    prompts: tuple[dict[str, str], ...]
    title: str | None = None


# --- pure checks ------------------------------------------------------------------------------
_CHUNK_TEXT = {
    "markdown_text": ("text",),
    "plan_update": ("title",),
    "task_update": ("id", "title"),
}


def chunks_problem(chunks: Any) -> str | None:
    """Why Slack would refuse `chunks` with `invalid_chunks`, or None if it takes them."""
    if not isinstance(chunks, list):
        return "chunks must be an array"
    for i, chunk in enumerate(chunks):
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind == "blocks":
            if not isinstance(chunk.get("blocks"), list):
                return f"chunk {i}: blocks must be an array"
            continue
        if kind not in _CHUNK_TEXT:
            return f"chunk {i}: unknown chunk type {kind!r}"
        for name in _CHUNK_TEXT[kind]:
            if not isinstance(chunk.get(name), str) or (name != "text" and not chunk[name]):
                return f"chunk {i}: {kind} needs a non-empty string `{name}`"
        for name in ("title", "details", "output"):
            if name in chunk and len(str(chunk[name])) > STREAM_CHUNK_FIELD:
                return f"chunk {i}: {kind} `{name}` is over {STREAM_CHUNK_FIELD} characters"
        if kind == "task_update":
            problem = _task_problem(chunk)
            if problem:
                return f"chunk {i}: {problem}"
    return None


def _task_problem(chunk: dict[str, Any]) -> str | None:
    if chunk.get("status") not in TASK_STATUSES:
        return f"task_update status must be one of {sorted(TASK_STATUSES)}"
    for name in ("details", "output"):
        if name in chunk and not isinstance(chunk[name], str):
            return f"task_update `{name}` must be a string"
    sources = chunk.get("sources", [])
    if not isinstance(sources, list) or not all(
        isinstance(s, dict) and isinstance(s.get("url"), str) for s in sources
    ):
        return "task_update sources must be url elements"
    return None


def chunk_text(chunks: list[dict[str, Any]]) -> str:
    """The markdown that `markdown_text` chunks add."""
    return "".join(str(c["text"]) for c in chunks if c.get("type") == "markdown_text")


def too_long(markdown_text: str, chunks: list[dict[str, Any]]) -> bool:
    """Whether one call carries more markdown than a field may (12,000 characters)."""
    texts = [markdown_text, *(str(c["text"]) for c in chunks if c.get("type") == "markdown_text")]
    return any(len(t) > STREAM_MARKDOWN_TEXT for t in texts)


def loading_messages_problem(value: Any) -> str | None:
    """Why setStatus would refuse `loading_messages`, or None."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= LOADING_MESSAGES
        or not all(isinstance(m, str) and 1 <= len(m) <= LOADING_MESSAGE_LENGTH for m in value)
    ):
        return (
            f"loading_messages must hold 1-{LOADING_MESSAGES} strings "
            f"of 1-{LOADING_MESSAGE_LENGTH} characters"
        )
    return None


def prompts_problem(value: Any) -> str | None:
    """Why setSuggestedPrompts would refuse `prompts`, or None."""
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= SUGGESTED_PROMPTS
        or not all(
            isinstance(p, dict)
            and all(isinstance(p.get(k), str) and p[k] for k in ("title", "message"))
            for p in value
        )
    ):
        return f"prompts must hold 1-{SUGGESTED_PROMPTS} objects with a title and a message"
    return None


def invalid_arguments(problem: str) -> dict[str, Any]:
    """Slack's answer to a call its schema refuses, such as a missing required field."""
    return {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": [f"[ERROR] {problem}"]},
    }
