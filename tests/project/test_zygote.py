"""The tests' zygote (`tests.zygote`) gives a child what `python -m` would: its arguments,
environment, working directory, stdio, exit status and signals, and none of the worker's."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.zygote import PIPE, start_module

PROBE = "tests.project.zygote_probe"


async def test_a_child_gets_its_arguments_environment_directory_and_stdio_only(
    tmp_path: Path,
) -> None:
    child = await start_module(
        PROBE, "report", "3", env={"ONLY": "this"}, cwd=str(tmp_path), stdout=PIPE, stderr=PIPE
    )
    out, err = await child.communicate()
    assert child.returncode == 3
    seen = json.loads(out)
    assert seen["env"] == {"ONLY": "this"}
    assert seen["cwd"] == str(tmp_path)
    assert seen["argv"][1:] == ["report", "3"]
    assert seen["argv"][0].endswith("zygote_probe.py")
    assert seen["name"] == "__main__"
    assert seen["threads"] == 1
    assert seen["pid"] == child.pid != os.getpid()
    assert seen["sigterm_default"]
    assert seen["stdin"] == ""  # /dev/null, not the worker's
    assert err == b"to stderr\n"


async def test_a_childs_output_can_go_to_a_file(tmp_path: Path) -> None:
    with (tmp_path / "log").open("wb") as log:
        child = await start_module(PROBE, "at-exit", env={}, cwd="/", stdout=log, stderr=log)
        assert await child.wait() == 0
    assert (tmp_path / "log").read_text() == "at exit\n"  # its exit hooks ran


async def test_a_refusal_with_a_message_exits_1_saying_it() -> None:
    child = await start_module(PROBE, "refuse", env={}, cwd="/", stdout=PIPE, stderr=PIPE)
    out, err = await child.communicate()
    assert (child.returncode, out, err) == (1, b"", b"one sentence why\n")


async def test_signals_reach_the_child_and_its_status_says_which() -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        child = await start_module(PROBE, "wait", env={}, cwd="/", stdout=PIPE)
        assert child.stdout is not None
        assert await child.stdout.readline() == b"waiting\n"
        child.send_signal(signum)
        assert await asyncio.wait_for(child.wait(), 10) == -signum
        try:
            child.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        else:
            raise AssertionError("a signal to an ended child must say it is gone")


async def test_python_m_bot_forked_says_what_the_real_one_says() -> None:
    env = {"PATH": os.environ.get("PATH", "")}
    real = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env, cwd="/", stdout=PIPE, stderr=PIPE
    )
    real_out, real_err = await real.communicate()
    forked = await start_module("bot", env=env, cwd="/", stdout=PIPE, stderr=PIPE)
    out, err = await forked.communicate()
    assert (forked.returncode, out, err) == (real.returncode, real_out, real_err)
    assert real.returncode == 2


async def test_pythonunbuffered_in_its_environment_unbuffers_its_output_as_python_u_does() -> None:
    child = await start_module(
        PROBE, "unbuffered", env={"PYTHONUNBUFFERED": "1"}, cwd="/", stdout=PIPE
    )
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 10)
        assert line == b"written, not flushed\n"
    finally:
        child.kill()
        await child.wait()
