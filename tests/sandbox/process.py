"""Start the sandbox as `make run` does: a child process, no tokens, and wait for its URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port
from tests.zygote import PIPE, STDOUT, Forked, start_module

URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+)")
# The promise: `make run` on a fresh clone prints the URL within a minute.
STARTUP_LIMIT_S = 60.0
STOP_LIMIT_S = 10.0
# Variables that would turn the sandbox into the real bot or point it at real Claude.
_SECRET_PREFIXES = ("SLACK_", "ANTHROPIC_", "ORCHESTRA_")


def token_free_env(port: int) -> dict[str, str]:
    """This process's environment without Slack or Anthropic settings, on `port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SECRET_PREFIXES)}
    env["ORCHESTRA_SANDBOX_PORT"] = str(port)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Sandbox:
    """A running sandbox process and what it printed before its URL."""

    process: asyncio.subprocess.Process | Forked
    url: str
    output: list[str]

    async def stop(self) -> int:
        """SIGTERM, as a terminal's Ctrl-C or `docker stop` would; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_LIMIT_S):
            return await self.process.wait()


async def _read_url(process: asyncio.subprocess.Process | Forked, output: list[str]) -> str:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode(errors="replace")
        if not line:
            raise AssertionError("the sandbox exited before printing its URL:\n" + "".join(output))
        output.append(line)
        found = URL_LINE.search(line)
        if found:
            return found.group(1)


async def _drain(process: asyncio.subprocess.Process | Forked, output: list[str]) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        output.append(line.decode(errors="replace"))


@contextlib.asynccontextmanager
async def running_sandbox(
    module: str, cwd: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Sandbox]:
    """Run `python -m <module>` in `cwd` (no `.env` there) until the block ends (`env`: set
    on top of the token-free environment)."""
    port = free_port()
    environment = {**token_free_env(port), **(env or {})}
    process: asyncio.subprocess.Process | Forked
    if module == "sandbox.launch":  # `make run`'s own start, tested as it is
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, cwd=cwd, env=environment, stdout=PIPE, stderr=STDOUT
        )
    else:  # forked from the tests' zygote, which imported it already
        process = await start_module(
            module, env=environment, cwd=str(cwd), stdout=PIPE, stderr=STDOUT
        )
    output: list[str] = []
    try:
        try:
            async with asyncio.timeout(STARTUP_LIMIT_S):
                url = await _read_url(process, output)
        except TimeoutError:
            raise AssertionError(
                f"no sandbox URL within {STARTUP_LIMIT_S:.0f}s:\n" + "".join(output)
            ) from None
        assert url == f"http://127.0.0.1:{port}", url
        # Keep reading, or a chatty child would block once the pipe's buffer is full.
        drain = asyncio.create_task(_drain(process, output))
        try:
            yield Sandbox(process, url, output)
        finally:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
