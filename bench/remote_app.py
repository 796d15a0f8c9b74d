"""Starting the app process and reading its CPU time and resident memory from /proc, and
its run store's writes and GC pauses from the process itself (SIGUSR1, answered on its
stdout)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import aiohttp

from bench.app_probe import Probe
from bench.app_process import AppOptions

_TICKS = os.sysconf("SC_CLK_TCK")
_ROOT = Path(__file__).resolve().parents[1]  # the child imports bench, bot and pipeline from here


class AppCrashed(RuntimeError):
    """The app process died or never came up."""


@dataclass
class AppProcess:
    """A running app process."""

    url: str
    pid: int
    log: IO[bytes]
    stdout: asyncio.StreamReader

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (resolution 1/SC_CLK_TCK)."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces; fields after its ')' are fixed.
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def thread_cpu_seconds(self) -> dict[str, float]:
        """User + system CPU time of each of the process's threads, by native id."""
        task = f"/proc/{self.pid}/task"
        seconds: dict[str, float] = {}
        for tid in os.listdir(task):
            try:
                with open(f"{task}/{tid}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:  # the thread ended meanwhile
                continue
            seconds[tid] = (int(fields[11]) + int(fields[12])) / _TICKS
        return seconds

    def scheduled_seconds(self) -> tuple[float, float]:
        """The main thread's (event loop's) time on a CPU and time waiting for one while
        runnable (/proc schedstat, nanoseconds): the second grows when other processes,
        ours or not, take the cores."""
        with open(f"/proc/{self.pid}/schedstat", encoding="ascii") as stat:
            on_cpu, waiting, _ = stat.read().split()
        return int(on_cpu) / 1e9, int(waiting) / 1e9

    def rss_bytes(self) -> int:
        """Resident set size now (VmRSS)."""
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AppCrashed("no VmRSS in /proc status")

    async def probe(self, within: float = 10) -> Probe:
        """The run store's writes and the long GC pauses since the process started."""
        os.kill(self.pid, signal.SIGUSR1)
        async with asyncio.timeout(within):
            line = await self.stdout.readline()
        if not line:
            raise AppCrashed(f"app process gave no probe line:\n{self.log_tail()}")
        return Probe.from_json(line.decode())

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the process's stderr, for error messages."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-chars:]

    async def live_runs(self, http: aiohttp.ClientSession) -> int:
        """How many runs the app says are live (GET /healthz)."""
        async with http.get(f"{self.url}/healthz") as response:
            body = await response.json()
        return int(body["live_runs"])

    async def wait_idle(self, http: aiohttp.ClientSession, within: float = 30) -> None:
        """Wait until no run is live (its last Slack calls may trail the visible answer)."""
        async with asyncio.timeout(within):
            # Polling on purpose: the app's state is in another process; /healthz is its window.
            while await self.live_runs(http):  # noqa: ASYNC110
                await asyncio.sleep(0.05)


class Started(Protocol):
    """A started process, as `app_process` uses it."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def stdout(self) -> asyncio.StreamReader | None: ...
    def send_signal(self, signum: int) -> None: ...
    def kill(self) -> None: ...
    async def wait(self) -> int: ...


async def start_module(
    module: str,
    *args: str,
    env: Mapping[str, str],
    cwd: str,
    stdout: int | IO[Any] | None,
    stderr: int | IO[Any] | None,
) -> Started:
    """`python -m module *args`, as `make bench` starts the app. (`make test`'s smoke run
    forks it from a process that imported it already, `tests.zygote`, which has this
    signature.)"""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, env=env, cwd=cwd, stdout=stdout, stderr=stderr
    )


@contextlib.asynccontextmanager
async def app_process(options: AppOptions, start_timeout: float = 60) -> AsyncIterator[AppProcess]:
    """Run the app in a child process for the duration of the block."""
    with tempfile.TemporaryFile() as log:
        process = await start_module(
            "bench.app_process",
            options.to_json(),
            env=dict(os.environ),
            cwd=str(_ROOT),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        try:
            assert process.stdout is not None
            async with asyncio.timeout(start_timeout):
                line = await process.stdout.readline()
            url = line.decode().strip()
            if not url.startswith("http://"):
                log.seek(0)
                raise AppCrashed(f"app process did not start:\n{log.read().decode()[-3000:]}")
            yield AppProcess(url, process.pid, log, process.stdout)
        finally:
            await _stop(process)


async def _stop(process: Started) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
