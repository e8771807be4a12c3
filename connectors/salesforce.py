"""The Salesforce connector (simple-salesforce): catalogs, deals, history, flag writes.

Implements `connectors.base.CrmConnector`. Logging in, retries and quota live in
`salesforce_calls`, the deal extract in `salesforce_deals`, flag writes in `salesforce_flags`
and the pure record handling in `salesforce_records`; this module wires them together and
reads the small catalogs (stages, owners, accounts, currency rates).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import pandas as pd
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.base import (
    ACCOUNT_COLUMNS,
    OWNER_COLUMNS,
    RATE_COLUMNS,
    STAGE_COLUMNS,
    DealPage,
    FlagUpdate,
    Flattener,
    WriteResult,
)
from connectors.listed_ids import ListedIds
from connectors.salesforce_calls import SalesforceGateway
from connectors.salesforce_deals import DealReader, OpportunitySchema
from connectors.salesforce_flags import FlagWriter
from connectors.salesforce_query import query_pages, soql
from connectors.salesforce_records import (
    deal_stamp,
    decimal_text,
    flatten_deals,
    flatten_history,
)
from connectors.salesforce_records import percent_to_fraction as _fraction
from connectors.salesforce_settings import SalesforceSettings, credentials_present

__all__ = [
    "DEFAULT_RETENTION_DEAL_TYPES",
    "DEFAULT_RETENTION_PIPELINES",
    "DEFAULT_STAGE_MAPPING",
    "ENV_PREFIX",
    "SOURCE_TYPE",
    "SalesforceConnector",
    "SalesforceSettings",
    "connector_from_env",
    "credentials_present",
]

SOURCE_TYPE = "salesforce"
ENV_PREFIX = "SALESFORCE_"
# Standard sales process (canonical-model.md); closed stages need no row.
DEFAULT_STAGE_MAPPING: Mapping[str, int] = {
    "Prospecting": 1,
    "Qualification": 2,
    "Needs Analysis": 2,
    "Value Proposition": 3,
    "Id. Decision Makers": 3,
    "Perception Analysis": 3,
    "Proposal/Price Quote": 4,
    "Negotiation/Review": 5,
}
DEFAULT_RETENTION_DEAL_TYPES: frozenset[str] = frozenset(
    {
        "Existing Customer - Upgrade",
        "Existing Customer - Replacement",
        "Existing Customer - Downgrade",
        "Renewal",
    }
)
DEFAULT_RETENTION_PIPELINES: frozenset[str] = frozenset()
# The Opportunity custom fields the stale flags are written to (stale-deals.md).
DEFAULT_FLAG_FIELDS: Mapping[str, str] = {
    "flagged": "Pipeline_Stale__c",
    "reason": "Pipeline_Stale_Reason__c",
    "since": "Pipeline_Stale_Since__c",
}


def connector_from_env(
    *, source: str, env: Mapping[str, str], options: Mapping[str, Any]
) -> SalesforceConnector:
    """A connector from SALESFORCE_* variables and configured overrides (no network yet)."""
    return SalesforceConnector(SalesforceSettings.from_env(env, **dict(options)), source=source)


class SalesforceConnector:
    """One Salesforce org as a `CrmConnector`; logs in on first use."""

    source_type = SOURCE_TYPE

    def __init__(self, settings: SalesforceSettings, *, source: str = "salesforce") -> None:
        self.source = source
        self.settings = settings
        self._gateway = SalesforceGateway(settings, source=source)
        self._schema: OpportunitySchema | None = None
        self._listed_ids = ListedIds(max_age_seconds=settings.listed_ids_max_age_seconds)

    def __repr__(self) -> str:
        return f"SalesforceConnector(source={self.source!r}, flow={self.settings.auth_flow!r})"

    @property
    def api_calls(self) -> int:
        """HTTP requests this connector has sent (logins, retries and every page included)."""
        return self._gateway.meter.calls

    # ------------------------------------------------------------------------ describe

    def schema(self) -> OpportunitySchema:
        """Opportunity's fields per describe, read once per connector."""
        if self._schema is None:
            reply = self._gateway.call(
                lambda sf: sf.Opportunity.describe(), what="describing Opportunity"
            )
            self._schema = OpportunitySchema.from_describe(reply)
        return self._schema

    def _deals(self) -> DealReader:
        return DealReader(gateway=self._gateway, settings=self.settings, schema=self.schema())

    def _records(self, query: str, *, what: str) -> Iterator[list[dict[str, Any]]]:
        return query_pages(
            self._gateway,
            query,
            include_deleted=False,
            batch_size=self.settings.page_size,
            what=what,
        )

    # ------------------------------------------------------------------------ catalogs

    def stages(self) -> pd.DataFrame:
        """OpportunityStage as STAGE_COLUMNS, once per record type when the org has them."""
        query = soql(
            "SELECT {fields:literal} FROM OpportunityStage ORDER BY SortOrder",
            fields=(
                "ApiName", "MasterLabel", "IsActive", "IsClosed", "IsWon",
                "DefaultProbability", "SortOrder",
            ),
        )  # fmt: skip
        stages = [row for page in self._records(query, what="the stage catalog") for row in page]
        pipelines = [("default", "Default"), *self._record_types()]
        rows = [
            {
                "pipeline": pipeline,
                "pipeline_label": label,
                "stage_id": stage.get("ApiName") or stage.get("MasterLabel"),
                "label": stage.get("MasterLabel") or stage.get("ApiName"),
                "is_closed": bool(stage.get("IsClosed")),
                "is_won": bool(stage.get("IsWon")),
                "probability": _fraction(stage.get("DefaultProbability")),
                "display_order": int(stage.get("SortOrder") or 0),
                "is_active": bool(stage.get("IsActive", True)),
            }
            for pipeline, label in pipelines
            for stage in stages
        ]
        return pd.DataFrame(rows, columns=list(STAGE_COLUMNS), dtype=object)

    def _record_types(self) -> list[tuple[str, str]]:
        """Opportunity record types (deals carry their id as pipeline), if the org has any."""
        if not self.schema().has("RecordTypeId"):
            return []
        query = soql("SELECT Id, Name FROM RecordType WHERE SobjectType = {}", "Opportunity")
        try:
            return [
                (str(row["Id"]), str(row["Name"]))
                for page in self._records(query, what="the record types")
                for row in page
            ]
        except SalesforceMalformedRequest:  # INVALID_TYPE: RecordType not visible to this user
            return []

    def owners(self) -> pd.DataFrame:
        """Users as OWNER_COLUMNS."""
        query = soql("SELECT Id, Name, Email, IsActive FROM User")
        rows = [
            {
                "owner_id": row.get("Id"),
                "name": row.get("Name"),
                "email": row.get("Email"),
                "is_active": bool(row.get("IsActive")),
            }
            for page in self._records(query, what="the users")
            for row in page
        ]
        return pd.DataFrame(rows, columns=list(OWNER_COLUMNS), dtype=object)

    def accounts(self) -> Iterator[pd.DataFrame]:
        """Accounts as ACCOUNT_COLUMNS, one frame per page."""
        query = soql("SELECT Id, Name, Industry, BillingCountry FROM Account")
        for page in self._records(query, what="the accounts"):
            rows = [
                {
                    "account_id": row.get("Id"),
                    "name": row.get("Name"),
                    "industry": row.get("Industry"),
                    "country": row.get("BillingCountry"),
                }
                for row in page
            ]
            yield pd.DataFrame(rows, columns=list(ACCOUNT_COLUMNS), dtype=object)

    def currency_rates(self) -> pd.DataFrame:
        """CurrencyType (and DatedConversionRate where the org has it); empty if single-currency."""
        if not self.schema().multi_currency:
            return pd.DataFrame(columns=list(RATE_COLUMNS), dtype=object)
        query = soql("SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType")
        current = [row for page in self._records(query, what="the currencies") for row in page]
        corporate = {str(row["IsoCode"]) for row in current if row.get("IsCorporate")}
        rows = [
            {
                "currency": row.get("IsoCode"),
                "rate": decimal_text(row.get("ConversionRate")),
                "is_corporate": bool(row.get("IsCorporate")),
                "start_date": None,
                "next_start_date": None,
            }
            for row in current
        ]
        rows.extend(
            {
                "currency": row.get("IsoCode"),
                "rate": decimal_text(row.get("ConversionRate")),
                "is_corporate": str(row.get("IsoCode")) in corporate,
                "start_date": row.get("StartDate"),
                "next_start_date": row.get("NextStartDate"),
            }
            for row in self._dated_rates()
        )
        return pd.DataFrame(rows, columns=list(RATE_COLUMNS), dtype=object)

    def _dated_rates(self) -> list[dict[str, Any]]:
        query = soql(
            "SELECT IsoCode, ConversionRate, StartDate, NextStartDate FROM DatedConversionRate"
            " ORDER BY IsoCode, StartDate"
        )
        try:
            return [row for page in self._records(query, what="dated rates") for row in page]
        except SalesforceMalformedRequest:  # INVALID_TYPE: no advanced currency management
            return []

    # ------------------------------------------------------------------------ deals

    def deals_since(self, cursor: str | None) -> Iterator[DealPage]:
        """Deals changed at or after `cursor` (less the overlap), deleted ones included.

        A full extract (cursor None) that runs to its end remembers the ids of the deals it
        saw not deleted, so the reconciliation right after it (`deal_ids`) makes no calls.
        """
        pages = self._deals().deals_since(cursor)
        if cursor is not None:
            return pages
        return self._listed_ids.remember(pages, live_ids=_live_ids)

    def deal_ids(self) -> Iterator[list[str]]:
        """Every Opportunity id not deleted, a page at a time.

        Served without calls from a full `deals_since(None)` that ended less than
        `listed_ids_max_age_seconds` ago on this connector (once), else queried.
        """
        listed = self._listed_ids.take()
        if listed is not None:
            return listed.pages(2000)
        return self._deals().deal_ids()

    def read_deals(self, source_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Current records of these deals, in SOQL `IN` chunks."""
        return self._deals().read_deals(source_ids)

    def flatten_deals(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Opportunity payloads to SOURCE_DEAL_COLUMNS (pure)."""
        return self.flattener().deals(payloads)

    def flattener(self) -> Flattener:
        """`flatten_deals` / `flatten_history` as picklable module functions (pure)."""
        return Flattener(
            deals=partial(flatten_deals, flag_fields=dict(self.settings.flag_fields)),
            history=flatten_history,
        )

    def deal_stamps(
        self, payloads: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str | None, str | None]]:
        """(source_id, last_modified_at text) of each Opportunity payload (pure)."""
        return [deal_stamp(payload) for payload in payloads]

    def flatten_history(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """OpportunityHistory payloads to HISTORY_COLUMNS, stage changes only (pure)."""
        return self.flattener().history(payloads)

    def history_keys(self, payloads: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """(OpportunityId, history row Id) of each OpportunityHistory payload (pure)."""
        return [(str(row["OpportunityId"]), str(row["Id"])) for row in payloads]

    def push_flags(self, updates: Sequence[FlagUpdate]) -> list[WriteResult]:
        """Write flag fields (sObject Collections, or Bulk API 2.0 for large batches)."""
        return FlagWriter(gateway=self._gateway, settings=self.settings).push(updates)

    def describe_flag_fields(self) -> dict[str, dict[str, Any] | None]:
        """Describe's entry of each configured flag field by meaning; None where it is missing.

        Read fresh (not the cached schema), so `crm setup` sees fields an admin just created.
        """
        reply = self._gateway.call(
            lambda sf: sf.Opportunity.describe(), what="describing Opportunity's flag fields"
        )
        by_name = {str(f.get("name", "")).lower(): dict(f) for f in reply.get("fields") or []}
        return {
            meaning: by_name.get(name.lower())
            for meaning, name in self.settings.flag_fields.items()
        }

    def client(self) -> Salesforce:
        """The logged-in simple-salesforce client (for the setup command's describe checks)."""
        return self._gateway.client()


def _live_ids(page: DealPage) -> list[str]:
    """Ids of a page's Opportunities that are not deleted (IsDeleted false or absent)."""
    return [str(record["Id"]) for record in page.deals if not record.get("IsDeleted")]
