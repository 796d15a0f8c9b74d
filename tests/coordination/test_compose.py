"""compose.yaml: three replicas of the production image on one PostgreSQL and one Redis.

This machine has the Docker client but no engine, so the file is checked with a YAML parser
and against the app's own settings; where `docker compose` is installed it also checks the
file (`config` needs no engine)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings
from pipeline.settings import env_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def interpolated(value: str) -> str:
    """`value` as compose passes it on, with `${NAME:-default}` at its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value).replace("$$", "$")


def test_three_replicas_of_the_production_image_on_postgresql_and_redis() -> None:
    services = compose()["services"]
    assert {"app", "postgres", "redis"} <= set(services)
    app = services["app"]
    assert app["build"] == "."
    assert (ROOT / "Dockerfile").is_file()
    assert app["deploy"]["replicas"] == 3
    assert app["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    env = {name: interpolated(str(value)) for name, value in app["environment"].items()}
    assert env["ORCHESTRA_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["ORCHESTRA_DATABASE_URL"]
    assert env["ORCHESTRA_REDIS_URL"] == "redis://redis:6379/0"
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 - inside its container, for the proxy
    for service in ("postgres", "redis"):
        assert "healthcheck" in services[service], service


def test_every_variable_the_replicas_get_is_a_setting_the_app_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = compose()["services"]["app"]
    names = {env_name(Settings, field) for field in Settings.model_fields}
    assert set(app["environment"]) <= names
    for name, value in app["environment"].items():
        monkeypatch.setenv(name, interpolated(str(value)))
    settings = Settings(_env_file=None)
    assert settings.redis_url is not None
    assert settings.database_url.startswith("postgresql://")
    assert settings.port == 3000


def test_the_proxy_only_comes_with_the_http_profile_and_its_dollars_are_escaped() -> None:
    loaded = compose()
    assert loaded["services"]["proxy"]["profiles"] == ["http"]
    assert "proxy_pass http://app:3000;" in loaded["configs"]["proxy"]["content"]
    # compose interpolates $name everywhere, nginx's variables included, unless written $$.
    stray = re.findall(r"(?<!\$)\$(?![${])", COMPOSE.read_text().replace("$$", ""))
    assert stray == []


def header() -> str:
    """compose.yaml's opening comment (what a person reads first), on one line."""
    lines = []
    for line in COMPOSE.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.removeprefix("#").strip())
    return " ".join(" ".join(lines).split())


def test_the_header_says_what_the_readme_says_about_restarts() -> None:
    # It once said restarts were "Not yet safe … start one replica first": run ownership
    # (leases, takeover) made that untrue, and the README and the code say otherwise.
    text = header()
    readme = " ".join((ROOT / "README.md").read_text().replace("`", "").split())
    promise = "Restart, deploy or lose replicas in any order"
    assert promise in readme  # README, "Several replicas"
    assert promise in text
    assert "Not yet safe" not in text
    assert "--scale app=1" not in text
    lease = compose()["services"]["app"]["environment"]["ORCHESTRA_LEASE_S"]
    assert f"(ORCHESTRA_LEASE_S, {lease} s," in text  # the lease this file sets
    for when in ("ORCHESTRA_LEASE_S / 2", "ORCHESTRA_LEASE_S x 1.5"):  # README's bounds
        assert when in text
        assert when.replace(" x ", " \N{MULTIPLICATION SIGN} ") in readme


def compose_cli() -> bool:
    """Whether `docker compose` is installed (the plugin; no engine needed to check a file)."""
    if shutil.which("docker") is None:
        return False
    version = subprocess.run(
        ["docker", "compose", "version"],  # noqa: S607 - found on PATH, as a person runs it
        capture_output=True,
        check=False,
        timeout=30,
    )
    return version.returncode == 0


@pytest.mark.skipif(
    not compose_cli(),
    reason="docker compose is not installed here (the YAML checks above still ran)",
)
def test_docker_compose_accepts_the_file() -> None:
    done = subprocess.run(  # noqa: S603 - a fixed command
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],  # noqa: S607 - as above
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
