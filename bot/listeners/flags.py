"""Per-request switches at the start of a goal (`/research --review <goal>`,
`@Orchestra --no-review <goal>`, a DM "--review <goal>"): parsed once, here, for commands,
mentions and DMs alike, so every way in understands the same words.

Only leading words count, so a goal that talks about `--review` further on keeps it. A word
that looks like a switch but is not one is part of the goal (it may be the goal's own
text). Slack's clients may turn a typed "--" into an em or en dash ("—review"): the same.

Issue 22 shares this parser: item 3 adds --review/--no-review, item 4 --quick/--deep. To
add a switch, add a row to `SWITCHES` and a field to `Flags`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

# switch word (lower case, without its dashes) -> (Flags field, value). A later switch for
# the same field wins ("--review --no-review" is no review).
SWITCHES: dict[str, tuple[str, Any]] = {
    "review": ("review", True),
    "no-review": ("review", False),
}

# One leading word: "--word", or a dash Slack's autoformat made of "--" (an em or en dash).
_LEADING = re.compile(r"\s*(?:--|\u2014|\u2013)([A-Za-z][A-Za-z-]*)(?=\s|$)")


@dataclass(frozen=True, slots=True)
class Flags:
    """What the request's leading switches asked for (None: not said, the default holds)."""

    review: bool | None = None


def parse_flags(text: str) -> tuple[Flags, str]:
    """The leading switches of `text` and the rest (the goal, its leading space removed)."""
    flags = Flags()
    rest = text
    while (match := _LEADING.match(rest)) is not None:
        known = SWITCHES.get(match.group(1).lower())
        if known is None:
            break
        field, value = known
        flags = replace(flags, **{field: value})
        rest = rest[match.end() :]
    return flags, rest.lstrip() if rest is not text else text
