"""Environment -> PipelineConfig and Claude credentials (read only at entry points)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.config import ModelPrice, PipelineConfig


class PipelineSettings(BaseSettings):
    """The pipeline's knobs as ORCHESTRA_* variables, plus the Anthropic SDK's own names."""

    model_config = SettingsConfigDict(
        env_prefix="ORCHESTRA_", env_file=".env", extra="ignore", populate_by_name=True
    )

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "anthropic_api_key")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "anthropic_base_url")
    )
    orchestrator_model: str = "claude-sonnet-4-6"
    subagent_model: str = "claude-haiku-4-5"
    integrator_model: str = "claude-sonnet-4-6"
    max_subtasks: int = Field(default=5, ge=2, le=20)
    concurrency: int = Field(default=5, ge=1, le=50)
    call_timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    retry_max_wait_s: float = Field(default=30.0, ge=0)
    budget_tokens: int | None = Field(default=None, ge=1)
    budget_usd: float | None = Field(default=None, gt=0)
    max_goal_chars: int = Field(default=4000, ge=10)
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict
    )  # JSON: {"model": {"input": 3, ...}}

    def pipeline_config(self) -> PipelineConfig:
        """The frozen config a run uses."""
        return PipelineConfig(
            orchestrator_model=self.orchestrator_model,
            subagent_model=self.subagent_model,
            integrator_model=self.integrator_model,
            max_subtasks=self.max_subtasks,
            concurrency=self.concurrency,
            call_timeout_s=self.call_timeout_s,
            max_attempts=self.max_attempts,
            retry_max_wait_s=self.retry_max_wait_s,
            budget_tokens=self.budget_tokens,
            budget_usd=self.budget_usd,
            max_goal_chars=self.max_goal_chars,
            prices=self.prices,
        )


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from (what a person must fix)."""
    info = settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    prefix = str(settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def settings_problem(settings: type[BaseSettings], error: ValidationError) -> str:
    """One sentence naming the first invalid variable and why."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    name = env_name(settings, field) if field else "a setting"
    reason = str(first["msg"]).removeprefix("Value error, ")
    return f"Invalid configuration: {name}: {reason}."
