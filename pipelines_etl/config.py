"""The toolkit's YAML configuration (PIPELINES_ETL_CONFIG), validated with pydantic.

Every key has a default, so no file at all is a valid configuration: the sources are then
the CRMs whose credentials are set in the environment. Secrets never live here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONFIG_ENV = "PIPELINES_ETL_CONFIG"
WAREHOUSE_ENV = "PIPELINES_ETL_WAREHOUSE_URL"
DEFAULT_WAREHOUSE_URL = "sqlite:///./data/warehouse.db"


class ConfigError(ValueError):
    """An invalid configuration, said in one line a user can act on."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageMappingRule(_Strict):
    """One override of the default stage mapping: a source stage to a canonical stage."""

    source_stage: str
    stage: Annotated[int, Field(ge=1, le=7)]
    pipeline: str = "*"


class RetentionConfig(_Strict):
    """What puts a deal in the retention motion; None keeps the CRM's defaults."""

    pipelines: tuple[str, ...] | None = None
    deal_types: tuple[str, ...] | None = None


class SourceConfig(_Strict):
    """One CRM instance (two Salesforce orgs are two sources with different names)."""

    type: str  # a connector module's SOURCE_TYPE, e.g. "salesforce", "hubspot"
    env_prefix: str | None = None  # credentials from e.g. SALESFORCE_EMEA_CLIENT_ID
    default_currency: str = "USD"
    stage_mappings: tuple[StageMappingRule, ...] = ()
    retention: RetentionConfig = RetentionConfig()
    options: dict[str, Any] = Field(default_factory=dict)  # connector settings overrides

    @field_validator("default_currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("expected a 3-letter ISO 4217 code")
        return value.upper()


class StalenessConfig(_Strict):
    """Rules of stale-deals.md; each can be switched off."""

    stuck_in_stage: bool = True
    stuck_in_stage_days: dict[str, int] = Field(default_factory=dict)  # stage key -> days
    stuck_default_days: Annotated[int, Field(ge=1)] = 30
    stuck_min_days: Annotated[int, Field(ge=1)] = 14
    no_activity: bool = True
    no_activity_days: Annotated[int, Field(ge=1)] = 30
    past_close_date: bool = True
    past_close_date_days: Annotated[int, Field(ge=0)] = 7
    exclude_deals: tuple[str, ...] = ()
    exclude_owners: tuple[str, ...] = ()
    exclude_pipelines: tuple[str, ...] = ()


class SafetyConfig(_Strict):
    """Limits that stop a push whose new flags would flood a CRM."""

    max_new_flags_share: Annotated[float, Field(gt=0, le=1)] = 0.25
    max_new_flags: Annotated[int, Field(ge=1)] = 1000


class ScheduleConfig(_Strict):
    """When the nightly sync runs, and how often deletions are reconciled."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    reconcile_every_days: Annotated[int, Field(ge=1)] = 7
    push_flags_cron: str = "0 6 * * *"
    push_flags_enabled: bool = False


class AppConfig(_Strict):
    """The whole configuration file."""

    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    reporting_currency: str = "USD"
    rates: dict[str, Decimal] = Field(default_factory=dict)
    lead_channels: dict[str, Literal["inbound", "outbound", "unknown"]] = Field(
        default_factory=dict
    )
    owner_emails: dict[str, str] = Field(default_factory=dict)  # "source:owner_id" -> email
    reporting_timezone: str = "UTC"
    fiscal_year_start_month: Annotated[int, Field(ge=1, le=12)] = 1
    rate_window_days: Annotated[int, Field(ge=1)] = 90
    quotas_file: Path | None = None
    staleness: StalenessConfig = StalenessConfig()
    # CRM type -> {flagged, reason, since} -> field name, over each connector's defaults.
    flag_fields: dict[str, dict[Literal["flagged", "reason", "since"], str]] = Field(
        default_factory=dict
    )
    safety: SafetyConfig = SafetyConfig()
    schedule: ScheduleConfig = ScheduleConfig()

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in value:
            if not name.replace("_", "").isalnum() or not name[:1].isalpha():
                raise ValueError(f"source name {name!r}: use letters, digits and underscores")
        return value

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in value.items():
            if rate <= 0:
                raise ValueError(f"rate for {code} must be positive, got {rate}")
        return {code.upper(): rate for code, rate in value.items()}


def _describe_error(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    return f"{origin}: {key}{shown}: {first['msg']}"


def parse_config(data: Mapping[str, Any] | None, *, origin: str = "configuration") -> AppConfig:
    """Validate a loaded mapping into AppConfig; errors name the key, the value, what's wanted."""
    try:
        return AppConfig.model_validate(dict(data or {}))
    except ValidationError as error:
        raise ConfigError(_describe_error(error, origin)) from None


def load_config(env: Mapping[str, str] | None = None) -> AppConfig:
    """Read the file PIPELINES_ETL_CONFIG names, or the defaults when it is unset."""
    env = os.environ if env is None else env
    path_text = env.get(CONFIG_ENV)
    if not path_text:
        return AppConfig()
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"{CONFIG_ENV}={path}: no such file; point it at your YAML configuration")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    config = parse_config(data, origin=str(path))
    if config.quotas_file is not None and not config.quotas_file.is_absolute():
        config = config.model_copy(update={"quotas_file": path.parent / config.quotas_file})
    return config


def warehouse_url(env: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL of the warehouse: PIPELINES_ETL_WAREHOUSE_URL or the SQLite default."""
    env = os.environ if env is None else env
    return env.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE_URL
