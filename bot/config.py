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

    model_config = SettingsConfigDict(
        env_prefix="ORCHESTRA_", env_file=".env", extra="ignore", populate_by_name=True
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
    port: int = Field(
        default=3000, ge=0, le=65535, validation_alias=_env("PORT")
    )  # 0: any free port
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST"))
    command: str = "/research"
    cancel_by: Literal["requester", "anyone"] = "requester"
    update_interval_s: float = Field(default=1.0, ge=0.05)
    thread_context_messages: int = Field(default=20, ge=0, le=200)
    shutdown_timeout_s: float = Field(default=10.0, gt=0)
    # The run store (SQLAlchemy URL forms): sqlite:///relative.db, sqlite:////absolute.db,
    # or postgresql://user:password@host:port/db.
    database_url: str = "sqlite:///data/orchestra.db"
    retention_days: float = Field(default=90, gt=0)  # then runs' texts go; spend totals stay
    # Several replicas: Redis (redis://, rediss:// or unix://) shared by all of them for
    # delivery dedupe, the replay guard, Cancel across replicas, Slack rate limits and run
    # leases. Unset: one process, coordinated in its own memory (the default, `make run`).
    redis_url: SecretStr | None = None  # secret: the URL may carry a password
    # How long a replica's claim on a live run lasts without renewal; another replica may
    # take the run over after that.
    lease_s: float = Field(default=15, gt=0)
    # Fair share (per process): runs calling Claude at once, beyond which new runs queue;
    # runs live or queued per person, beyond which a request is refused privately.
    max_live_runs: int = Field(default=20, ge=1)
    max_runs_per_user: int = Field(default=3, ge=1)
    # Daily budgets in US$ per UTC day (None: no limit), for one person across channels
    # and for one channel across people; every Claude call reserves its worst case first.
    user_daily_budget_usd: float | None = Field(default=None, gt=0)
    channel_daily_budget_usd: float | None = Field(default=None, gt=0)
    log_level: str = "INFO"

    @field_validator("command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith("/") or " " in value:
            raise ValueError("must look like /research")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # set but empty: as unset
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            # Never echo the value: it may hold a password.
            raise ValueError("must start with redis://, rediss:// or unix://")
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

    def missing_for_slack(self) -> list[str]:
        """Names of variables the Slack app cannot start without."""
        needed = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "ANTHROPIC_API_KEY": self.anthropic_api_key,
        }
        if self.slack_app_token is None:  # HTTP mode verifies every request's signature
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        return [name for name, value in needed.items() if not value or not value.get_secret_value()]
