"""Pure: Block Kit (as the app sent it) -> HTML for the sandbox page, every string escaped.

Rendered as Slack renders it: people and channels by name, mrkdwn's marks (code blocks and
strikethrough included), markdown blocks' standard Markdown with its backslash escapes undone,
emoji codes as emoji, links with their labels (a link to a thread in the workspace opens it in
the page), and a message's time beside its author."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from sandbox.fakes.slack import BOT_NAME, WORKSPACE_URL, FakeSlack, Message

# Id -> name: a person's display name (U…/W…) or a conversation's name (C…/G…/D…); the ids
# never collide, so one map holds both. An unknown id shows as itself.
Names = Mapping[str, str]


def names_of(slack: FakeSlack) -> dict[str, str]:
    """The names the workspace shows: every person's and every named conversation's."""
    channels = {c.id: c.name for c in slack.conversations.values() if c.name}
    return {**channels, **slack.users}


# Every emoji code the app writes (tests/sandbox/test_render.py checks bot/ for new ones).
_EMOJI = {
    "hourglass_flowing_sand": "⏳",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "white_check_mark": "✅",
    "x": "❌",
    "fast_forward": "⏩",
    "black_square_for_stop": "⏹️",
    "double_vertical_bar": "⏸️",
    "arrow_forward": "▶️",
    "brain": "🧠",
    "clipboard": "📋",
    "stopwatch": "⏱️",
    "page_facing_up": "📄",
    "warning": "⚠️",
    "mag": "🔍",
    "thread": "🧵",
    "scissors": "✂️",
    "large_yellow_circle": "🟡",
    "compass": "🧭",
    "alarm_clock": "⏰",
    "speech_balloon": "💬",
    "eyes": "👀",
    "memo": "📝",
    "question": "❓",
    "gear": "⚙️",
}
# Only known codes match, so an unknown `:word:` never swallows the colon a known one needs.
_EMOJI_CODE = re.compile(
    ":(" + "|".join(sorted(map(re.escape, _EMOJI), key=len, reverse=True)) + "):"
)
# CommonMark: a backslash before any ASCII punctuation character makes it a literal.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_PROTECTED = 0xF000  # escaped characters ride in the Private Use Area until the end
_HTTP = r"https?://[^\s\"'<>|\ue000\ue001]+"
# Fragments set aside (code, links, marks) ride as \ue000<n>\ue001 until the end, so no later
# rule reaches into them; the input's own \ue000 and \ue001 are dropped first.
_STASHED = re.compile("\ue000(\\d+)\ue001")
# Slack's permalink to a message, as the app links a run's thread (bot.render.history.thread_link);
# a reply's permalink names its thread in `thread_ts`.
_PERMALINK = re.compile(
    re.escape(WORKSPACE_URL)
    + r"archives/([A-Z0-9]+)/p(\d+)(\d{6})(?:\?thread_ts=(\d+)\.(\d{6})(?:&cid=[A-Z0-9]+)?)?"
)


# A canvas's address in the workspace, as the app links one (bot.runs.reports.canvas_link).
_CANVAS_LINK = re.compile(re.escape(WORKSPACE_URL) + r"docs/[A-Z0-9]+/([A-Z0-9]+)")


class _Stash:
    """Fragments of finished HTML, set aside under placeholders until `restore`."""

    def __init__(self) -> None:
        self.fragments: list[str] = []

    def keep(self, fragment: str) -> str:
        self.fragments.append(fragment)
        return f"\ue000{len(self.fragments) - 1}\ue001"

    def restore(self, text: str) -> str:
        while _STASHED.search(text):  # a fragment may hold others
            text = _STASHED.sub(lambda m: self.fragments[int(m.group(1))], text)
        return text


def _unmarked(text: str) -> str:
    """`text` without the characters that mark the stash (only ours may)."""
    return text.replace("\ue000", "").replace("\ue001", "")


def _emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: _EMOJI[m.group(1)], text)


# Marks, innermost set aside first: each mark's text gets the marks after it, and the result
# is one fragment, so marks always nest properly (`*a _b_*` and `_a *b*_` alike).
Marks = tuple[tuple[str, re.Pattern[str]], ...]
# A mark's text (group "t") starts and ends with a non-space, as in Slack and CommonMark.
_MRKDWN_MARKS: Marks = (
    ("s", re.compile(r"(?<![\w~])~(?=\S)(?P<t>[^~\n]+)(?<=\S)~(?!\w)")),
    ("i", re.compile(r"(?<![\w_])_(?=\S)(?P<t>[^_\n]+)(?<=\S)_(?!\w)")),
    ("b", re.compile(r"(?<![\w*])\*(?=\S)(?P<t>[^*\n]+)(?<=\S)\*(?!\w)")),
)
_MARKDOWN_MARKS: Marks = (  # GitHub's ~~strikethrough~~ (or ~one~), **bold**, _italic_
    ("s", re.compile(r"(?<![\w~])(~~?)(?=\S)(?P<t>[^~\n]+)(?<=\S)\1(?![\w~])")),
    ("b", re.compile(r"\*\*(?P<t>[^*]+)\*\*")),
    ("b", re.compile(r"(?<!\w)__(?=\S)(?P<t>[^_\n]+)(?<=\S)__(?!\w)")),
    ("i", re.compile(r"(?<![\w*])_(?=\S)(?P<t>[^_\n]+)(?<=\S)_(?!\w)")),
    ("i", re.compile(r"(?<![\w*])\*(?=\S)(?P<t>[^*\n]+)(?<=\S)\*(?![\w*])")),
)


def _marks(text: str, stash: _Stash, marks: Marks) -> str:
    """Bold, italic and strikethrough, on text already escaped (code and links set aside)."""
    for i, (tag, pattern) in enumerate(marks):
        inner = marks[i + 1 :]

        def mark(match: re.Match[str], tag: str = tag, inner: Marks = inner) -> str:
            return stash.keep(f"<{tag}>{_marks(match.group('t'), stash, inner)}</{tag}>")

        text = pattern.sub(mark, text)
    return text


def _mention(user: str, names: Names, label: str = "") -> str:
    """A person, by name (else the mention's own label, else their id)."""
    return f'<span class="mention">@{html.escape(names.get(user) or label or user)}</span>'


def _channel(channel: str, names: Names, label: str = "") -> str:
    """A channel, by name, as Slack shows `<#C…>` (else its label, else its id)."""
    name = names.get(channel) or label or channel
    return f'<span class="mention channel">#{html.escape(name)}</span>'


def thread_address(url: str) -> str | None:
    """Where in the page a link to a thread of the workspace (Slack's permalink, as the app
    writes one) opens that thread: `#/archives/<channel>/p<thread ts without its dot>`; None
    for any other URL. Slack opens a permalink in the app rather than a browser; so does the
    page (its router reads the address)."""
    found = _PERMALINK.fullmatch(url)
    if found is None:
        return None
    channel, seconds, micros, thread_seconds, thread_micros = found.groups()
    if thread_seconds:  # a reply: its thread
        seconds, micros = thread_seconds, thread_micros
    return f"#/archives/{channel}/p{seconds}{micros}"


def canvas_address(url: str) -> str | None:
    """Where in the page a canvas's link opens it (`#/docs/<canvas id>`: a pane beside the
    thread, as Slack opens a canvas beside the conversation); None for any other URL."""
    found = _CANVAS_LINK.fullmatch(url)
    return f"#/docs/{found.group(1)}" if found else None


def _link(url: str, label: str) -> str:
    # `url` and `label` are escaped already; only http(s) URLs are ever made links.
    canvas = canvas_address(html.unescape(url))
    if canvas is not None:
        return f'<a class="canvas-link" href="{canvas}" title="{url}">{label}</a>'
    address = thread_address(html.unescape(url))
    if address is not None:
        # Hovered, it shows the Slack address it stands for.
        return (
            f'<a class="permalink" href="{html.escape(address, quote=True)}" title="{url}">'
            f"{label}</a>"
        )
    return f'<a href="{url}" target="_blank" rel="noopener noreferrer">{label}</a>'


def host_of(url: str) -> str | None:
    """The host an http(s) URL goes to, or None for any other URL (never made a link)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 literal
        return None
    return parts.hostname if parts.scheme in ("http", "https") and parts.hostname else None


def source_link(url: str, text: str) -> str:
    """A source (a URL and its title) as a link whose label ends with the host it goes to, as
    the app labels links: a label that does not say where the link goes gets the host added.
    Anything but an http(s) URL stays text."""
    host = host_of(url)
    label = " ".join(text.split())
    if host is None:
        return f'<span class="source">{html.escape(label or url)}</span>'
    if not label:
        label = host
    elif not label.lower().endswith(f"({host})"):
        label = f"{label} ({host})"
    return _link(html.escape(url, quote=True), html.escape(label))


# Slack's `<…>` in text escaped for HTML: a mention, a channel, a special mention or a link,
# with an optional label after `|`; nothing in it is `<` or `>` (no `&lt;`/`&gt;`).
_ANGLE = re.compile(r"&lt;((?:[^&\n]|&(?!lt;|gt;))*)&gt;")
_SPECIAL = {"here", "channel", "everyone"}  # <!here> and the like: shown as @here


def _angle(content: str, names: Names, stash: _Stash) -> str | None:
    """One `<…>` of mrkdwn (its content escaped) as HTML set aside, or None: leave it text."""
    target, _, label = content.partition("|")
    unescaped = html.unescape(label)
    if re.fullmatch(r"@[A-Z0-9]+", target):
        return stash.keep(_mention(target[1:], names, unescaped))
    if re.fullmatch(r"#[A-Z0-9]+", target):
        return stash.keep(_channel(target[1:], names, unescaped))
    if target[1:] in _SPECIAL and target.startswith("!"):
        return stash.keep(f'<span class="mention">@{target[1:]}</span>')
    url = html.unescape(target)
    if re.fullmatch(_HTTP, url):
        return stash.keep(_link(html.escape(url, quote=True), label or target))
    return None


def mrkdwn(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn to HTML: escape first, then what Slack renders. Code blocks (```…```,
    on one line too) and `code` first, set aside with everything else rendered, so no later
    rule reaches into them (nor into a link's URL): mentions, channels and links, emoji
    codes, quotes, then *bold*, _italic_ and ~strikethrough~."""
    names = names or {}
    stash = _Stash()
    # Slack sends &amp; &lt; &gt; already escaped in mrkdwn; undo that before escaping once.
    raw = _unmarked(text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = html.escape(raw)
    out = re.sub(
        r"```(.*?)```",
        lambda m: stash.keep(f"<pre>{_trim_newline(m.group(1))}</pre>"),
        out,
        flags=re.DOTALL,
    )
    out = re.sub(r"`([^`\n]+)`", lambda m: stash.keep(f"<code>{m.group(1)}</code>"), out)
    out = _ANGLE.sub(lambda m: _angle(m.group(1), names, stash) or m.group(0), out)
    out = _emoji(out)
    out = re.sub(
        r"^&gt; ?(.*)$",
        lambda m: stash.keep(
            f"<blockquote>{_marks(m.group(1), stash, _MRKDWN_MARKS)}</blockquote>"
        ),
        out,
        flags=re.MULTILINE,
    )
    out = _marks(out, stash, _MRKDWN_MARKS)
    return _lines(stash.restore(out), blank_lines=True)


def _trim_newline(code: str) -> str:
    """A code block's text without the line break after its opening fence and before its
    closing one (Slack shows none)."""
    code = code.removeprefix("\n")
    return code.removesuffix("\n")


def _lines(out: str, *, blank_lines: bool) -> str:
    """Line breaks as <br>, but none right after a block (a heading, a code block, a quote):
    it would add an empty line. `blank_lines`: keep those after the first (mrkdwn shows them;
    in Markdown, blank lines only end a paragraph)."""
    out = re.sub(r"(</h4>|</pre>|</blockquote>)\n" + ("" if blank_lines else "+"), r"\1", out)
    return out.replace("\n", "<br>")


# A fenced code block (CommonMark): a line of ``` and an info string without backticks, then
# everything up to a line of ``` or the end (an answer still being written). And a code span:
# a run of backticks, up to the next run of the same length on the line.
_FENCE = r"^ {0,3}```(?P<info>[^`\n]*)\n(?P<code>.*?)(?:^ {0,3}```[ \t]*$|\Z)"
_SPAN = r"(?<!`)(?P<ticks>`+)(?!`)(?P<span>[^\n]+?)(?<!`)(?P=ticks)(?!`)"
_CODE = re.compile(f"(?:{_FENCE})|(?:{_SPAN})", re.MULTILINE | re.DOTALL)


def _code(match: re.Match[str]) -> str:
    """A code block or span (its text escaped already) as HTML; a code block's info string
    (its language) rides along in `data-lang`."""
    if match.group("ticks") is not None:
        return f"<code>{match.group('span')}</code>"
    info = match.group("info").strip().replace('"', "&quot;")
    lang = f' data-lang="{info}"' if info else ""
    return f"<pre{lang}>{match.group('code').removesuffix(chr(10))}</pre>"


def _protect(text: str) -> str:
    """Backslash escapes (outside code) as placeholders no later rule can read as a mark."""
    out, at = [], 0
    for match in _CODE.finditer(text):
        out += [_ESCAPED.sub(_protected, text[at : match.start()]), match.group(0)]
        at = match.end()
    return "".join([*out, _ESCAPED.sub(_protected, text[at:])])


def _protected(match: re.Match[str]) -> str:
    return chr(_PROTECTED + ord(match.group(1)))


def _restore(html_text: str) -> str:
    return re.sub(
        "[\uf021-\uf07e]", lambda m: html.escape(chr(ord(m.group(0)) - _PROTECTED)), html_text
    )


# A markdown link: its label (one level of balanced brackets in it), then an http(s)
# destination (one level of balanced parentheses, as in `Tide_(disambiguation)`), as
# CommonMark allows. A bracket never starts a label inside another: linear on `[[[[…`.
_MD_LINK = re.compile(
    r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])+)\]"
    r"\(((?:https?://)(?:[^\s\"'<>|()]|\([^\s\"'<>|()]*\))+)\)"
)


def markdown(text: str, names: Names | None = None) -> str:
    """The markdown block's standard Markdown, lightly rendered (headings, quotes, lists,
    bold, italic, strikethrough, code blocks and spans, links), with its backslash escapes
    (`\\<`, `\\*`) shown as the characters they stand for; outside code, a mention (`<@U…>`
    or `<#C…>`, as the app writes them) shows the person's or channel's name and an emoji code
    its emoji, as Slack shows them.

    Code and links are rendered first and set aside, so no later mark reaches into them: an
    `_` or `**` in a source's URL stays in the URL, and the link (its label showing the host,
    as the app writes it) stays a link."""
    names = names or {}
    stash = _Stash()

    def marked(fragment: str) -> str:
        return _marks(fragment, stash, _MARKDOWN_MARKS)

    out = html.escape(_protect(_unmarked(text)), quote=False)
    out = _CODE.sub(lambda m: stash.keep(_code(m)), out)
    out = _MD_LINK.sub(lambda m: stash.keep(_link(m.group(2), marked(m.group(1)))), out)
    out = re.sub(r"&lt;@([A-Z0-9]+)&gt;", lambda m: stash.keep(_mention(m[1], names)), out)
    out = re.sub(r"&lt;#([A-Z0-9]+)&gt;", lambda m: stash.keep(_channel(m[1], names)), out)
    out = _emoji(out)
    out = re.sub(r"^[-*] (.*)$", r"• \1", out, flags=re.MULTILINE)
    out = re.sub(
        r"^#{1,6} (.*)$", lambda m: stash.keep(f"<h4>{marked(m[1])}</h4>"), out, flags=re.M
    )
    out = re.sub(
        r"^&gt; ?(.*)$",
        lambda m: stash.keep(f"<blockquote>{marked(m[1])}</blockquote>"),
        out,
        flags=re.MULTILINE,
    )
    out = marked(out)
    return _restore(_lines(stash.restore(out), blank_lines=False))


def _text(obj: Any, names: Names) -> str:
    if isinstance(obj, dict):
        kind, text = obj.get("type"), str(obj.get("text", ""))
        return mrkdwn(text, names) if kind == "mrkdwn" else html.escape(text)
    return html.escape(str(obj or ""))


def block(block: dict[str, Any], message: Message, names: Names | None = None) -> str:
    """One block as HTML."""
    names = names or {}
    kind = block.get("type")
    if kind == "section":
        return f'<div class="section">{_text(block.get("text"), names)}</div>'
    if kind == "markdown":
        return f'<div class="markdown">{markdown(str(block.get("text", "")), names)}</div>'
    if kind == "header":
        return f"<h3>{_text(block.get('text'), names)}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        return (
            '<div class="context">'
            + " ".join(_text(e, names) for e in block.get("elements", []))
            + "</div>"
        )
    if kind == "actions":
        return _actions(block, message, names)
    if kind == "context_actions":
        return _feedback(block, message)
    return f'<div class="unknown">[{html.escape(str(kind))} block]</div>'


_FEEDBACK_ICONS = {"positive_button": "👍", "negative_button": "👎"}


def _feedback(block: dict[str, Any], message: Message) -> str:
    """Feedback buttons (thumbs up and down, their text as the label): a click sends the
    block action, with the side's value, as Slack does."""
    buttons = [
        _button(
            element.get("action_id", ""),
            str(element.get(side, {}).get("value", "")),
            message,
            f"{_FEEDBACK_ICONS[side]} {_text(element.get(side, {}).get('text'), {})}",
            "feedback",
        )
        for element in block.get("elements", [])
        if element.get("type") == "feedback_buttons"
        for side in ("positive_button", "negative_button")
    ]
    return '<div class="actions">' + "".join(buttons) + "</div>"


def _button(action: str, value: str, message: Message, label: str, style: str) -> str:
    """A button that sends (action, value) for `message` when clicked; `label` is HTML."""
    attrs = {
        "data-action": action,
        "data-value": value,
        "data-ts": message.ts,
        "data-thread": message.thread_ts or message.ts,
    }
    data = " ".join(f'{k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())
    return f'<button class="btn {html.escape(style, quote=True)}" {data}>{label}</button>'


def _actions(block: dict[str, Any], message: Message, names: Names) -> str:
    buttons = [
        _button(
            str(element.get("action_id", "")),
            str(element.get("value", "")),
            message,
            _text(element.get("text"), names),
            str(element.get("style", "")),
        )
        for element in block.get("elements", [])
    ]
    return '<div class="actions">' + "".join(buttons) + "</div>"


def replies_label(count: int) -> str:
    """Slack's thread link under a parent: "1 reply", "2 replies"."""
    return f"{count} {'reply' if count == 1 else 'replies'}"


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def time_html(ts: str, tz: tzinfo | None = None) -> str:
    """A message's time as Slack shows it beside the author ("3:07 PM"), the full date and
    time when hovered; in `tz` (None: this machine's, which is the reader's: the sandbox runs
    where its page is read). '' for a ts that is not a time."""
    try:
        when = datetime.fromtimestamp(float(ts), UTC).astimezone(tz)
    except (ValueError, OverflowError, OSError):
        return ""
    hour, half = when.hour % 12 or 12, "AM" if when.hour < 12 else "PM"
    full = f"{when:%A, %B} {_ordinal(when.day)} at {hour}:{when:%M:%S} {half}"  # Slack's tooltip
    return (
        f'<time class="time" datetime="{when.isoformat(timespec="seconds")}" '
        f'title="{full}">{hour}:{when:%M} {half}</time>'
    )


def message_html(
    message: Message,
    replies: int = 0,
    names: Names | None = None,
    *,
    private: bool = False,
    tz: tzinfo | None = None,
) -> str:
    """A message: author and time, body (blocks or text) and, for a thread parent, its reply
    count on a line of its own (as Slack shows it under the message).

    `private`: a message only its recipient sees (Slack's "Only visible to you"); `tz`: the
    time zone of its time (None: this machine's)."""
    names = names or {}
    author = BOT_NAME if message.bot_id else names.get(message.user, message.user)
    body = (
        "".join(block(b, message, names) for b in message.blocks)
        if message.blocks
        else mrkdwn(message.text, names)
    )
    body += "".join(_file_html(f) for f in message.files)
    edited = ' <span class="edited">(edited)</span>' if message.edited else ""
    label = '<span class="private-label">Only visible to you</span>' if private else ""
    link = ""
    if replies:
        ts = html.escape(message.ts, quote=True)
        link = (
            f'<div class="thread-summary"><a class="replies" data-thread="{ts}">'
            f"{replies_label(replies)}</a></div>"
        )
    classes = ["msg"] + (["bot"] if message.bot_id else []) + (["private"] if private else [])
    return (
        f'<div class="{" ".join(classes)}" id="m{html.escape(message.ts, quote=True)}">'
        f'<div class="author">{html.escape(author)}{time_html(message.ts, tz)}{edited}{label}'
        f"</div>{body}{link}</div>"
    )


def _file_html(file: Mapping[str, Any]) -> str:
    """A file shared in a message (files.completeUploadExternal): its name, downloadable."""
    file_id = html.escape(str(file.get("id", "")), quote=True)
    name = html.escape(str(file.get("name") or file.get("title") or "file"))
    return (
        f'<div class="file"><span aria-hidden="true">📄</span> '
        f'<a class="file-link" href="/api/files/{file_id}" download="{name}">{name}</a></div>'
    )


def canvas_html(title: str, text: str, names: Names | None = None) -> str:
    """A canvas as its pane shows it: its title, then its markdown rendered."""
    return f'<h2 class="canvas-title">{html.escape(title)}</h2>{markdown(text, names)}'
