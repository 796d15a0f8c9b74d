"""Test-wide guards: no test may talk to anything but loopback."""

from __future__ import annotations

import gc
import ipaddress
import os
import socket
import threading
import traceback
from typing import Any

import pytest

from tests import zygote

_real_connect = socket.socket.connect


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths and the like stay on this machine


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any socket connection that would leave the machine."""

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may only reach loopback, not {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def _late_sqlite_answer(args: threading.ExceptHookArgs) -> bool:
    """aiosqlite's worker thread answering a query of a test whose event loop has closed."""
    if args.exc_type is not RuntimeError or str(args.exc_value) != "Event loop is closed":
        return False
    frames = traceback.extract_tb(args.exc_traceback)
    # The worker is `Connection.run` in aiosqlite 0.21 and `_connection_worker_thread` in 0.22:
    # match the module, not the function's name, so a pin move cannot reopen the race.
    return any(f.filename.replace("\\", "/").endswith("aiosqlite/core.py") for f in frames)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Let one known library race pass: a run cancelled as its test ends may leave an SQLite
    query on aiosqlite's worker thread, which finishes after the test's loop has closed and
    then cannot hand back its (unwanted) result. Every other thread exception still fails
    the test that was running (pytest's own hook, installed before this one)."""
    pytest_hook = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if not _late_sqlite_answer(args):
            pytest_hook(args)

    threading.excepthook = hook
    _share_a_zygote(config)


def _share_a_zygote(config: pytest.Config) -> None:
    """pytest-xdist's controller starts one zygote for all its workers (`tests.zygote`),
    which they find in the environment they inherit: one import of the app, not one per
    worker. It ends with the session."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    shared = zygote.start_zygote()
    os.environ[zygote.SHARED] = shared.path
    config.add_cleanup(shared.close)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection imported (every module, the SDKs' models) out of the garbage
    collector's passes: it lives as long as the worker, and rescanning it in every full pass
    over the tests' garbage costs CPU the suite's two cores are short of (as `bot.__main__`
    does for its own imports)."""
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, otherwise in order: `make test`'s workers (`--dist load`, small
    chunks) then start the long ones together and fill the gaps with short ones, instead of
    a long one starting last and running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
