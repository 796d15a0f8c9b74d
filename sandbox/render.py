"""Pure: Block Kit (as the app sent it) -> HTML for the sandbox page, every string escaped."""

from __future__ import annotations

import html
import re
from typing import Any

from sandbox.fakes.slack import Message

_EMOJI = {
    "hourglass_flowing_sand": "⏳",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "white_check_mark": "✅",
    "x": "❌",
    "fast_forward": "⏩",
    "black_square_for_stop": "⏹️",
    "brain": "🧠",
    "clipboard": "📋",
    "stopwatch": "⏱️",
    "warning": "⚠️",
    "mag": "🔍",
}


def mrkdwn(text: str) -> str:
    """Slack mrkdwn to HTML: escape first, then the few marks Slack has."""
    # Slack sends &amp; &lt; &gt; already escaped in mrkdwn; undo that before escaping once.
    raw = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = html.escape(raw)
    out = re.sub(r"&lt;@([A-Z0-9]+)(\|[^&]*)?&gt;", r'<span class="mention">@\1</span>', out)
    out = re.sub(r":([a-z_]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?!\w)", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_([^_\n]+)_(?!\w)", r"<i>\1</i>", out)
    out = re.sub(r"^&gt; ?(.*)$", r"<blockquote>\1</blockquote>", out, flags=re.MULTILINE)
    return out.replace("\n", "<br>")


def markdown(text: str) -> str:
    """The markdown block's standard Markdown, lightly rendered (headings, bold, lists, code)."""
    out = html.escape(text)
    out = re.sub(r"```[a-z]*\n(.*?)```", lambda m: f"<pre>{m.group(1)}</pre>", out, flags=re.DOTALL)
    out = re.sub(r"^#{1,6} (.*)$", r"<h4>\1</h4>", out, flags=re.MULTILINE)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w*])_([^_\n]+)_(?!\w)", r"<i>\1</i>", out)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    out = re.sub(r"^- (.*)$", r"• \1", out, flags=re.MULTILINE)
    # Headings and code blocks are blocks already: a <br> after them would add an empty line.
    out = re.sub(r"(</h4>|</pre>)\n+", r"\1", out)
    return out.replace("\n", "<br>")


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        kind, text = obj.get("type"), str(obj.get("text", ""))
        return mrkdwn(text) if kind == "mrkdwn" else html.escape(text)
    return html.escape(str(obj or ""))


def block(block: dict[str, Any], message: Message) -> str:
    """One block as HTML."""
    kind = block.get("type")
    if kind == "section":
        return f'<div class="section">{_text(block.get("text"))}</div>'
    if kind == "markdown":
        return f'<div class="markdown">{markdown(str(block.get("text", "")))}</div>'
    if kind == "header":
        return f"<h3>{_text(block.get('text'))}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        return (
            '<div class="context">'
            + " ".join(_text(e) for e in block.get("elements", []))
            + "</div>"
        )
    if kind == "actions":
        buttons = []
        for element in block.get("elements", []):
            attrs = {
                "data-action": element.get("action_id", ""),
                "data-value": element.get("value", ""),
                "data-ts": message.ts,
                "data-thread": message.thread_ts or message.ts,
            }
            data = " ".join(f'{k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())
            style = html.escape(str(element.get("style", "")), quote=True)
            buttons.append(
                f'<button class="btn {style}" {data}>{_text(element.get("text"))}</button>'
            )
        return '<div class="actions">' + "".join(buttons) + "</div>"
    return f'<div class="unknown">[{html.escape(str(kind))} block]</div>'


def message_html(message: Message, replies: int = 0) -> str:
    """A message: author, body (blocks or text) and, for a thread parent, its reply count."""
    author = "Orchestra" if message.bot_id else f"@{message.user}"
    body = (
        "".join(block(b, message) for b in message.blocks)
        if message.blocks
        else mrkdwn(message.text)
    )
    edited = ' <span class="edited">(edited)</span>' if message.edited else ""
    link = ""
    if replies:
        ts = html.escape(message.ts, quote=True)
        link = f'<a class="replies" data-thread="{ts}">{replies} replies</a>'
    cls = "msg bot" if message.bot_id else "msg"
    return (
        f'<div class="{cls}" id="m{html.escape(message.ts, quote=True)}">'
        f'<div class="author">{html.escape(author)}{edited}</div>{body}{link}</div>'
    )
