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
    out = mrkdwn("*bold* _it_ `code` <@U1> :white_check_mark:\n&gt; quote", {"U1": "Ada"})
    assert "<b>bold</b>" in out
    assert "<i>it</i>" in out
    assert "<code>code</code>" in out
    assert '<span class="mention">@Ada</span>' in out
    assert "✅" in out
    assert "<blockquote>quote</blockquote>" in out


def test_markdown_block_escapes_html() -> None:
    out = markdown("# Title\n**b** <img src=x onerror=alert(1)>")
    assert "<h4>Title</h4>" in out
    assert "<img" not in out


def test_user_text_message_is_escaped() -> None:
    html = message_html(Message("2.0", "C", "<b>hi</b>", user="U1"))
    assert "<b>hi</b>" not in html
    assert '<div class="author">U1</div>' in html  # an unknown person: shown by id


def test_people_are_shown_by_display_name() -> None:
    names = {"U1": "Ada", "UBOT": "Orchestra"}
    html = message_html(Message("2.0", "C", "<@UBOT> hi <@U2>", user="U1"), names=names)
    assert '<div class="author">Ada</div>' in html
    assert '<span class="mention">@Orchestra</span>' in html
    assert '<span class="mention">@U2</span>' in html


def test_a_display_name_is_escaped() -> None:
    html = mrkdwn("<@U1>", {"U1": "<img src=x>"})
    assert "<img" not in html


def test_reply_counts_are_singular_for_one() -> None:
    parent = Message("1.0", "C", "root", user="U1")
    assert ">1 reply</a>" in message_html(parent, replies=1)
    assert ">2 replies</a>" in message_html(parent, replies=2)
    assert "repl" not in message_html(parent, replies=0)


def test_a_private_message_says_so() -> None:
    html = message_html(Message("3.0", "C", "only you", bot_id="B"), private=True)
    assert "Only visible to you" in html
    assert 'class="msg bot private"' in html


def test_markdown_backslash_escapes_show_the_character() -> None:
    out = markdown(r"a \<b\> \*not bold\* \_x\_ \# no heading \\ done")
    assert out == r"a &lt;b&gt; *not bold* _x_ # no heading \ done"


def test_markdown_backslashes_in_code_stay() -> None:
    out = markdown("`a \\<b` and\n```\nc \\> d\n```")
    assert r"<code>a \&lt;b</code>" in out
    assert r"<pre>c \&gt; d" in out


def test_links_show_their_label_and_only_http_links_are_made() -> None:
    out = markdown(
        "[the report (example.com)](https://example.com/r?a=1&b=2) [x](javascript:alert(1))"
    )
    assert '<a href="https://example.com/r?a=1&amp;b=2"' in out
    assert ">the report (example.com)</a>" in out
    assert "javascript:alert(1)</a>" not in out
    assert 'href="javascript' not in out
    linked = mrkdwn("<https://example.com/r|report (example.com)> <javascript:x|y>")
    assert '<a href="https://example.com/r"' in linked
    assert 'href="javascript' not in linked


def test_no_blank_line_after_a_heading_or_code_block() -> None:
    out = markdown("### Title\n\nText\n```\ncode\n```\n\nMore")
    assert "</h4>Text" in out
    assert "</pre>More" in out


def test_a_sources_list_keeps_every_entry_a_link_with_its_host() -> None:
    # As the app sends it: numbered links whose labels end with the host. No mark reaches
    # into a URL (`_x_`, `**`), and a balanced parenthesis stays in the destination.
    out = markdown(
        "Cited [1][2].\n\n**Sources**\n"
        "1. [Tides \\[explained\\] (docs.example)](https://docs.example/_under_/a**b**)\n"
        "2. [Tide (en.wikipedia.org)](https://en.wikipedia.org/wiki/Tide_(disambiguation))"
    )
    assert out == (
        "Cited [1][2].<br><br><b>Sources</b><br>"
        '1. <a href="https://docs.example/_under_/a**b**" target="_blank" '
        'rel="noopener noreferrer">Tides [explained] (docs.example)</a><br>'
        '2. <a href="https://en.wikipedia.org/wiki/Tide_(disambiguation)" target="_blank" '
        'rel="noopener noreferrer">Tide (en.wikipedia.org)</a>'
    )


def test_code_is_never_made_a_link_and_a_label_keeps_its_marks() -> None:
    out = markdown("`[x](https://y.example/)` and [the **`docs`** (d.example)](https://d.example/)")
    assert out.startswith("<code>[x](https://y.example/)</code> and <a ")
    assert ">the <b><code>docs</code></b> (d.example)</a>" in out
    assert markdown("a \ue0000\ue001 b") == "a 0 b"  # the stash's marks are ours alone
