"""The production image holds production code only, and that code runs without the rest."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"requirements/main.txt", "pipeline", "bot"}


def _copied_sources() -> set[str]:
    sources: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *paths, _destination = line.split()[1:]
            sources.update(p for p in paths if not p.startswith("--"))
    return sources


def test_the_image_copies_no_sandbox_and_no_tests() -> None:
    assert _copied_sources() <= PRODUCTION
    assert {"pipeline", "bot"} <= _copied_sources()


def test_every_console_script_module_is_in_the_image() -> None:
    # The image runs the code from /app (PYTHONPATH), not as an installed package: the modules
    # behind the console scripts must be copied there, and the image must start the bot.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "PYTHONPATH=/app" in dockerfile
    assert 'CMD ["python", "-m", "bot"]' in dockerfile
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for target in scripts.values():
        package = target.split(".")[0]
        assert package in _copied_sources(), f"{target} would be missing from the image"


@pytest.mark.slow
def test_the_bot_imports_without_the_sandbox_or_test_doubles() -> None:
    # Every bot module, imported with the sandbox and pipeline.testing made unimportable.
    probe = """
import importlib, pkgutil, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name == "sandbox" or name.startswith("sandbox.") or name == "pipeline.testing":
            raise ImportError(f"{name} is not in the production image")
sys.meta_path.insert(0, Refuse())
import bot
for module in pkgutil.walk_packages(bot.__path__, "bot."):
    if ".migrations" not in module.name:  # Alembic runs those scripts itself
        importlib.import_module(module.name)
print("ok")
"""
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
