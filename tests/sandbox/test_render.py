"""Block Kit -> HTML for the sandbox page, escaping included."""

from __future__ import annotations

from bot import blocks
from pipeline.view import RunView
from sandbox.fakes.slack import Message
from sandbox.render import markdown, message_html, mrkdwn


def test_goal_with_script_renders_as_text() -> None:
    plan = blocks.plan_message(RunView("r1", goal="<script>alert(1)</script>"))
    html = message_html(Message("1.0", "C", plan.text, plan.blocks, bot_id="B"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_buttons_carry_their_action_and_value() -> None:
    plan = blocks.plan_message(RunView("r1", goal="g"))
    html = message_html(Message("1.5", "C", plan.text, plan.blocks, bot_id="B", thread_ts="1.0"))
    assert f'data-action="{blocks.CANCEL_ACTION}"' in html
    assert 'data-value="r1"' in html
    assert 'data-thread="1.0"' in html


def test_mrkdwn_marks_and_mentions() -> None:
    out = mrkdwn("*bold* _it_ `code` <@U1> :white_check_mark:\n&gt; quote")
    assert "<b>bold</b>" in out
    assert "<i>it</i>" in out
    assert "<code>code</code>" in out
    assert '<span class="mention">@U1</span>' in out
    assert "✅" in out
    assert "<blockquote>quote</blockquote>" in out


def test_markdown_block_escapes_html() -> None:
    out = markdown("# Title\n**b** <img src=x onerror=alert(1)>")
    assert "<h4>Title</h4>" in out
    assert "<img" not in out


def test_user_text_message_is_escaped() -> None:
    html = message_html(Message("2.0", "C", "<b>hi</b>", user="U1"))
    assert "<b>hi</b>" not in html
    assert "@U1" in html


def test_no_blank_line_after_a_heading_or_code_block() -> None:
    out = markdown("### Title\n\nText\n```\ncode\n```\n\nMore")
    assert "</h4>Text" in out
    assert "</pre>More" in out
