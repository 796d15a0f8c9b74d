"""Slack's error codes are named in bot/slack/errors.py only: nowhere else in bot/ is an error
compared with a string literal (a code spelled twice drifts, as `channel_not_found` once did)."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[3] / "bot"
HOME = BOT / "slack" / "errors.py"


def _is_error_read(node: ast.expr) -> bool:
    """`error`, `x.error`, `…get("error")` or `…["error"]`: an error code being read."""
    match node:
        case ast.Name(id=name) | ast.Attribute(attr=name):
            return name in ("error", "code")
        case ast.Call(func=ast.Attribute(attr="get"), args=[ast.Constant(value="error"), *_]):
            return True
        case ast.Subscript(slice=ast.Constant(value="error")):
            return True
        case ast.Call(func=ast.Name(id="str"), args=[inner]):
            return _is_error_read(inner)
    return False


def _literals(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for elt in node.elts for s in _literals(elt)]
    return []


def literal_error_compares(source: str) -> list[str]:
    """The string literals an error code is compared with in `source`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(_is_error_read(side) for side in sides):
            found += [s for side in sides for s in _literals(side)]
    return found


def test_the_check_sees_each_way_a_code_is_compared() -> None:
    source = (
        'a = exc.response.get("error") == "msg_too_long"\n'
        'b = error in ("ratelimited", "rate_limited")\n'
        'c = str(exc.response.get("error")) != "not_in_channel"\n'
        'd = body["error"] not in {"x"}\n'
        'e = self.mode == "streaming"\n'
    )
    assert literal_error_compares(source) == [
        "msg_too_long",
        "ratelimited",
        "rate_limited",
        "not_in_channel",
        "x",
    ]


def test_no_module_but_slack_errors_compares_an_error_with_a_literal() -> None:
    offenders = {
        str(path.relative_to(BOT)): codes
        for path in sorted(BOT.rglob("*.py"))
        if path != HOME and (codes := literal_error_compares(path.read_text()))
    }
    assert offenders == {}
