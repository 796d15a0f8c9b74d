"""Pure: Block Kit (as the app sent it) -> HTML for the sandbox page, every string escaped.

Rendered as Slack renders it: mentions by display name, mrkdwn's marks, markdown blocks'
standard Markdown with its backslash escapes undone, links with their labels."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sandbox.fakes.slack import BOT_NAME, Message

Names = Mapping[str, str]  # user id -> display name; an unknown id shows as itself

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
    "warning": "⚠️",
    "mag": "🔍",
    "thread": "🧵",
}
# CommonMark: a backslash before any ASCII punctuation character makes it a literal.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_PROTECTED = 0xF000  # escaped characters ride in the Private Use Area until the end
_HTTP = r"https?://[^\s\"'<>|]+"


def _mention(match: re.Match[str], names: Names) -> str:
    user = match.group(1)
    return f'<span class="mention">@{html.escape(names.get(user, user))}</span>'


def _link(url: str, label: str) -> str:
    # `url` and `label` are escaped already; only http(s) URLs are ever made links.
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


def mrkdwn(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn to HTML: escape first, then the few marks Slack has."""
    names = names or {}
    # Slack sends &amp; &lt; &gt; already escaped in mrkdwn; undo that before escaping once.
    raw = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = html.escape(raw)
    out = re.sub(r"&lt;@([A-Z0-9]+)(\|[^&]*)?&gt;", lambda m: _mention(m, names), out)
    out = re.sub(rf"&lt;({_HTTP})\|(.*?)&gt;", lambda m: _link(m.group(1), m.group(2)), out)
    out = re.sub(rf"&lt;({_HTTP})&gt;", lambda m: _link(m.group(1), m.group(1)), out)
    out = re.sub(r":([a-z_]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?!\w)", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_([^_\n]+)_(?!\w)", r"<i>\1</i>", out)
    out = re.sub(r"^&gt; ?(.*)$", r"<blockquote>\1</blockquote>", out, flags=re.MULTILINE)
    return out.replace("\n", "<br>")


def _protect(text: str) -> str:
    """Backslash escapes (outside code) as placeholders no later rule can read as a mark."""
    parts = re.split(r"(```.*?```|`[^`\n]+`)", text, flags=re.DOTALL)
    return "".join(
        part if i % 2 else _ESCAPED.sub(lambda m: chr(_PROTECTED + ord(m.group(1))), part)
        for i, part in enumerate(parts)
    )


def _restore(html_text: str) -> str:
    return re.sub(
        "[\uf021-\uf07e]", lambda m: html.escape(chr(ord(m.group(0)) - _PROTECTED)), html_text
    )


# A markdown link: its label, then an http(s) destination (one level of balanced parentheses,
# as in `Tide_(disambiguation)`, as CommonMark allows).
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://)(?:[^\s\"'<>|()]|\([^\s\"'<>|()]*\))+)\)")
_STASHED = re.compile("\ue000(\\d+)\ue001")


def _inline(text: str) -> str:
    """Bold and italic, on text already escaped (no code or link left in it)."""
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![\w*])_([^_\n]+)_(?!\w)", r"<i>\1</i>", text)


def markdown(text: str, names: Names | None = None) -> str:
    """The markdown block's standard Markdown, lightly rendered (headings, bold, lists, code,
    links), with its backslash escapes (`\\<`, `\\*`) shown as the characters they stand for;
    outside code, a mention (`<@U…>`, as the app writes one) shows the person's name and an
    emoji code its emoji, as Slack shows them.

    Code and links are rendered first and set aside, so no later mark reaches into them: an
    `_` or `**` in a source's URL stays in the URL, and the link (its label showing the host,
    as the app writes it) stays a link."""
    stash: list[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"\ue000{len(stash) - 1}\ue001"

    text = text.replace("\ue000", "").replace("\ue001", "")  # only ours mark the stash
    out = html.escape(_protect(text), quote=False)
    out = re.sub(
        r"```[a-z]*\n(.*?)```", lambda m: keep(f"<pre>{m.group(1)}</pre>"), out, flags=re.DOTALL
    )
    out = re.sub(r"`([^`\n]+)`", lambda m: keep(f"<code>{m.group(1)}</code>"), out)
    out = _MD_LINK.sub(lambda m: keep(_link(m.group(2), _inline(m.group(1)))), out)
    out = re.sub(r"&lt;@([A-Z0-9]+)&gt;", lambda m: keep(_mention(m, names or {})), out)
    out = re.sub(r":([a-z_]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), out)
    out = re.sub(r"^#{1,6} (.*)$", r"<h4>\1</h4>", out, flags=re.MULTILINE)
    out = _inline(out)
    out = re.sub(r"^[-*] (.*)$", r"• \1", out, flags=re.MULTILINE)
    while _STASHED.search(out):  # a link's label may hold code: set aside twice
        out = _STASHED.sub(lambda m: stash[int(m.group(1))], out)
    # Headings and code blocks are blocks already: a <br> after them would add an empty line.
    out = re.sub(r"(</h4>|</pre>)\n+", r"\1", out)
    return _restore(out.replace("\n", "<br>"))


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


def message_html(
    message: Message, replies: int = 0, names: Names | None = None, *, private: bool = False
) -> str:
    """A message: author, body (blocks or text) and, for a thread parent, its reply count.

    `private`: a message only its recipient sees (Slack's "Only visible to you")."""
    names = names or {}
    author = BOT_NAME if message.bot_id else names.get(message.user, message.user)
    body = (
        "".join(block(b, message, names) for b in message.blocks)
        if message.blocks
        else mrkdwn(message.text, names)
    )
    edited = ' <span class="edited">(edited)</span>' if message.edited else ""
    label = '<span class="private-label">Only visible to you</span>' if private else ""
    link = ""
    if replies:
        ts = html.escape(message.ts, quote=True)
        link = f'<a class="replies" data-thread="{ts}">{replies_label(replies)}</a>'
    classes = ["msg"] + (["bot"] if message.bot_id else []) + (["private"] if private else [])
    return (
        f'<div class="{" ".join(classes)}" id="m{html.escape(message.ts, quote=True)}">'
        f'<div class="author">{html.escape(author)}{edited}{label}</div>{body}{link}</div>'
    )
