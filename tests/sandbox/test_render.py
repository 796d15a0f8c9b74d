"""Block Kit -> HTML for the sandbox page, escaping included."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

from bot.render import messages as blocks
from bot.render.history import thread_link
from pipeline.view import RunView
from sandbox.fakes.slack import WORKSPACE_URL, FakeSlack, Message
from sandbox.render import (
    markdown,
    message_html,
    mrkdwn,
    names_of,
    thread_address,
    time_html,
)


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
    assert '<div class="author">U1<time' in html  # an unknown person: shown by id


def test_people_are_shown_by_display_name() -> None:
    names = {"U1": "Ada", "UBOT": "Orchestra"}
    html = message_html(Message("2.0", "C", "<@UBOT> hi <@U2>", user="U1"), names=names)
    assert '<div class="author">Ada<time' in html
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


def test_channels_show_by_name_and_the_apps_emoji_as_emoji() -> None:
    # As `/research history` and the Home tab write them (issue 20.2.9).
    out = mrkdwn(
        "Latest runs in <#CSANDBOX> · <#C2|general> · <#C3> · :large_yellow_circle: partly"
        " · :scissors: · :unknown: · 10:30:45",
        {"CSANDBOX": "research"},
    )
    assert '<span class="mention channel">#research</span>' in out
    assert '<span class="mention channel">#general</span>' in out
    assert '<span class="mention channel">#C3</span>' in out
    assert "🟡 partly · ✂️ · :unknown: · 10:30:45" in out
    assert "&lt;#" not in out
    assert markdown("in <#CSANDBOX> :warning:", {"CSANDBOX": "research"}) == (
        'in <span class="mention channel">#research</span> ⚠️'
    )


def test_every_emoji_code_the_app_writes_is_shown_as_emoji() -> None:
    root = Path(__file__).parents[2] / "bot"
    codes = {
        code
        for path in root.rglob("*.py")
        for code in re.findall(r":([a-z][a-z0-9_+-]*):", path.read_text(encoding="utf-8"))
    } - {"memory"}  # SQLite's ":memory:", not an emoji
    assert codes
    for code in sorted(codes):
        assert f":{code}:" not in mrkdwn(f"a :{code}: b"), code


def test_a_thread_link_opens_the_thread_in_the_page() -> None:
    url = thread_link(WORKSPACE_URL, "CSANDBOX", "1733000000.123456")
    out = mrkdwn(f"<{url}|thread> <https://example.com/x|elsewhere>")
    assert (
        f'<a class="permalink" href="#/archives/CSANDBOX/p1733000000123456" title="{url}">'
        "thread</a>"
    ) in out
    assert 'href="https://example.com/x" target="_blank"' in out  # other links: a new tab
    reply = f"{url.replace('p1733000000123456', 'p1733000009000001')}?thread_ts=1733000000.123456"
    assert thread_address(reply) == "#/archives/CSANDBOX/p1733000000123456"
    assert thread_address("https://other.slack.com/archives/C1/p1733000000123456") is None
    assert 'class="permalink"' in markdown(f"[the thread]({url})")


def test_code_blocks_in_mrkdwn_on_one_line_or_several() -> None:
    assert mrkdwn("```rm -rf /```") == "<pre>rm -rf /</pre>"
    assert mrkdwn("run:\n```\nrm -rf /\n*not bold* :x:\n```\nthen") == (
        "run:<br><pre>rm -rf /<br>*not bold* :x:</pre>then"
    )
    assert mrkdwn("`a *b*` and *c*") == "<code>a *b*</code> and <b>c</b>"


def test_code_blocks_and_spans_in_markdown() -> None:
    assert markdown("```rm -rf /```") == "<code>rm -rf /</code>"  # CommonMark: a span
    assert markdown("``a ` b``") == "<code>a ` b</code>"
    assert markdown("```sh\nrm -rf /\n**x**\n```\nafter") == (
        '<pre data-lang="sh">rm -rf /<br>**x**</pre>after'
    )
    assert markdown('```a"b\nx\n```') == '<pre data-lang="a&quot;b">x</pre>'
    # An answer still being written: its code block runs to the end so far.
    assert markdown("text\n```\nhalf") == "text<br><pre>half</pre>"


def test_strikethrough_and_marks_nest() -> None:
    assert mrkdwn("~gone~ *b _i_* _i *b*_ ~a *b*~") == (
        "<s>gone</s> <b>b <i>i</i></b> <i>i <b>b</b></i> <s>a <b>b</b></s>"
    )
    assert mrkdwn("a ~ b ~ c and x~y~z") == "a ~ b ~ c and x~y~z"
    assert markdown("~~gone~~ ~one~ **b _i_** *i*") == (
        "<s>gone</s> <s>one</s> <b>b <i>i</i></b> <i>i</i>"
    )
    assert markdown("- item *one*\n* item two") == "• item <i>one</i><br>• item two"


def test_a_message_shows_its_time_as_slack_does() -> None:
    message = Message("1765203733.000100", "C", "hi", user="U1")  # 2025-12-08 14:22:13 UTC
    out = message_html(message, tz=UTC)
    assert (
        '<div class="author">U1<time class="time" datetime="2025-12-08T14:22:13+00:00" '
        'title="Monday, December 8th at 2:22:13 PM">2:22 PM</time></div>hi'
    ) in out
    assert ">12:05 AM</time>" in time_html("1765152300", UTC)
    assert 'title="Tuesday, December 2nd at 12:05:00 PM"' in time_html("1764677100", UTC)
    assert time_html("not a time") == ""


def test_the_reply_count_is_a_line_of_its_own() -> None:
    out = message_html(Message("1.0", "C", "what changed in HTTP/3?", user="U1"), replies=6)
    assert out.endswith(
        'HTTP/3?<div class="thread-summary"><a class="replies" data-thread="1.0">6 replies</a>'
        "</div></div>"
    )


def test_names_of_the_workspace_are_its_people_and_channels() -> None:
    slack = FakeSlack()
    slack.add_user("U1", "Ada")
    slack.add_channel("C1", name="research")
    slack.add_channel("C2")  # no name: shown by id
    assert names_of(slack) == {"C1": "research", "UBOT": "Orchestra", "U1": "Ada"}
