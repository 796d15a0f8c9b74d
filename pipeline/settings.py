"""Environment -> PipelineConfig and Claude credentials (read only at entry points)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.config import PipelineConfig


class PipelineSettings(PipelineConfig, BaseSettings):
    """The pipeline's knobs as ORCHESTRA_* variables, plus the Anthropic SDK's own names.

    Every knob is `PipelineConfig`'s own field, inherited, so it is declared (name, default,
    bounds) exactly once; this class adds only the credentials. Not a nested model
    (`pipeline: PipelineConfig` with `env_nested_delimiter="__"`): that would rename every
    documented variable to `ORCHESTRA_PIPELINE__MAX_SUBTASKS`; inheriting keeps
    `ORCHESTRA_MAX_SUBTASKS` and the rest as they are.
    """

    model_config = SettingsConfigDict(
        env_prefix="ORCHESTRA_", env_file=".env", extra="ignore", populate_by_name=True
    )

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "anthropic_api_key")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "anthropic_base_url")
    )

    # The app and the CLI suggest follow-up questions unless ORCHESTRA_FOLLOW_UPS=0.
    follow_ups: int = Field(default=3, ge=0, le=3)

    # The offline demo's pace (`--demo`): 1 is as a real run feels; less is faster (the CLI's
    # own tests use 0.2). Not a pipeline knob: the demo model's, so not in PipelineConfig.
    demo_speed: float = Field(default=1.0, gt=0, le=10)

    @field_validator("anthropic_api_key", "anthropic_base_url")
    @classmethod
    def _empty_is_unset(cls, value: SecretStr | str | None) -> SecretStr | str | None:
        # `ANTHROPIC_API_KEY=` as .env.example writes it: unset (the sandbox's offline demo),
        # and an empty base URL is the SDK's default, not "".
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return value if text else None

    def pipeline_config(self) -> PipelineConfig:
        """The frozen config a run uses: these settings' pipeline fields, nothing else."""
        return PipelineConfig.model_validate(
            {name: getattr(self, name) for name in PipelineConfig.model_fields}
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
    reason = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:  # a rule across fields: its message names the variables
        return f"Invalid configuration: {reason}."
    name = env_name(settings, str(first["loc"][0]))
    if len(first["loc"]) > 1:  # inside a JSON value, e.g. ORCHESTRA_PRICES (claude-x input)
        name += f" ({' '.join(str(part) for part in first['loc'][1:])})"
    return f"Invalid configuration: {name}: {reason}."
