"""The lock: every package pinned and hashed, installed as locked, and never stale unnoticed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools import lock

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {canonicalize_name(m[1]): m[2] for line in text.splitlines() if (m := PIN.match(line))}


def _copy_project(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "tools", "requirements"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def test_the_committed_lock_matches_pyproject() -> None:
    assert lock.check(ROOT) == []


def test_every_entry_is_pinned_and_hashed() -> None:
    for name in ("dev.txt", "main.txt", "uv.txt"):
        text = (ROOT / "requirements" / name).read_text()
        entries = re.split(r"\n(?=\S)", text)
        packages = [e for e in entries if not e.startswith("#")]
        assert packages, name
        for entry in packages:
            assert PIN.match(entry), entry
            assert "--hash=sha256:" in entry, entry


def test_production_pins_are_the_dev_pins() -> None:
    dev, main = _pins("dev.txt"), _pins("main.txt")
    assert main.items() <= dev.items()
    assert "pytest" in dev
    assert "pytest" not in main


def test_every_pin_satisfies_the_ranges_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = _pins("dev.txt")
    for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(spec)
        pinned = dev[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned, prereleases=True), (spec, pinned)


def test_a_version_changed_without_relocking_fails_naming_make_lock(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"rich>=13.7,<16"', '"rich>=14,<16"'))
    assert lock.check(root) == ["main.txt", "dev.txt"]

    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(root / "tools" / "lock.py"), "check"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # The script checks the tree it lives in: the copy, whose pyproject was edited.
    assert done.returncode == 1
    assert "make lock" in done.stderr


def test_a_dev_only_change_makes_only_the_dev_lock_stale(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pytest>=8"', '"pytest>=8.1"'))
    assert lock.check(root) == ["dev.txt"]


def test_every_install_target_checks_the_lock_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    install = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    steps = [line.strip() for line in install.splitlines()[1:]]
    assert steps[0] == "$(PYTHON) tools/lock.py check"
    assert any("pip sync" in s and "--require-hashes" in s and "dev.txt" in s for s in steps)
    assert "--require-hashes" in makefile.split("$(UV):", 1)[1].split("\n\n", 1)[0]
    for target in ("run", "lint", "types", "unit", "test", "bench"):
        assert re.search(rf"^{target}: \$\(STAMP\)", makefile, re.MULTILINE), target


def test_the_image_installs_the_production_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert len(installs) == 1
    assert "--require-hashes" in installs[0]
    assert "-r requirements/main.txt" in installs[0]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "pip install" not in ci  # everything comes through make, from the lock
