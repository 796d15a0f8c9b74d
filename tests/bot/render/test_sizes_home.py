"""Slack's sizes (and ours derived from them) live in bot/render/text.py only: no other module
under bot/ defines a module-level size constant (`*_CHARS`, `*_LIMIT`, `*_BUDGET`), so a limit
is written once and a change to it reaches every message, stream, canvas and modal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[3] / "bot"
HOME = Path("render/text.py")
SIZE_NAME = re.compile(r"(_CHARS|_LIMIT|_BUDGET|MAX_BUTTONS)$")
# Sizes that are no Slack size and cannot move: bot.render.text imports bot.render.split, so
# the splitter's own precondition (the smallest limit it accepts) stays beside it.
NOT_SLACK_SIZES = {("render/split.py", "MIN_LIMIT")}


def _numeric(node: ast.expr) -> bool:
    """An int literal, or arithmetic over literals and other names (a derived size)."""
    match node:
        case ast.Constant(value=int() as value):
            return not isinstance(value, bool)
        case ast.BinOp(left=left, right=right):
            return _numeric(left) or _numeric(right)
        case ast.UnaryOp(operand=operand):
            return _numeric(operand)
        case ast.Name() | ast.Attribute():
            return True
    return False


def size_constants(source: str) -> list[str]:
    """Names of the module-level size constants `source` defines."""
    found: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and SIZE_NAME.search(target.id) and _numeric(value):
                found.append(target.id)
    return found


def test_the_check_sees_literal_and_derived_sizes() -> None:
    source = (
        "TITLE_CHARS = 150\n"
        "_MAX_BUTTONS = 25\n"
        "PART_CHARS = blocks.BUDGET - 1_000\n"
        "HOME_BLOCK_LIMIT: int = 100\n"
        "ERRORS_LIMIT = frozenset()\n"
        "KEEPALIVE_S = 20.0\n"
        "def f():\n    INNER_CHARS = 3\n"
    )
    assert size_constants(source) == [
        "TITLE_CHARS",
        "_MAX_BUTTONS",
        "PART_CHARS",
        "HOME_BLOCK_LIMIT",
    ]


def test_no_module_but_render_text_defines_a_slack_size() -> None:
    elsewhere = {
        (str(path.relative_to(BOT)), name)
        for path in sorted(BOT.rglob("*.py"))
        if path.relative_to(BOT) != HOME
        for name in size_constants(path.read_text())
    }
    assert elsewhere - NOT_SLACK_SIZES == set()


def test_render_text_holds_the_sizes() -> None:
    home = set(size_constants((BOT / HOME).read_text()))
    for name in ("STREAM_BUDGET", "STREAM_PART_CHARS", "HOME_BLOCK_LIMIT", "INPUT_VALUE_LIMIT"):
        assert name in home
