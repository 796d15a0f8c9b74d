"""Settings of the Slack app (pydantic-settings): Slack's and Anthropic's standard names,
plus ORCHESTRA_* knobs. Read once, in `bot.__main__`."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from pipeline.settings import PipelineSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(PipelineSettings):
    """Everything `python -m bot` reads from the environment (or `.env`)."""

    # Every number finite and bounded on both sides, as in PipelineConfig (its docstring).
    model_config = SettingsConfigDict(
        env_prefix="ORCHESTRA_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        allow_inf_nan=False,
    )

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_APP_TOKEN")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=_env("SLACK_API_URL")
    )
    # Many workspaces (OAuth install): the app's credentials (Basic Information > App
    # Credentials). Both set and no SLACK_BOT_TOKEN: multi-workspace mode over HTTP.
    slack_client_id: str | None = Field(default=None, validation_alias=_env("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_CLIENT_SECRET")
    )
    # The Redirect URL registered with Slack (…/slack/oauth_redirect); needed only when the
    # app registers several, as Slack then requires it on both OAuth steps.
    slack_redirect_uri: str | None = Field(
        default=None, validation_alias=_env("SLACK_REDIRECT_URI")
    )
    # Fernet keys sealing installations' tokens at rest, comma-separated: the first seals,
    # every one opens (rotation). Required in multi-workspace mode.
    encryption_key: SecretStr | None = None
    port: int = Field(
        default=3000, ge=0, le=65535, validation_alias=_env("PORT")
    )  # 0: any free port
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST"))
    command: str = "/research"
    cancel_by: Literal["requester", "anyone"] = "requester"
    # Who may steer a live run by mentioning the app in its thread (issue 22.2): anyone (a
    # team tool; the note names who steered) or its requester. Never widens cancel_by.
    steer_by: Literal["anyone", "requester"] = "anyone"
    # Plan review (issue 22.3): hold every plan for its requester's Approve (always), or only
    # when a request says --review or --deep (never); --no-review skips it either way. An
    # unapproved plan expires after review_timeout_s (it holds no slot and no budget).
    plan_review: Literal["never", "always"] = "never"
    review_timeout_s: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    update_interval_s: float = Field(default=1.0, ge=0.05, le=60)
    thread_context_messages: int = Field(default=20, ge=0, le=200)
    shutdown_timeout_s: float = Field(default=10.0, gt=0, le=600)
    # The run store (SQLAlchemy URL forms): sqlite:///relative.db, sqlite:////absolute.db,
    # or postgresql://user:password@host:port/db.
    database_url: str = "sqlite:///data/orchestra.db"
    # Then runs' texts go; spend totals stay. At most 100 years (a date must still exist).
    retention_days: float = Field(default=90, gt=0, le=36_500)
    # Several replicas: Redis (redis://, rediss:// or unix://) shared by all of them for
    # delivery dedupe, the replay guard, Cancel across replicas, Slack rate limits and run
    # leases. Unset: one process, coordinated in its own memory (the default, `make run`).
    redis_url: SecretStr | None = None  # secret: the URL may carry a password
    # How long a replica's claim on a live run lasts without renewal; another replica may
    # take the run over after that. At least a second: the owner stops writing a sixth of it
    # before it runs out, which must outlast a slow round trip to Redis.
    lease_s: float = Field(default=15, ge=1, le=600)
    # Fair share (per process): runs calling Claude at once, beyond which new runs queue;
    # runs live or queued per person, beyond which a request is refused privately.
    max_live_runs: int = Field(default=20, ge=1, le=10_000)
    max_runs_per_user: int = Field(default=3, ge=1, le=1_000)
    # Daily budgets in US$ per UTC day (None: no limit), for one person across channels
    # and for one channel across people; every Claude call reserves its worst case first.
    user_daily_budget_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    channel_daily_budget_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    # Reports: an answer longer than this many characters goes to a Slack canvas linked from
    # the thread (messages where canvases are refused); 0: never.
    canvas_min_chars: int = Field(default=3000, ge=0, le=1_000_000)
    log_level: str = "INFO"
    # One JSON object per log line (with the run id and trace ids) instead of text.
    log_format: Literal["text", "json"] = "text"
    # OpenTelemetry's standard variables (the SDK reads the other OTEL_* knobs itself).
    # Unset endpoint: nothing is exported.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_service_name: str = Field(default="orchestra", validation_alias=_env("OTEL_SERVICE_NAME"))
    # Prompts, goals, context and answers in spans: off unless set to true.
    otel_instrumentation_genai_capture_message_content: bool = Field(
        default=False, validation_alias=_env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    )
    # Serve the metrics for Prometheus to scrape at /metrics (HTTP mode's server).
    prometheus_metrics: bool = False

    @field_validator("command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith("/") or " " in value:
            raise ValueError("must look like /research")
        return value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_secret",
        "encryption_key",
    )
    @classmethod
    def _empty_token_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # `SLACK_APP_TOKEN=` as .env.example writes it: unset, not an empty token (which
        # would choose Socket Mode and fail there).
        return value if value is not None and value.get_secret_value() else None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # set but empty: as unset
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            # Never echo the value: it may hold a password.
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # set but empty: as unset
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _daily_budgets_priced(self) -> Settings:
        daily = self.user_daily_budget_usd is not None or self.channel_daily_budget_usd is not None
        unpriced = self.unpriced_models() if daily else []
        if unpriced:
            # Same rule as PipelineConfig's for budget_usd: no price, no reservation.
            raise ValueError(
                f"daily budgets need a price for {', '.join(unpriced)} (set ORCHESTRA_PRICES)"
            )
        return self

    @property
    def oauth_requested(self) -> bool:
        """SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are both set."""
        return bool(self.slack_client_id) and _present(self.slack_client_secret)

    @property
    def multi_workspace(self) -> bool:
        """Installed by OAuth in many workspaces: the app's credentials set and no bot token
        (with SLACK_BOT_TOKEN set the app stays single-workspace, `bot.__main__` warns)."""
        return self.oauth_requested and not _present(self.slack_bot_token)

    def missing_for_slack(self) -> list[str]:
        """Names of variables the Slack app cannot start without."""
        if self.multi_workspace:  # OAuth mode serves HTTP: signed requests only
            wanted = {
                "ANTHROPIC_API_KEY": self.anthropic_api_key,
                "SLACK_SIGNING_SECRET": self.slack_signing_secret,
                "ORCHESTRA_ENCRYPTION_KEY": self.encryption_key,
            }
            return [name for name, value in wanted.items() if not _present(value)]
        needed = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "ANTHROPIC_API_KEY": self.anthropic_api_key,
        }
        if self.slack_app_token is None:  # HTTP mode verifies every request's signature
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        return [name for name, value in needed.items() if not _present(value)]

    def slack_incomplete(self) -> tuple[list[str], list[str]] | None:
        """Slack variables set but not enough for a workspace: those set, and those of which
        one is missing. None when none is set (the sandbox) or enough are (the real bot): a
        bot token, and an app token (Socket Mode) or a signing secret (HTTP mode)."""
        given = {
            "SLACK_BOT_TOKEN": _present(self.slack_bot_token),
            "SLACK_APP_TOKEN": _present(self.slack_app_token),
            "SLACK_SIGNING_SECRET": _present(self.slack_signing_secret),
        }
        present = [name for name, value in given.items() if value]
        if not present:
            return None
        if self.multi_workspace and given["SLACK_SIGNING_SECRET"]:
            return None  # installed by OAuth: the workspaces' tokens are in the database
        if not given["SLACK_BOT_TOKEN"]:
            return present, ["SLACK_BOT_TOKEN"]
        if not (given["SLACK_APP_TOKEN"] or given["SLACK_SIGNING_SECRET"]):
            return present, ["SLACK_APP_TOKEN (Socket Mode)", "SLACK_SIGNING_SECRET (HTTP mode)"]
        return None


def _present(value: SecretStr | None) -> bool:
    """Set and not empty: `SLACK_BOT_TOKEN=` (as in .env.example) is as good as unset."""
    return value is not None and bool(value.get_secret_value())
