"""Settings of the Salesforce connector, and the choice of login flow from the environment.

Nothing here reads the environment by itself: `SalesforceSettings.from_env(env)` takes the
mapping it is given, so tests and several instances (SALESFORCE_EMEA_*) stay independent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.retrying import RetrySettings

AuthFlow = Literal["client_credentials", "jwt_bearer", "direct", "soap"]

# The login flows in the order of preference of interfaces.md, with the variables each needs.
FLOW_VARIABLES: dict[AuthFlow, tuple[str, ...]] = {
    "client_credentials": (
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_CLIENT_SECRET",
        "SALESFORCE_DOMAIN",
    ),
    "jwt_bearer": ("SALESFORCE_USERNAME", "SALESFORCE_CLIENT_ID", "SALESFORCE_PRIVATE_KEY_FILE"),
    "direct": ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"),
    "soap": ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN"),
}
FLOW_LABELS: dict[AuthFlow, str] = {
    "client_credentials": "client credentials",
    "jwt_bearer": "JWT bearer",
    "direct": "direct access token",
    "soap": "legacy SOAP username/password",
}
# Settings attribute each variable fills.
_ENV_FIELDS: dict[str, str] = {
    "SALESFORCE_CLIENT_ID": "client_id",
    "SALESFORCE_CLIENT_SECRET": "client_secret",
    "SALESFORCE_DOMAIN": "domain",
    "SALESFORCE_USERNAME": "username",
    "SALESFORCE_PRIVATE_KEY_FILE": "private_key_file",
    "SALESFORCE_INSTANCE_URL": "instance_url",
    "SALESFORCE_ACCESS_TOKEN": "access_token",
    "SALESFORCE_PASSWORD": "password",
    "SALESFORCE_SECURITY_TOKEN": "security_token",
    "SALESFORCE_LOGIN_URL": "login_url",
    "SALESFORCE_API_VERSION": "api_version",
    "PIPELINES_ETL_CA_BUNDLE": "ca_bundle",
}
# Domains simple-salesforce refuses for the client-credentials flow (it needs a My Domain).
_GENERIC_DOMAINS = frozenset({"login", "test"})
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# The uniform `flag_fields` option (meaning -> field API name) -> settings field.
FLAG_FIELD_SETTINGS: dict[str, str] = {
    "flagged": "flag_field_stale",
    "reason": "flag_field_reason",
    "since": "flag_field_since",
}


class SalesforceSettings(BaseModel):
    """How to reach one Salesforce org and how hard to work it; secrets stay `SecretStr`."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    auth_flow: AuthFlow | None = None  # None: the first complete flow, in FLOW_VARIABLES order
    client_id: str | None = None
    client_secret: SecretStr | None = None
    domain: str | None = None  # My Domain for client credentials, e.g. "acme.my"; else "login"
    username: str | None = None
    private_key_file: Path | None = None
    instance_url: str | None = None
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    login_url: str | None = None  # sends https://{domain}.salesforce.com logins here instead
    ca_bundle: Path | None = None  # trust these CAs only (and ignore REQUESTS_CA_BUNDLE)
    api_version: str = "59.0"
    timeout: float = Field(default=60.0, gt=0)  # seconds, every HTTP request
    page_size: int = Field(default=2000, ge=200, le=2000)  # REST batchSize
    # Bulk API 2.0 maxRecords per page; the sync holds two pages as parsed rows at a time.
    bulk_page_size: int = Field(default=10_000, ge=1)
    bulk_threshold: int | None = Field(default=50_000, ge=0)  # Bulk above this many; None: never
    # Bulk job polls: the first after this many seconds, each next wait doubled up to the max.
    bulk_poll_seconds: float = Field(default=0.5, gt=0)
    bulk_poll_max_seconds: float = Field(default=5.0, gt=0)
    bulk_job_timeout_seconds: float = Field(default=3600.0, gt=0)  # give up on a job after this
    bulk_write_threshold: int = Field(default=2000, ge=1)  # Bulk ingest above this many updates
    overlap_seconds: int = Field(default=60, ge=0)  # re-read this far behind the cursor
    max_quota_share: float = Field(default=0.8, gt=0, le=1)
    # A full extract's live ids serve the next `deal_ids()` this young (0: always query again).
    listed_ids_max_age_seconds: float = Field(default=3600.0, ge=0)
    retry: RetrySettings = RetrySettings()
    id_chunk_size: int = Field(default=200, ge=1, le=500)  # ids per `IN (...)`, keeps URLs short
    flag_field_stale: str = "Pipeline_Stale__c"
    flag_field_reason: str = "Pipeline_Stale_Reason__c"
    flag_field_since: str = "Pipeline_Stale_Since__c"

    @field_validator("flag_field_stale", "flag_field_reason", "flag_field_since")
    @classmethod
    def _api_name(cls, value: str) -> str:
        if not _API_NAME.match(value):
            raise ValueError(f"not a Salesforce field API name: {value!r}")
        return value

    @field_validator("login_url", "instance_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _complete_flow(self) -> SalesforceSettings:
        if self.auth_flow is None:
            flow = next((f for f in FLOW_VARIABLES if not self.missing_for(f)), None)
            if flow is None:
                raise ValueError(describe_missing(self.missing_for))
            object.__setattr__(self, "auth_flow", flow)
        elif missing := self.missing_for(self.auth_flow):
            raise ValueError(
                f"Salesforce {FLOW_LABELS[self.auth_flow]} login needs {', '.join(missing)}"
            )
        return self

    def missing_for(self, flow: AuthFlow) -> list[str]:
        """The variables a login flow needs that these settings lack."""
        missing = [name for name in FLOW_VARIABLES[flow] if not getattr(self, _ENV_FIELDS[name])]
        if flow == "client_credentials" and self.domain in _GENERIC_DOMAINS:
            missing.append("SALESFORCE_DOMAIN (a My Domain, not login/test)")
        return missing

    @property
    def flag_fields(self) -> dict[str, str]:
        """Configured flag field API names by meaning (flagged, reason, since)."""
        return {
            "flagged": self.flag_field_stale,
            "reason": self.flag_field_reason,
            "since": self.flag_field_since,
        }

    @property
    def can_relogin(self) -> bool:
        """Whether the flow can get a fresh session when Salesforce says the current one died."""
        return self.auth_flow != "direct"

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> SalesforceSettings:
        """Settings from SALESFORCE_* variables (and PIPELINES_ETL_CA_BUNDLE) plus overrides.

        Raises ValueError naming the missing variables when no login flow is complete.
        """
        values: dict[str, Any] = {
            attr: env[name] for name, attr in _ENV_FIELDS.items() if env.get(name, "").strip()
        }
        overrides = dict(overrides)
        for meaning, name in dict(overrides.pop("flag_fields", None) or {}).items():
            if meaning not in FLAG_FIELD_SETTINGS:
                raise ValueError(
                    f"flag_fields.{meaning}: unknown flag (expected {sorted(FLAG_FIELD_SETTINGS)})"
                )
            values[FLAG_FIELD_SETTINGS[meaning]] = name
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(map(str, e['loc'])) + ': ' if e['loc'] else ''}"
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors(include_input=False)
            )
            raise ValueError(reasons) from None


def credentials_present(env: Mapping[str, str]) -> bool:
    """Whether the environment holds a complete set of Salesforce credentials for some flow."""
    try:
        SalesforceSettings.from_env(env)
    except ValueError:
        return False
    return True


def describe_missing(missing_for: Any) -> str:
    """One message listing, per login flow, the variables still missing."""
    parts = [f"{FLOW_LABELS[flow]}: set {', '.join(missing_for(flow))}" for flow in FLOW_VARIABLES]
    return "No complete Salesforce login in the environment (" + "; or ".join(parts) + ")"
