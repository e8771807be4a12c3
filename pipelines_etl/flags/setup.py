"""`crm setup`: do the flag fields exist, with the right type, and may the integration write them?

Salesforce: describe Opportunity (`updateable`); what is missing is printed for an admin to
create (Setup, or the Tooling API). HubSpot: the properties API; missing properties are
created with `apply`; a 403 MISSING_SCOPES names the scopes the private app lacks.
`flags push` refuses to run while any field of a source it writes is not ready.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import CrmConnector
from connectors.hubspot_flags import missing_scopes
from pipelines_etl.config import AppConfig
from pipelines_etl.failures import failure_message
from pipelines_etl.flags.values import MEANINGS, REASON_LENGTHS, connect, field_names
from pipelines_etl.sources import Source

# Describe types that fit each flag, and what an admin creates when it is missing.
SALESFORCE_TYPES: Mapping[str, frozenset[str]] = {
    "flagged": frozenset({"boolean"}),
    "reason": frozenset({"string", "textarea"}),
    "since": frozenset({"date"}),
}
SALESFORCE_CREATE: Mapping[str, str] = {
    "flagged": "Checkbox (default unchecked)",
    "reason": "Text(255)",
    "since": "Date",
}
HUBSPOT_TYPES: Mapping[str, str] = {"flagged": "bool", "reason": "string", "since": "date"}
_HUBSPOT_NEUTRAL = {"flagged": "flag_stale", "reason": "flag_reason", "since": "flag_since"}


class FlagFieldsMissing(RuntimeError):
    """A flag field is missing or not writable: `pipelines-etl crm setup` says what to do."""


@dataclass(frozen=True)
class FieldStatus:
    """One flag field of one source: whether it is ready, and what was or must be done."""

    source: str
    meaning: str
    name: str
    status: str  # ok, created, missing, wrong_type, read_only
    detail: str = ""
    length: int | None = None  # text length per describe (reason field)

    @property
    def ready(self) -> bool:
        """Exists, has the right type and may be written."""
        return self.status in ("ok", "created")


@dataclass
class SetupReport:
    """Every flag field of the checked sources, and errors that stopped a source's check."""

    fields: list[FieldStatus] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)

    def ready(self, source: str) -> bool:
        """Whether a push may write this source."""
        mine = [f for f in self.fields if f.source == source]
        return source not in self.errors and bool(mine) and all(f.ready for f in mine)

    def reason_length(self, source: str, default: int) -> int:
        """The reason field's length per the CRM, else `default`."""
        for status in self.fields:
            if status.source == source and status.meaning == "reason" and status.length:
                return status.length
        return default


def _salesforce(source: str, connector: Any, names: Mapping[str, str]) -> list[FieldStatus]:
    described = connector.describe_flag_fields()
    out = []
    for meaning in MEANINGS:
        name, entry = names[meaning], described.get(meaning)
        if entry is None:
            out.append(
                FieldStatus(
                    source,
                    meaning,
                    name,
                    "missing",
                    f"a Salesforce admin must create Opportunity.{name} as "
                    f"{SALESFORCE_CREATE[meaning]} (Setup > Object Manager > Opportunity > "
                    "Fields, or the Tooling API) with Edit access for the integration user",
                )
            )
        elif str(entry.get("type")) not in SALESFORCE_TYPES[meaning]:
            out.append(
                FieldStatus(
                    source,
                    meaning,
                    name,
                    "wrong_type",
                    f"is {entry.get('type')}; expected {SALESFORCE_CREATE[meaning]}",
                )
            )
        elif not entry.get("updateable"):
            out.append(
                FieldStatus(
                    source,
                    meaning,
                    name,
                    "read_only",
                    "not updateable: give the integration user Edit access (field-level security)",
                )
            )
        else:
            length = int(entry.get("length") or 0) or None
            out.append(FieldStatus(source, meaning, name, "ok", length=length))
    return out


def _hubspot(
    source: str, connector: Any, names: Mapping[str, str], *, apply: bool
) -> list[FieldStatus]:
    defined = connector.flag_property_definitions()
    out = []
    for meaning in MEANINGS:
        neutral, name = _HUBSPOT_NEUTRAL[meaning], names[meaning]
        prop = defined.get(neutral)
        if prop is None and apply:
            connector.create_flag_property(neutral)
            out.append(
                FieldStatus(
                    source, meaning, name, "created", f"created as {HUBSPOT_TYPES[meaning]}"
                )
            )
        elif prop is None:
            out.append(
                FieldStatus(
                    source,
                    meaning,
                    name,
                    "missing",
                    "run `pipelines-etl crm setup --apply` to create it",
                )
            )
        elif str(prop.get("type")) != HUBSPOT_TYPES[meaning]:
            out.append(
                FieldStatus(
                    source,
                    meaning,
                    name,
                    "wrong_type",
                    f"is {prop.get('type')}; expected {HUBSPOT_TYPES[meaning]}",
                )
            )
        elif (prop.get("modificationMetadata") or {}).get("readOnlyValue"):
            out.append(FieldStatus(source, meaning, name, "read_only", "its value is read-only"))
        else:
            out.append(FieldStatus(source, meaning, name, "ok"))
    return out


def _error_text(error: Exception) -> str:
    body = getattr(error, "body", None)
    scopes = missing_scopes(body) if isinstance(body, Mapping) else []
    if scopes:
        return (
            f"the private app lacks the scope(s) {', '.join(scopes)}: add them in HubSpot "
            "(Settings > Integrations > Private apps) and run `pipelines-etl crm setup` again"
        )
    return failure_message(error)


def check_connector(
    source: Source, connector: CrmConnector, *, app_config: AppConfig, apply: bool
) -> list[FieldStatus]:
    """The flag fields of one source (creating HubSpot properties when `apply`)."""
    names = field_names(source, app_config)
    if source.source_type == "salesforce":
        return _salesforce(source.name, connector, names)
    if source.source_type == "hubspot":
        return _hubspot(source.name, connector, names, apply=apply)
    return [
        FieldStatus(source.name, m, names.get(m, "?"), "missing", "no flag support")
        for m in MEANINGS
    ]


def _instructions(report: SetupReport) -> list[str]:
    lines = []
    for source in sorted({f.source for f in report.fields if not f.ready}):
        todo = [f for f in report.fields if f.source == source and not f.ready]
        lines.append(f"{source}: " + "; ".join(f"{f.name}: {f.detail}" for f in todo))
    return lines


def check_setup(
    sources: Sequence[Source],
    *,
    app_config: AppConfig,
    env: Mapping[str, str],
    apply: bool = False,
    connectors: Mapping[str, CrmConnector] | None = None,
) -> SetupReport:
    """Check (and with `apply`, create HubSpot's) flag fields of every source."""
    report = SetupReport()
    for source in sources:
        connector = (connectors or {}).get(source.name) or connect(
            source, env=env, app_config=app_config
        )
        try:
            report.fields.extend(
                check_connector(source, connector, app_config=app_config, apply=apply)
            )
        except Exception as error:  # one line per source, e.g. missing scopes or no access
            report.errors[source.name] = _error_text(error)
    report.instructions = _instructions(report)
    return report


def require_ready(report: SetupReport, sources: Sequence[str]) -> None:
    """Raise FlagFieldsMissing naming what to fix when any of these sources is not ready."""
    problems = [f"{name}: {report.errors[name]}" for name in sources if name in report.errors]
    problems += [line for line in report.instructions if line.split(":", 1)[0] in sources]
    if problems:
        raise FlagFieldsMissing(
            "flags push refused: the flag fields are not ready ("
            + " | ".join(problems)
            + "); run `pipelines-etl crm setup` for details"
        )


def reason_length(report: SetupReport, source: Source) -> int:
    """The reason field's length for a source (describe's, else the CRM's default)."""
    return report.reason_length(source.name, REASON_LENGTHS.get(source.source_type, 255))
