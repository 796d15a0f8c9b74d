"""All knowledge of Slack's text limits and of untrusted text lives here.

Model and user text is untrusted output. The rules, one place, by allowlist:
- mrkdwn and a message's `text` (`safe_mrkdwn`): `&`, `<` and `>` are escaped, so nothing a
  model or a person wrote survives as a Slack control sequence (`<!channel>`, `<@U1>`,
  `<#C1>`, `<url|label>`); the only `<…>` left are the links we generate.
- markdown blocks (`safe_markdown`): Slack honours its `<…>` sequences and `@channel`-like
  words there too, so in prose `<` and `>` are backslash-escaped (Slack documents backslash
  escapes for markdown blocks), a control sequence loses its brackets (`` `!channel` ``),
  and a `<` that could start one (a scheme, a `|`) and broadcast words get an invisible word
  joiner (U+2060) after the `<` or `@`, which no parser reads as part of a sequence. Inside
  code nothing is escaped (it would show), but control-shaped sequences and broadcast words
  are broken the same invisible way, in case a parser disagrees about what is code.
- every link, in either syntax and in every field, shows its destination's host in its
  label (`slack_links`); a bare URL shows itself.
Truncation happens after escaping and never cuts an entity, a link or a character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.render import links as slack_links
from bot.render.links import Link
from bot.render.split import Chunk, joins, split_chunks
from pipeline import Source, sources_markdown
from pipeline.markdown import fence_after

__all__ = [
    "BUTTON_TEXT_LIMIT",
    "HEADER_TEXT_LIMIT",
    "MARKDOWN_BLOCK_LIMIT",
    "MAX_BLOCKS",
    "MESSAGE_BLOCKS_BUDGET",
    "MESSAGE_TEXT_LIMIT",
    "SECTION_TEXT_LIMIT",
    "SESSION_TITLE_LIMIT",
    "STREAM_CHUNK_FIELD_LIMIT",
    "Chunk",
    "escape",
    "fence_after",
    "inert_line",
    "markdown_as_mrkdwn",
    "mrkdwn_line",
    "one_line",
    "plain_preview",
    "safe_markdown",
    "safe_mrkdwn",
    "split_chunks",
    "split_markdown",
    "truncate",
]

# Slack's documented limits (DESIGN.md "Platform limits").
MESSAGE_TEXT_LIMIT = 4000  # keep a message's `text` under this
# A streamed message's `task_update` title/details/output and `plan_update` title: Slack's pages
# give no size (checked 2026-12-05: only markdown_text's 12,000), slack_sdk checks none, and the
# one published cap is 256 (Microsoft's Slack extension); we keep within it.
STREAM_CHUNK_FIELD_LIMIT = 256
# An agent session's title: "max 200 characters" (agents.sessions.setStatus). The same bound
# serves the thread's title (assistant.threads.setTitle documents none).
SESSION_TITLE_LIMIT = 200
SECTION_TEXT_LIMIT = 3000  # a section block's text
MARKDOWN_BLOCK_LIMIT = 12_000  # a markdown block, and all markdown in one message
MAX_BLOCKS = 50
BUTTON_TEXT_LIMIT = 75
HEADER_TEXT_LIMIT = 150
# Slack refuses a whole message whose blocks carry more than roughly 11-13k characters of
# text (`msg_blocks_too_long`, seen at ~11.3k; bolt-js #2867 and #2509), even when every
# block is within its own limit. Every message we build keeps the text of all its blocks
# (sections, context, markdown, button labels) within this budget.
MESSAGE_BLOCKS_BUDGET = 11_000
# A message's own blocks: at most 25 elements in an actions block (Block Kit reference), so a
# plan's buttons are Cancel and 24 outputs; a button's value at most 2,000 characters.
ACTIONS_ELEMENTS_LIMIT = 25
BUTTON_VALUE_LIMIT = 2000
# A Home tab view holds at most 100 blocks.
HOME_BLOCK_LIMIT = 100

# Slack's native stream (the agent messages tab) refuses a streamed message past roughly
# 10.6-11.3k characters of everything it shows (plan title, each task's title, details and
# output, the text; measured in the reports `sandbox/fakes/slack_limits.py` cites):
# `bot.render.native.shown_size` counts it as Slack does, and this keeps well below it, in
# UTF-8 bytes (at least the characters).
STREAM_BUDGET = 10_000
STREAM_TITLE_CHARS = 150  # the stream's plan title
STREAM_TASK_TITLE_CHARS = 120
STREAM_DETAILS_CHARS = STREAM_CHUNK_FIELD_LIMIT  # a task's whole `details`, its prefix included
STREAM_SHORT_CHARS = 60  # a chunk Slack refused is sent once more this short (`shortened`)
STREAM_SOURCE_CHARS = 80  # one source link's text under a task

# A channel answer growing in one message: a whole answer message's room less its footer.
STREAM_PART_CHARS = MESSAGE_BLOCKS_BUDGET - 1_000
# A finished part is cut from at most this much raw text: rendering adds to it (hosts beside
# link labels, escapes), and it must still fit one message.
STREAM_PART_RAW_CHARS = STREAM_PART_CHARS * 7 // 10
# Longer than this, the growing text is cut without rendering all of it first: rendering it
# whole for each part it gave was quadratic in a long answer. (Rendering may shorten text, so
# such a text might still have fit one message: it is only cut sooner.)
STREAM_WHOLE_RAW_CHARS = STREAM_PART_CHARS * 2

# Canvases. canvases.create: "The markdown content is limited to 1 MiB (1,048,576 characters)".
CANVAS_MARKDOWN_LIMIT = 1_048_576
CANVAS_TITLE_CHARS = 120  # Slack documents no limit; a title is read in a tab and a link
# The answer's opening left in the thread beside its canvas: at most a section's worth.
OPENING_CHARS = SECTION_TEXT_LIMIT
FILE_NAME_CHARS = 60  # a report's file name (files.getUploadURLExternal's filename)

# Modals (views.open; Block Kit reference): a plain_text_input's max_length is at most 3,000,
# an input block's label at most 2,000 characters, a view at most 100 blocks.
INPUT_VALUE_LIMIT = 3000
INPUT_LABEL_LIMIT = 2000
MODAL_BLOCK_LIMIT = 100
SUBTASK_TITLE_CHARS = 200  # a subtask's title is the plan's SubTask.role (max_length 200)

# Our own sizes, chosen for reading: a plan line's preview of an output, the failed roles'
# note, a part's label, follow-up questions.
PREVIEW_CHARS = 280
FAILED_NOTE_CHARS = 2000  # twenty failed roles read fine in this; the answer keeps the rest
PART_LABEL_CHARS = 40  # "Part 12 of 13", with room to spare
FOLLOW_UP_CHARS = 300  # a question longer than this is no quick follow-up (the model is told)

# Web API pages: users.conversations "Must be an integer with a max value of 999".
PAGE_LIMIT = 999


def escape(text: str) -> str:
    """Escape text for mrkdwn: `&`, `<`, `>` (so `<!channel>` can never ping anyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- truncating ------------------------------------------------------------------------

_ENTITY = re.compile(r"&#?\w{1,8};")
_OUR_LINK = re.compile(r"<[^\s<>|]++(?:\|[^<>]*+)?>")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """At most `limit` characters, cut at a word boundary where one is near.

    Safe on escaped mrkdwn: never cuts inside an entity (`&amp;`), a `<url|label>` link or
    a character made of several code points (an emoji with ZWJ, an accent)."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return ellipsis[: max(limit, 0)]
    end = limit - len(ellipsis)
    space = text.rfind(" ", max(0, end - 40), end + 1)
    if space > 0:
        end = space
    end = _whole(text, end)
    return text[:end].rstrip() + ellipsis


def _whole(text: str, end: int) -> int:
    """`end`, moved back so that `text[:end]` splits no entity, link or character."""
    floor = max(0, end - 16)
    while end > floor and joins(text, end):
        end -= 1
    amp = text.rfind("&", max(0, end - 9), end)
    if amp >= 0 and (entity := _ENTITY.match(text, amp)) and entity.end() > end:
        end = amp
    opening = text.rfind("<", 0, end)
    if opening >= 0 and (link := _OUR_LINK.match(text, opening)) and link.end() > end:
        end = opening
    return end


def one_line(text: str, limit: int) -> str:
    """Whitespace collapsed to single spaces, then truncated."""
    return truncate(" ".join(text.split()), limit)


# --- mrkdwn (section and context text, a message's `text`) -----------------------------


def safe_mrkdwn(text: str) -> str:
    """Untrusted text for a mrkdwn field or a message's `text`: escaped, links host-labelled.

    `[Open](https://evil.example/x)` and `<https://evil.example/x|Open>` both become
    `<https://evil.example/x|Open (evil.example)>`; a link that is not http(s) is shown as
    text; everything else is escaped."""
    return slack_links.rewrite(text, _mrkdwn_link, escape)


def _mrkdwn_link(link: Link) -> str:
    label = _plain_label(link)
    if link.host is None:
        return escape(_as_text(label, link.target))
    url = escape(_unescape(link.target))
    if not label and not link.markdown:
        return f"<{url}>"  # a bare URL shows itself
    return f"<{url}|{escape(slack_links.labelled(label, link.host))}>"


def mrkdwn_line(text: str, limit: int) -> str:
    """Untrusted text as one line of safe mrkdwn, at most `limit` characters.

    Escaped first, then truncated (never inside an entity or a link)."""
    return truncate(safe_mrkdwn(" ".join(text.split())), limit)


_UNESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}


def _unescape(text: str) -> str:
    # One pass, so `&amp;lt;` becomes `&lt;` and not `<`.
    return re.sub(r"&(?:amp|lt|gt);", lambda m: _UNESCAPES[m.group()], text)


def _as_text(label: str, target: str) -> str:
    """A link we will not make live, as words: its label and where it pointed."""
    label = " ".join(label.split())
    if not target or label == target:
        return label or target
    return f"{label} ({target})" if label else target


def _plain_label(link: Link) -> str:
    """A link's label with any link nested in it (an image, say) flattened to words."""
    return slack_links.rewrite(link.label, _plain_link, lambda s: s)


def _plain_link(link: Link) -> str:
    label = _plain_label(link)
    if link.host is None:
        return _as_text(label, link.target)
    return slack_links.labelled(label, link.host) if label else link.target


# --- markdown blocks -------------------------------------------------------------------

_WORD_JOINER = "\u2060"
_BROADCAST = re.compile(r"(?<!\w)@(?=(?i:channel|here|everyone|group)\b)")
_QUOTE = re.compile(r"[ \t]{0,3}(?:>[ \t]?)+")
# From the first backslash of a run only: tried at each one, a long run was read to its end
# from every backslash in it (quadratic).
_PROSE = re.compile(
    r"(?<!\\)\\*+(?:(?P<control><[!@#][^<>\n]*+>)|(?P<angle>[<>])|(?P<amp>&(?=#?\w{1,32};)))"
)
_ESCAPABLE = re.compile(r"[<>&]")  # a line of prose without these is left as it is
# A `<` that could start a Slack sequence: a mention, a URL (scheme:) or a label (`…|…>`).
_SEQUENCE_START = re.compile(r"<(?=[!@#]|[A-Za-z][A-Za-z0-9+.-]{0,31}:\S|[^<>|\n]*+\|[^<>\n]*+>)")
_BACKTICKS = re.compile(r"`+")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def safe_markdown(text: str) -> str:
    """Untrusted markdown for a markdown block: no live mention, no disguised link.

    Links (either syntax, images too) become `[label (host)](url)`; reference definitions
    are broken so `[label][ref]` cannot hide a destination; then prose and code are made
    inert as the module docstring says."""
    text = slack_links.REFERENCE_DEFINITION.sub(r"\1 :", text)
    text = slack_links.rewrite(text, _markdown_link, lambda s: s)
    out: list[str] = []
    fence = None
    for line in text.split("\n"):
        was_open = fence is not None
        if "`" in line:  # a line without a backtick neither opens nor closes a fence
            fence = fence_after(line, fence)
        prose = not was_open and fence is None and _ESCAPABLE.search(line)
        out.append(_prose_line(line) if prose else line)
    # Last, over everything (code too, and across the edges of code spans, where parsers
    # may disagree): every `<` that could still start a sequence and every broadcast word.
    text = _SEQUENCE_START.sub("<" + _WORD_JOINER, "\n".join(out))
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def safe_markdown_with_sources(text: str, sources: Sequence[Source]) -> str:
    """`safe_markdown(with_sources(text, sources))`, but with the Sources list set outside
    the code fence the *safe* text leaves open: rewriting a link that spans lines joins them,
    which can change which fences are open (a link starting in a fence's opening line made
    the fence's own line ordinary text and the closing line an opening one)."""
    safe = safe_markdown(text.rstrip())
    listed = sources_markdown(sources)
    if not listed:
        return safe
    fence = fence_after(safe)
    return f"{safe}{fence.close if fence else ''}\n\n{safe_markdown(listed)}"


def inert_line(text: str, limit: int) -> str:
    """Untrusted text as one line of a plain-text field Slack may still scan (a streamed
    task's title or details): nothing escaped (it would show), but every `<` that could
    start a sequence and every broadcast word broken by an invisible word joiner."""
    text = _SEQUENCE_START.sub("<" + _WORD_JOINER, one_line(text, limit))
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def _markdown_link(link: Link) -> str:
    label = slack_links.rewrite(link.label, _markdown_link, lambda s: s)
    if not link.markdown:
        label = re.sub(r"([\[\]])", r"\\\1", label)  # Slack's labels may hold any bracket
    if link.host is None:
        return _as_text(label, link.target)
    # Characters that would end a markdown destination early, percent-encoded.
    dest = re.sub(r"[()<>\s]", lambda m: f"%{ord(m.group()):02X}", _unescape(link.target))
    if not label and not link.markdown:
        return dest  # a bare URL: Slack links it and it shows itself
    return f"[{slack_links.labelled(label, link.host)}]({dest})"


def _prose_line(line: str) -> str:
    """One line outside fences: inline code spans kept, the prose around them escaped."""
    quote = _QUOTE.match(line)
    head = quote.group() if quote else ""  # blockquote markers stay markers
    out = [head]
    at, opener = len(head), None
    for run in _BACKTICKS.finditer(line, len(head)):
        if opener is None:
            opener = run
        elif len(run.group()) == len(opener.group()):
            out += [_prose(line[at : opener.start()]), line[opener.start() : run.end()]]
            at, opener = run.end(), None
    out.append(_prose(line[at:]))
    return "".join(out)


def _prose(text: str) -> str:
    return _PROSE.sub(_defuse, text)


def _defuse(match: re.Match[str]) -> str:
    control = match.group("control")
    if control:
        inner = control[1:-1].split("|")[0].replace("`", "")
        return f"`{inner[0]}{_WORD_JOINER}{inner[1:]}`"
    # Exactly one backslash: a model's own (`\\<`) would otherwise escape ours instead.
    return "\\" + (match.group("angle") or match.group("amp"))


def markdown_as_mrkdwn(markdown: str) -> str:
    """Markdown from `safe_markdown` as safe mrkdwn, for a `text` field or a plain fallback.

    Backslash escapes are undone outside code and the result escaped for mrkdwn, so the
    words read the same and its links stay host-labelled (now in Slack's syntax)."""
    lines: list[str] = []
    fence = None
    for line in markdown.split("\n"):
        was_open = fence is not None
        fence = fence_after(line, fence)
        lines.append(line if was_open or fence is not None else _ESCAPED.sub(r"\1", line))
    return safe_mrkdwn("\n".join(lines))


# --- previews and splitting ------------------------------------------------------------

# Indentation never runs over a line break: from every start of a blank line it would read
# all the blank lines after it (quadratic).
_MD_MARKS = re.compile(r"\*\*|__|`+|^[^\S\n]*+#+\s*|^[^\S\n]*+[-*+]\s+", re.MULTILINE)


def plain_preview(markdown: str, limit: int) -> str:
    """A one-line preview of Markdown with its marks removed (plain text: escape it).

    A preview is cut mid-text, so converting marks could leave one open (and Slack's mrkdwn
    reads `**` differently anyway); plain words read well in a quote line. Links read as
    `label (host)`, unlinked."""
    head = markdown[: max(limit, 0) * 8 + 2000]  # enough words; keeps huge outputs cheap
    text = slack_links.rewrite(head, _plain_link, lambda s: s)
    return one_line(_MD_MARKS.sub(" ", text), limit)


def split_markdown(text: str, limit: int = MARKDOWN_BLOCK_LIMIT) -> list[str]:
    """Split markdown into chunks of at most `limit` characters at safe boundaries.

    A code fence open at a cut is closed in its chunk and reopened in the next, so each
    chunk renders on its own. Linear in the text, whatever its shape (see `slack_split`)."""
    return [chunk.text for chunk in split_chunks(text, limit)]
