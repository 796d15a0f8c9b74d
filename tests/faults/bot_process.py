"""`python -m bot` as a real process: its environment, start, readiness and end."""

from __future__ import annotations

import asyncio
import os

import aiohttp

from tests.ports import free_port
from tests.zygote import PIPE, Forked, start_module

__all__ = ["BotProcess", "bot_env", "finish", "free_port", "start_bot", "wait_healthy"]

BotProcess = Forked


def bot_env(**values: str) -> dict[str, str]:
    """A clean environment (PATH and coverage only) plus `values`, with a run store in
    memory unless `values` name one: a process on the default file would wait for any other
    test's process on it (one process per SQLite file, `bot.store.file_lock`)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        **{k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")},
        "ORCHESTRA_DATABASE_URL": "sqlite://",
        **values,
    }


async def start_bot(env: dict[str, str]) -> BotProcess:
    """`python -m bot` with `env`, run from / (no .env), stdout and stderr captured: a fork
    of a process that imported it already (`tests.zygote`)."""
    return await start_module("bot", env=env, cwd="/", stdout=PIPE, stderr=PIPE)


async def finish(bot: BotProcess, within: float) -> tuple[int, str]:
    """Wait for the process to exit on its own; its exit code and stderr (killed if late)."""
    try:
        _, err = await asyncio.wait_for(bot.communicate(), within)
    except TimeoutError:
        bot.kill()
        await bot.communicate()
        raise
    assert bot.returncode is not None
    return bot.returncode, err.decode()


async def wait_healthy(url: str, within: float = 20) -> None:
    """Until GET /healthz answers 200."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(within):
        while True:
            try:
                async with http.get(f"{url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            # Polling on purpose: readiness is another process's state.
            await asyncio.sleep(0.1)
