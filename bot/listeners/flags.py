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

from bot.render import notes
from pipeline.effort import Effort

# switch word (lower case, without its dashes) -> (Flags field, value). A later switch for
# the same field wins ("--review --no-review" is no review).
SWITCHES: dict[str, tuple[str, Any]] = {
    "review": ("review", True),
    "no-review": ("review", False),
    "quick": ("effort", "quick"),
    "deep": ("effort", "deep"),
}

# One leading word: "--word", or a dash Slack's autoformat made of "--" (an em or en dash).
_LEADING = re.compile(r"\s*(?:--|\u2014|\u2013)([A-Za-z][A-Za-z-]*)(?=\s|$)")


@dataclass(frozen=True, slots=True)
class Flags:
    """What the request's leading switches asked for (None: not said, the default holds)."""

    review: bool | None = None
    effort: Effort | None = None  # None: the default effort (`pipeline.effort`)


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


# A leading "--word" typed with two hyphens: a switch, known or not (a dash Slack made is
# left to the goal when unknown: it may be the goal's own punctuation).
_TYPED = re.compile(r"\s*--([A-Za-z][A-Za-z-]*)(?=\s|$)")


def flag_problem(text: str) -> str | None:
    """Why the leading switches of `text` cannot be followed (a sentence for the sender),
    or None: an unknown switch typed with two hyphens, or two efforts at once."""
    rest, efforts = text, set()
    while (match := _TYPED.match(rest)) is not None or (match := _LEADING.match(rest)):
        word = match.group(1).lower()
        known = SWITCHES.get(word)
        if known is None:
            if match.re is _TYPED:
                return notes.unknown_switch(word, sorted(SWITCHES))
            break
        if known[0] == "effort":
            efforts.add(word)
        rest = rest[match.end() :]
    if len(efforts) > 1:
        return notes.TWO_EFFORTS
    return None


def asked_review(flags: Flags) -> bool | None:
    """What the request said about plan review: --review / --no-review, else --deep asks for
    it (issue 22.4: review on by default), else nothing (ORCHESTRA_PLAN_REVIEW decides)."""
    if flags.review is not None:
        return flags.review
    return True if flags.effort == "deep" else None
