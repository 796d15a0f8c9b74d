"""Log records stay one line whatever text they carry (bot.log_safety)."""

from __future__ import annotations

import logging
import sys

from hypothesis import given
from hypothesis import strategies as st

from bot.log_safety import FORMAT, SafeFormatter, escape_controls


def record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(msg)
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("bot.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def is_control(char: str) -> bool:
    return ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or char in "\u2028\u2029"


@given(st.text())
def test_escaped_text_has_no_control_characters_and_keeps_the_rest(text: str) -> None:
    escaped = escape_controls(text)
    assert not any(is_control(c) for c in escaped)
    assert escaped.splitlines() == [escaped] or escaped == ""
    if not any(is_control(c) for c in text):
        assert escaped == text


@given(st.text(), st.text())
def test_a_record_is_one_line_whatever_its_message_and_arguments(msg: str, arg: str) -> None:
    formatted = SafeFormatter(FORMAT).format(record("%s said: " + msg.replace("%", ""), arg))
    assert len(formatted.splitlines()) == 1
    assert not any(is_control(c) for c in formatted)


def test_a_newline_becomes_a_visible_escape() -> None:
    formatted = SafeFormatter("%(message)s").format(record("user %s", "U1\nERROR forged\x1b[2J"))
    assert formatted == "user U1\\nERROR forged\\x1b[2J"


@given(st.text())
def test_only_a_records_first_line_starts_at_column_0_even_with_a_traceback(msg: str) -> None:
    formatted = SafeFormatter(FORMAT).format(record(msg.replace("%", ""), exc=True))
    _, *rest = formatted.split("\n")
    assert "Traceback" in formatted
    assert all(line.startswith("  ") for line in rest)
    assert not any(is_control(c) for c in formatted.replace("\n", ""))
