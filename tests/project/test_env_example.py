"""`.env.example` as `docker run --env-file` reads it (the README's Docker command) gives the
app only values it accepts, and the same settings as the app's own reading of a `.env`.

Docker's rules differ from python-dotenv's (which pydantic-settings uses for `.env`): the
value is everything after the first `=`, to the end of the line, taken literally (a trailing
`# comment` and spaces included, quotes kept). A comment on a value line is invisible locally
and breaks every secret in a container ("SLACK_BOT_TOKEN is not a token"), so comments go on
lines of their own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from pipeline.settings import env_name, settings_problem

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"
# Read by the sandbox's entry point, not by the app's settings: a port number.
SANDBOX_PORT = "ORCHESTRA_SANDBOX_PORT"
# An example a person uncomments: `# NAME=value`, NAME a variable the app or sandbox reads.
COMMENTED = re.compile(r"^#\s?([A-Z][A-Z0-9_]*=.*)$")


def docker_env_file(text: str, environ: Mapping[str, str]) -> dict[str, str]:
    """`docker run --env-file`'s reading (docker/cli, opts/envfile.go `parseKeyValueFile`):
    a UTF-8 BOM dropped, each line's leading whitespace trimmed, blank lines and lines
    starting with # skipped; `KEY=VALUE` keeps VALUE literally to the end of the line;
    `KEY` alone takes KEY's value from `environ`, or nothing when it is not there."""
    values: dict[str, str] = {}
    for line in text.removeprefix("\ufeff").splitlines():
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, has_value, value = line.partition("=")
        name = name.lstrip(" \t\n\v\f\r")
        if not name:
            raise ValueError(f"no variable name on line {line!r}")
        if re.search(r"\s", name):
            raise ValueError(f"variable {name!r} contains whitespaces")
        if has_value:
            values[name] = value
        elif name in environ:
            values[name] = environ[name]
    return values


def setting_names() -> set[str]:
    return {env_name(Settings, field) for field in Settings.model_fields}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No variable the settings read is set (pydantic-settings matches names in any case)."""
    names = {name.upper() for name in setting_names()}
    for name in list(os.environ):
        if name.upper() in names:
            monkeypatch.delenv(name)
    return monkeypatch


def settings_with(monkeypatch: pytest.MonkeyPatch, values: Mapping[str, str]) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    try:
        return Settings(_env_file=None)
    except ValidationError as refused:
        pytest.fail(settings_problem(Settings, refused))


def test_the_docker_reading_follows_docker_s_rules() -> None:
    text = "\ufeffA=1 # not a comment\n  # a comment\n\nB= spaced \nC\nD\nE=x=y\n"
    assert docker_env_file(text, {"C": "from the host"}) == {
        "A": "1 # not a comment",
        "B": " spaced ",
        "C": "from the host",
        "E": "x=y",
    }


def test_env_example_read_by_docker_gives_the_settings_the_app_reads_from_a_dot_env(
    clean_env: pytest.MonkeyPatch,
) -> None:
    values = docker_env_file(EXAMPLE.read_text(), {})
    assert values, "no KEY=VALUE line: the tokens belong in .env.example"
    assert set(values) <= setting_names()
    as_docker = settings_with(clean_env, values)
    for name in values:
        clean_env.delenv(name)
    as_dotenv = Settings(_env_file=EXAMPLE)
    assert as_docker.model_dump() == as_dotenv.model_dump()


def test_every_value_of_env_example_is_one_the_app_accepts_as_docker_passes_it(
    clean_env: pytest.MonkeyPatch,
) -> None:
    unset = Settings(_env_file=None).model_dump()
    for name, value in docker_env_file(EXAMPLE.read_text(), {}).items():
        assert value == value.strip(), f"{name}: spaces around the value reach the app"
        assert "#" not in value, f"{name}: a comment on the value line is part of the value"
        with clean_env.context() as env:
            read = settings_with(env, {name: value}).model_dump()
        if value == "":  # acceptable only where the app reads empty as unset
            assert read == unset, f"{name}= (empty) is not read as unset"


def test_every_commented_example_is_valid_once_uncommented(
    clean_env: pytest.MonkeyPatch,
) -> None:
    examples = {}
    for line in EXAMPLE.read_text().splitlines():
        found = COMMENTED.match(line)
        if found:
            examples.update(docker_env_file(found.group(1), {}))
    assert set(examples) - {SANDBOX_PORT} <= setting_names()
    assert len(examples) > 30  # the knobs are there to be uncommented
    for name, value in examples.items():
        assert value, f"# {name}= shows no example value"
        assert "#" not in value, f"# {name}: a comment in the value"
        assert value == value.strip(), f"# {name}: spaces around the value"
        if name == SANDBOX_PORT:
            assert value.isdigit()
            assert 0 < int(value) < 65536
            continue
        with clean_env.context() as env:
            settings_with(env, {name: value})
