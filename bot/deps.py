"""The app's dependencies, built once at the composition root and passed in."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

from bot.config import Settings
from bot.runs.registry import RunRegistry
from bot.runs.visibility import Visibility
from bot.slack import tenancy
from bot.slack.auth import SlackAuth
from bot.slack.io import SlackIO
from bot.store import RunStore
from bot.telemetry import Telemetry, telemetry_off
from bot.thread.native_stream import KEEPALIVE_S, STATUS_REFRESH_S
from pipeline import LLM, PipelineConfig


@dataclass(frozen=True)
class Workspace:
    """The workspace the bot token belongs to (from `auth.test`)."""

    team_id: str = ""
    url: str = ""  # e.g. https://acme.slack.com/, the base of thread links
    enterprise_id: str = ""  # its Enterprise Grid org ("": none, or single-workspace mode)


@dataclass(frozen=True)
class Deps:
    """Everything a listener or a run needs, built by `bot.__main__.build_deps` (tests and
    the sandbox too, with overrides)."""

    settings: Settings
    # The pipeline's config, derived from `settings` (the one source of every knob) once, at
    # the composition root (`bot.__main__.build_deps`).
    config: PipelineConfig
    io: SlackIO
    llm: LLM
    store: RunStore
    runs: RunRegistry
    workspace: Workspace = field(default_factory=Workspace)
    # Whether Slack still accepts the bot token, as the calls of `io.client` find out.
    slack_auth: SlackAuth = field(default_factory=SlackAuth)
    clock: Callable[[], float] = time.monotonic
    # How often an idle native stream (a DM run) is written to, so Slack keeps it streaming.
    stream_keepalive_s: float = KEEPALIVE_S
    # How often a DM run's status line is re-sent while it shows (Slack drops it after 2 min).
    status_refresh_s: float = STATUS_REFRESH_S
    # Traces and metrics (bot.telemetry); off unless OTEL_EXPORTER_OTLP_ENDPOINT or /metrics.
    telemetry: Telemetry = field(default_factory=telemetry_off)
    # Multi-workspace mode (OAuth): a workspace's installation by team id, for runs started
    # outside a request (resumed, taken over). None: single-workspace, one token serves all.
    # (team id, enterprise id: an org-wide install is found by its org.)
    tenants: Callable[[str, str], Awaitable[tenancy.Tenant | None]] | None = None

    @property
    def team(self) -> Workspace:
        """The workspace being served: this request's or run's in multi-workspace mode
        (`bot.slack.tenancy`), else the one the bot token belongs to."""
        tenant = tenancy.current()
        if tenant is None:
            return self.workspace
        return Workspace(tenant.team_id, tenant.url, tenant.enterprise_id)

    async def enter_workspace(self, team_id: str, enterprise_id: str = "") -> bool:
        """Serve a run of `team_id` (in org `enterprise_id`) from here on (a resume, a
        takeover); False in multi-workspace mode when neither that workspace nor its org has
        an installation any more."""
        if self.tenants is None:
            return True
        tenant = await self.tenants(team_id, enterprise_id)
        if tenant is None:
            return False
        tenancy.enter(tenant)
        return True

    async def workspace_gone(self, enterprise_id: str, team_id: str) -> None:
        """Its installation is gone: stop this process's live runs of that workspace, or
        (team "": an org-wide install) of every workspace of the org (they end as cancelled;
        nothing more reaches Slack with its token)."""
        for run in self.runs.running:
            stored = await self.store.get_run(run.run_id)
            if stored is None:
                continue
            if (team_id and stored.workspace == team_id) or (
                not team_id and enterprise_id and stored.enterprise_id == enterprise_id
            ):
                self.runs.cancel(run.run_id, "")

    @cached_property
    def visibility(self) -> Visibility:
        """Which runs each person may see (Slack's answers kept briefly, for every list)."""
        return Visibility(self.io.client, clock=self.clock)
