"""A streamed message (Slack's native stream) -> HTML for the sandbox page: plan, tasks with
their status, sources with their hosts, text as markdown, closing blocks; escaping included."""

from __future__ import annotations

from typing import Any

from bot.render import native as native_blocks
from sandbox.fakes.slack import Message
from sandbox.fakes.slack_streams import Stream, StreamWrite
from sandbox.render import source_link
from sandbox.render_stream import stream_html, task_html


def streamed(*chunks: dict[str, Any], text: str = "", state: str = "streaming") -> str:
    stream = Stream("D1", "2.0", "1.0", 0.0, "plan")
    stream.writes.append(StreamWrite("chat.startStream", 0.0, text, tuple(chunks)))
    stream.state = "stopped" if state == "stopped" else "streaming"
    return stream_html(Message("2.0", "D1", text, bot_id="B", thread_ts="1.0"), stream)


def task(status: str, **fields: Any) -> dict[str, Any]:
    return {"type": "task_update", "id": "s1", "title": "Analyst", "status": status, **fields}


def test_each_task_shows_its_status_as_an_icon_and_a_word() -> None:
    shown = {status: task_html(task(status)) for status in native_blocks._TASK_STATUS.values()}
    assert 'data-status="in_progress"' in shown["in_progress"]
    assert "⏳" in shown["in_progress"]
    assert "In progress" in shown["in_progress"]
    assert "✅" in shown["complete"]
    assert "Complete" in shown["complete"]
    assert "❌" in shown["error"]
    assert "Pending" in shown["pending"]


def test_the_plan_title_tasks_and_text_come_in_order() -> None:
    html = streamed(
        {"type": "plan_update", "title": "Researching: tea"},
        task("complete", details="done in 1.0s"),
        text="**Tea** is old.",
    )
    assert html.index("Researching: tea") < html.index("Analyst") < html.index("<b>Tea</b>")
    assert html.endswith('is old.<span class="cursor" aria-hidden="true"></span></div></div>')
    assert '<div class="task-details">done in 1.0s</div>' in html
    assert 'class="msg bot streamed live"' in html
    assert 'class="cursor"' in html


def test_a_stopped_stream_is_not_live_and_ends_with_its_blocks() -> None:
    stream = Stream("D1", "2.0", "1.0", 0.0, "plan", state="stopped")
    stream.blocks = native_blocks.closing_blocks(["footer line"], "r1")
    html = stream_html(Message("2.0", "D1", "", bot_id="B", thread_ts="1.0"), stream)
    assert " live" not in html
    assert "cursor" not in html
    assert "footer line" in html
    assert 'data-action="orchestra_feedback"' in html
    assert 'data-value="good:r1"' in html
    assert 'data-value="bad:r1"' in html
    assert 'data-thread="1.0"' in html
    assert "👍 Helpful" in html


def test_every_string_of_a_stream_is_escaped() -> None:
    evil = "<img src=x onerror=alert(1)>"
    html = streamed(
        {"type": "plan_update", "title": evil},
        task("error", title=evil, details=evil, output=evil),
        text=evil,
    )
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 5


def test_a_source_always_shows_the_host_it_goes_to() -> None:
    url = "https://example.com/a"
    # As the app labels it: the host already ends the label.
    assert source_link(url, "Tea (example.com)").count("example.com)") == 1
    # A label that names another host is not believed: the real one is added.
    tricky = source_link("https://evil.example/x", "Docs (example.com)")
    assert ">Docs (example.com) (evil.example)</a>" in tricky
    assert ">Untitled (example.com)</a>" in source_link(url, "Untitled")
    assert ">example.com</a>" in source_link(url, "")


def test_only_http_sources_become_links_and_urls_are_escaped() -> None:
    assert "<a" not in source_link("javascript:alert(1)", "click")
    assert "click" in source_link("javascript:alert(1)", "click")
    quoted = source_link('https://example.com/"onmouseover="x', "t")
    assert '"onmouseover' not in quoted
    assert "&quot;onmouseover=&quot;x" in quoted
    html = streamed(task("complete", sources=[{"type": "url", "url": "https://a.example/p"}]))
    assert 'href="https://a.example/p"' in html
    assert ">a.example</a>" in html


def test_a_mention_in_streamed_text_shows_the_name_and_an_inert_one_stays_text() -> None:
    stream = Stream("D1", "2.0", "1.0", 0.0, "plan")
    text = ":black_square_for_stop: Cancelled by <@U1>. Not <\u2060@U2>, nor `<@U1>`."
    stream.writes.append(StreamWrite("chat.stopStream", 0.0, text, ()))
    html = stream_html(Message("2.0", "D1", "", bot_id="B"), stream, {"U1": "Ada <x>"})
    assert '⏹️ Cancelled by <span class="mention">@Ada &lt;x&gt;</span>.' in html
    assert "Not &lt;\u2060@U2&gt;" in html
    assert "<code>&lt;@U1&gt;</code>" in html
