"""Logs that outside text cannot forge or flood.

Values from Slack, people and models end up in log messages (user ids, errors, texts). A
raw newline in one would start a line that looks like a record of its own, and a terminal
escape would rewrite what an operator sees; so every record is formatted on one line with
control characters escaped, and tracebacks are indented so that only a record's first
line starts at column 0. Bolt, which logs whole request bodies below WARNING, is held at
WARNING."""

from __future__ import annotations

import logging
import re

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators some viewers break on.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (\\n, \\x1b, …)."""
    return _CONTROL.sub(_escape_one, text)


def _continuation(block: str) -> str:
    return "\n".join("  " + escape_controls(line) for line in block.splitlines())


class SafeFormatter(logging.Formatter):
    """A formatter whose records cannot be split or rewritten by the values they carry."""

    def format(self, record: logging.LogRecord) -> str:
        """The record on one line (message escaped), then its traceback, indented."""
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = escape_controls(self.formatMessage(record))
        details = []
        if record.exc_info:
            details.append(self.formatException(record.exc_info))
        elif record.exc_text:
            details.append(record.exc_text)
        if record.stack_info:
            details.append(self.formatStack(record.stack_info))
        return "\n".join([text, *(_continuation(d) for d in details)])


def configure_logging(level: str, formatter: logging.Formatter | None = None) -> None:
    """Root logging for `python -m bot`: one escaped line per record, on stderr
    (`formatter`: another way to write a record, e.g. JSON, as safe as this one)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter or SafeFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # Alembic narrates every start at INFO ("Context impl SQLiteImpl."): noise an operator
    # cannot act on. The store logs a real schema upgrade itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)


class _NotTokenSkipped(logging.Filter):
    """Drops Bolt's start-up warning that `token` is unused: we pass the client on purpose,
    and Bolt reads SLACK_BOT_TOKEN from the environment by itself, so it warned every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def bolt_logger() -> logging.Logger:
    """The logger to give Bolt: WARNING and above.

    slack_bolt logs raw request bodies below WARNING (a failed signature check at INFO,
    its own events and every response at DEBUG), and copies this logger's level to every
    logger it makes, so none of that can be switched on by a global DEBUG level. Its
    warnings carry a filtered summary (type, ids), never a body."""
    logger = logging.getLogger("slack_bolt")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _NotTokenSkipped) for f in logger.filters):
        logger.addFilter(_NotTokenSkipped())
    return logger
