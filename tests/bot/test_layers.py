"""Rendering is pure: `bot.render` turns views and words into Block Kit and does no I/O.

The import contract (`make lint`, `lint-imports`) keeps `bot.render` from the store, the Slack
boundary and the threads; its forbidden contracts can only name top-level external packages,
and `bot.render` rightly uses `slack_sdk.models`, so this checks the rest by reading imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

RENDER = Path(__file__).resolve().parents[2] / "bot" / "render"
# Anything that waits, talks to the network, a database or a clock of its own.
IO_MODULES = (
    "asyncio",
    "aiohttp",
    "httpx2",
    "socket",
    "sqlalchemy",
    "redis",
    "anthropic",
    "slack_bolt",
    "slack_sdk.web",
    "slack_sdk.socket_mode",
    "slack_sdk.http_retry",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _does_io(module: str) -> bool:
    return any(module == io or module.startswith(io + ".") for io in IO_MODULES)


def test_render_modules_import_nothing_that_does_io() -> None:
    modules = sorted(RENDER.glob("*.py"))
    assert len(modules) > 5
    found = {p.name: sorted(m for m in _imports(p) if _does_io(m)) for p in modules}
    assert {name: io for name, io in found.items() if io} == {}


def test_the_check_would_see_an_io_import() -> None:
    assert _does_io("asyncio")
    assert _does_io("slack_sdk.web.async_client")
    assert not _does_io("slack_sdk.models.blocks")
    assert not _does_io("asyncio_extra_name_that_is_not_asyncio")
