"""The lock's guard: `requirements/*.txt` must have been compiled from today's `pyproject.toml`.

`uv pip sync` installs a requirements file exactly, hashes checked, but it cannot know whether the
file still answers `pyproject.toml` (the same gap as `uv sync --frozen`). So `make lock` stamps
each file with a digest of the inputs it was compiled from, and every install target runs
`check` first: a dependency edited without re-locking fails loudly, naming `make lock`.
Standard library only: it runs before the virtualenv has anything in it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
# Each lock file and the extras it was compiled with.
LOCKS = {ROOT / "requirements" / "main.txt": (), ROOT / "requirements" / "dev.txt": ("dev",)}
# uv's own entry of dev.txt, hashed: what `make` installs with pip before uv can install the rest.
UV_LOCK = ROOT / "requirements" / "uv.txt"
STAMP = "# inputs-sha256: "


def inputs_digest(pyproject: str, extras: tuple[str, ...]) -> str:
    """The digest of what a lock is compiled from: python range, dependencies, chosen extras."""
    project = tomllib.loads(pyproject)["project"]
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "extras": {e: sorted(project.get("optional-dependencies", {}).get(e, [])) for e in extras},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def stamps_of(lock: str) -> list[str]:
    """The input digests a lock file carries (one, when `make lock` wrote it)."""
    return [line[len(STAMP) :] for line in lock.splitlines() if line.startswith(STAMP)]


def uv_entry(dev_lock: str) -> str:
    """uv's pin and hashes, cut out of the dev lock (the lines from `uv==` to its last hash)."""
    lines = dev_lock.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("uv=="))
    end = start
    while lines[end].rstrip().endswith("\\"):
        end += 1
    return "\n".join(lines[start : end + 1]) + "\n"


def _stamp() -> None:
    pyproject = PYPROJECT.read_text()
    for path, extras in LOCKS.items():
        lines = [line for line in path.read_text().splitlines() if not line.startswith(STAMP)]
        lines.insert(1, STAMP + inputs_digest(pyproject, extras))
        path.write_text("\n".join(lines) + "\n")
    header = "# uv, as pinned in dev.txt: written by `make lock`, installed first by `make`.\n"
    UV_LOCK.write_text(header + uv_entry((ROOT / "requirements" / "dev.txt").read_text()))


def check(root: Path) -> list[str]:
    """Names of the lock files under `root` that are missing or stale (empty: all current)."""
    locks = {root / path.relative_to(ROOT): extras for path, extras in LOCKS.items()}
    missing = [
        path.name for path in [*locks, root / UV_LOCK.relative_to(ROOT)] if not path.exists()
    ]
    if missing:
        return missing
    pyproject = (root / "pyproject.toml").read_text()
    stale = [
        path.name
        for path, extras in locks.items()
        if stamps_of(path.read_text()) != [inputs_digest(pyproject, extras)]
    ]
    dev = (root / "requirements" / "dev.txt").read_text()
    if uv_entry(dev) not in (root / UV_LOCK.relative_to(ROOT)).read_text():
        stale.append(UV_LOCK.name)
    return stale


def _check() -> int:
    stale = check(ROOT)
    if stale:
        print(
            f"The lock ({', '.join(stale)} in requirements/) does not match pyproject.toml: "
            "its dependencies changed since it was locked. Run `make lock` and commit "
            "requirements/.",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv == ["check"]:
        return _check()
    if argv == ["stamp"]:
        _stamp()
        return 0
    print("usage: python tools/lock.py check|stamp", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
