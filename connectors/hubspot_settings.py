"""Settings of one HubSpot instance: token, endpoint, transport, paging, search and flag names.

A plain pydantic model: nothing is read from the environment at import time; `from_env` reads
a mapping the caller passes (usually `os.environ`), so tests and several instances stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.retrying import RetrySettings

DEFAULT_BASE_URL = "https://api.hubapi.com"
TOKEN_VARIABLE = "HUBSPOT_ACCESS_TOKEN"
BASE_URL_VARIABLE = "HUBSPOT_BASE_URL"
CA_BUNDLE_VARIABLE = "PIPELINES_ETL_CA_BUNDLE"
# `flag_fields` override (configuration's flag_fields.hubspot shape) -> settings field.
FLAG_FIELD_SETTINGS: dict[str, str] = {
    "flagged": "flag_stale_property",
    "reason": "flag_reason_property",
    "since": "flag_since_property",
}


class HubSpotSettings(BaseModel):
    """How to reach and read one HubSpot portal (private app token; it cannot be refreshed)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    access_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    ca_bundle: str | None = None  # PEM file to trust (the sandbox's self-signed CA)
    timeout: float = Field(default=30.0, gt=0)  # seconds, for every call

    list_page_size: int = Field(default=100, ge=1, le=100)  # listing without history
    history_page_size: int = Field(default=50, ge=1, le=50)  # listing with dealstage history
    search_page_size: int = Field(default=200, ge=1, le=200)
    batch_size: int = Field(default=100, ge=1, le=100)  # batch read / update / associations
    # Batch read with propertiesWithHistory: HubSpot allows at most 50 inputs per call.
    history_batch_size: int = Field(default=50, ge=1, le=50)
    owners_page_size: int = Field(default=100, ge=1, le=500)

    search_window_seconds: float = Field(default=30 * 86_400, gt=0)  # widest search window
    search_max_results: int = Field(default=10_000, ge=2, le=10_000)  # the search cap
    search_lookback_seconds: float = Field(default=300.0, ge=0)  # search index lag margin
    max_properties_query_chars: int = Field(default=2000, ge=200)  # GET property list budget

    max_quota_share: float = Field(default=0.8, gt=0, le=1)
    # A full listing's live ids serve the next `deal_ids()` this young (0: always list again).
    listed_ids_max_age_seconds: float = Field(default=3600.0, ge=0)

    retry_attempts: int = Field(default=5, ge=1)
    retry_initial_wait: float = Field(default=0.5, ge=0)
    retry_max_wait: float = Field(default=30.0, ge=0)

    flag_stale_property: str = "pipeline_stale"
    flag_reason_property: str = "pipeline_stale_reason"
    flag_since_property: str = "pipeline_stale_since"

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// or http://")
        return value.rstrip("/")

    @property
    def retry(self) -> RetrySettings:
        """The shared retry policy's settings for this instance."""
        return RetrySettings(
            attempts=self.retry_attempts,
            initial_wait=self.retry_initial_wait,
            max_wait=self.retry_max_wait,
        )

    @property
    def flag_properties(self) -> dict[str, str]:
        """Neutral flag name -> HubSpot property name (the only properties ever written)."""
        return {
            "flag_stale": self.flag_stale_property,
            "flag_reason": self.flag_reason_property,
            "flag_since": self.flag_since_property,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> HubSpotSettings:
        """Settings from environment variables (passed in, never read here) plus overrides."""
        values: dict[str, Any] = {}
        token = (env.get(TOKEN_VARIABLE) or "").strip()
        if token:
            values["access_token"] = token
        base_url = (env.get(BASE_URL_VARIABLE) or "").strip()
        if base_url:
            values["base_url"] = base_url
        ca_bundle = (env.get(CA_BUNDLE_VARIABLE) or "").strip()
        if ca_bundle:
            values["ca_bundle"] = ca_bundle
        overrides = dict(overrides)
        flag_fields = overrides.pop("flag_fields", None) or {}
        for meaning, name in dict(flag_fields).items():
            if meaning not in FLAG_FIELD_SETTINGS:
                raise ValueError(
                    f"flag_fields.{meaning}: unknown flag (expected {sorted(FLAG_FIELD_SETTINGS)})"
                )
            values[FLAG_FIELD_SETTINGS[meaning]] = name
        values.update(overrides)
        if not values.get("access_token"):
            raise ValueError(
                f"{TOKEN_VARIABLE} is not set: export the HubSpot private app access token "
                "(Settings > Integrations > Private apps) to read HubSpot"
            )
        return cls(**values)
