"""Run by `tests/project/test_zygote.py` as a zygote's child: says what it was given."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading


def main() -> None:
    mode = sys.argv[1]
    if mode == "report":
        print(
            json.dumps(
                {
                    "argv": sys.argv,
                    "cwd": os.getcwd(),
                    "env": dict(os.environ),
                    "threads": threading.active_count(),
                    "pid": os.getpid(),
                    "name": __name__,
                    "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
                    "stdin": sys.stdin.read(),
                }
            )
        )
        print("to stderr", file=sys.stderr)
        sys.exit(int(sys.argv[2]))
    if mode == "refuse":
        sys.exit("one sentence why")
    if mode == "at-exit":
        atexit.register(lambda: print("at exit", flush=True))
        return
    if mode == "unbuffered":
        sys.stdout.write("written, not flushed\n")
        signal.pause()
    if mode == "wait":
        print("waiting", flush=True)
        signal.pause()


if __name__ == "__main__":
    main()
