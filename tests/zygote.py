"""`python -m bot` (and the sandbox, the CLI, the benchmarks' app) for tests, forked from
a process that has already imported them.

A test that started the app as a process paid about 1.4 s of CPU for the imports alone
(anthropic's ~1,500 pydantic models above all) before doing anything: about 200 starts in
`make test`, a third of its CPU on two cores (issue 18). The zygote imports those modules
once per test session (pytest-xdist's controller starts it for all workers; a run without
workers starts its own on first use); each start is a fork of it that runs the module as
`__main__` with the test's arguments, environment, working directory and stdio, like
`python -m`. The child is a fresh process as far as the app can tell: its own pid, no
threads, no event loop, signals at their defaults.

What a fork cannot give is the interpreter's own start: the PYTHON* variables it reads
(PYTHONUNBUFFERED is applied), or a module the app forgot to import that a preloaded one
did. The tests of that still exec (`tests/sandbox/test_launch.py`, the CLI under a
terminal, a real `python -m bot` compared with a fork in `tests/project/test_zygote.py`),
as do `make run`, `make bench` and the image.

The child is the zygote's, not the test's: the zygote reaps it and reports its exit status
over the connection the start came on, and `Forked` offers what the tests use of
`asyncio.subprocess.Process` (pid, pipes, signals, `wait`, `communicate`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import functools
import importlib
import io
import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PIPE = asyncio.subprocess.PIPE
STDOUT = asyncio.subprocess.STDOUT
# What the tests start as processes: the app, the sandbox, the CLI and the benchmarks' app
# (one import of all four costs about what one of them does: they share the SDKs).
_PRELOAD = ("bot.__main__", "sandbox.__main__", "pipeline.__main__", "bench.app_process")
_MAX_REQUEST = 1 << 20  # the JSON of one start (its environment above all)
_STARTED_WITHIN_S = 60.0


# ---- the zygote (its own process) --------------------------------------------------------


def _serve(path: str, preload: Sequence[str]) -> None:
    for module in preload:
        importlib.import_module(module)
    for module in [name for name in sys.modules if name.endswith(".__main__")]:
        # What it imported stays; the module itself runs afresh in each child, as
        # `python -m` runs it (runpy warns of a `__main__` found already imported).
        del sys.modules[module]
    # A fork copies only the calling thread: a thread the imports left running would be
    # missing in every child, holding whatever lock it held.
    assert threading.active_count() == 1, threading.enumerate()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    woken_r, woken_w = os.pipe()
    os.set_blocking(woken_w, False)
    signal.set_wakeup_fd(woken_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "start")
    selector.register(woken_r, selectors.EVENT_READ, "reap")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")
    while True:
        try:
            events = selector.select()
        except InterruptedError:
            continue
        for key, _ in events:
            if key.data == "start":
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, _MAX_REQUEST, 3)
                pid = os.fork()
                if pid == 0:
                    for other in [listener, connection, *children.values()]:
                        other.close()
                    selector.close()
                    os.close(woken_r)
                    os.close(woken_w)
                    _child(json.loads(message), fds)  # never returns
                for fd in fds:
                    os.close(fd)
                children[pid] = connection
                connection.send(b"pid %d" % pid)
            elif key.data == "reap":
                with contextlib.suppress(BlockingIOError):
                    os.read(woken_r, 4096)
                _reap(children)
            else:  # the worker closed our stdin (it ended or died): so do its processes
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                os._exit(0)


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.send(b"exit %d" % os.waitstatus_to_exitcode(status))
            connection.close()


def _child(request: dict[str, Any], fds: list[int]) -> None:
    """In the fork: become `python -m <module> <args>` and never return."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # The interpreter reads its PYTHON* variables at its start, the zygote's (PATH only):
    # the one the tests' processes rely on is applied here, as `python -u` makes its streams.
    if os.environ.get("PYTHONUNBUFFERED"):
        for name, fd in (("stdout", 1), ("stderr", 2)):
            old = getattr(sys, name)
            raw = io.FileIO(fd, "w", closefd=False)
            setattr(
                sys,
                name,
                io.TextIOWrapper(raw, encoding=old.encoding, errors=old.errors, write_through=True),
            )
    sys.argv = [request["module"], *request["args"]]
    code: int = 0
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        if exit_.code is None:
            code = 0
        elif isinstance(exit_.code, int):
            code = exit_.code
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        # What the interpreter does on its way out (logging's flush among the exit hooks).
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# ---- the tests' side ---------------------------------------------------------------------


@dataclass
class Zygote:
    """One worker's zygote: its process and the socket starts go to."""

    process: subprocess.Popen[bytes]
    path: str
    directory: tempfile.TemporaryDirectory[str] = field(repr=False)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # it kills what it started, and ends
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self.process.returncode is None:
            self.process.kill()
            self.process.wait()
        self.directory.cleanup()


# Where the session's zygote listens when pytest-xdist's controller started one for all its
# workers (`tests/conftest.py`: one import instead of one per worker); otherwise a process
# starts its own on first use.
SHARED = "ORCHESTRA_TEST_ZYGOTE"


def start_zygote() -> Zygote:
    """A zygote process; it listens once its imports are done (about 1.5 s of CPU)."""
    directory = tempfile.TemporaryDirectory(prefix="zygote-")
    path = str(Path(directory.name) / "socket")
    env = {k: v for k, v in os.environ.items() if k == "PATH"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.zygote", path, *_PRELOAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return Zygote(process, path, directory)


@functools.cache
def _socket_path() -> str:
    """The zygote this process starts from: the session's, or its own, started now."""
    shared = os.environ.get(SHARED)
    if shared:
        return shared
    own = start_zygote()
    atexit.register(own.close)
    return own.path


async def _connect(path: str) -> socket.socket:
    """A connection to the zygote, once it listens (it may still be importing)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        async with asyncio.timeout(_STARTED_WITHIN_S):
            while True:
                try:
                    connection.connect(path)
                    return connection
                except (FileNotFoundError, ConnectionRefusedError):
                    # Polling on purpose: the socket appears when the imports are done.
                    await asyncio.sleep(0.05)
    except TimeoutError:
        connection.close()
        raise RuntimeError(f"the test zygote never listened at {path}") from None


class Forked:
    """What the tests use of `asyncio.subprocess.Process`, for a zygote's child."""

    def __init__(
        self,
        pid: int,
        connection: socket.socket,
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None,
    ) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = stdout
        self.stderr = stderr
        self._exited = asyncio.ensure_future(self._exit_status(connection))

    async def _exit_status(self, connection: socket.socket) -> int:
        loop = asyncio.get_running_loop()
        try:
            message = await loop.sock_recv(connection, 64)
        finally:
            connection.close()
        if not message.startswith(b"exit "):
            raise RuntimeError(f"the test zygote lost process {self.pid}: {message!r}")
        self.returncode = int(message.split()[1])
        return self.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)
        # Reaped by the zygote but not yet reported: gone, as a signal to a zombie would be.
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def communicate(self) -> tuple[bytes, bytes]:
        async def read(stream: asyncio.StreamReader | None) -> bytes:
            return b"" if stream is None else await stream.read()

        out, err = await asyncio.gather(read(self.stdout), read(self.stderr))
        await self.wait()
        return out, err


async def _reader(fd: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader


async def start_module(
    module: str,
    *args: str,
    env: Mapping[str, str],
    cwd: str,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
) -> Forked:
    """`python -m module *args` as a fork of this worker's zygote. `stdout`, `stderr`:
    `PIPE` (read them from the result), an open file, or None (this process's own);
    `stderr` may also be `STDOUT`."""
    sent: list[int] = []  # the child's ends, closed here once the zygote has them
    readers: list[asyncio.StreamReader | None] = []
    for target, default in ((stdout, 1), (stderr, 2)):
        if target == STDOUT:
            readers.append(None)
            sent.append(os.dup(sent[0]))
        elif target == PIPE:
            read_end, write_end = os.pipe()
            readers.append(await _reader(read_end))
            sent.append(write_end)
        elif target is None:
            readers.append(None)
            sent.append(os.dup(default))
        else:
            assert not isinstance(target, int)
            readers.append(None)
            sent.append(os.dup(target.fileno()))
    stdin = os.open(os.devnull, os.O_RDONLY)
    request = {"module": module, "args": list(args), "env": dict(env), "cwd": cwd}
    try:
        connection = await _connect(_socket_path())
        socket.send_fds(connection, [json.dumps(request).encode()], [stdin, *sent])
    finally:
        for fd in (stdin, *sent):
            os.close(fd)
    connection.setblocking(False)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(_STARTED_WITHIN_S):
        reply = await loop.sock_recv(connection, 64)
    if not reply.startswith(b"pid "):
        connection.close()
        raise RuntimeError(f"the test zygote did not start {module}: {reply!r}")
    return Forked(int(reply.split()[1]), connection, readers[0], readers[1])


if __name__ == "__main__":
    try:
        _serve(sys.argv[1], sys.argv[2:])
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
