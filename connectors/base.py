"""The small protocol every CRM connector implements, and the source-neutral frames it yields.

A connector module (`connectors/salesforce.py`, `connectors/hubspot.py`, and any CRM added later)
is discovered by `SOURCE_TYPE` and exposes, besides its connector class:

- `SOURCE_TYPE: str` and `ENV_PREFIX: str` (e.g. "SALESFORCE_": the prefix of its variables);
- `DEFAULT_STAGE_MAPPING: Mapping[str, int]`: open source stage (id or label) -> canonical 1-7;
- `DEFAULT_RETENTION_DEAL_TYPES` and `DEFAULT_RETENTION_PIPELINES`: frozensets of str;
- `DEFAULT_FLAG_FIELDS: Mapping[str, str]`: "flagged", "reason", "since" -> the CRM's field
  names, which `connector_from_env` accepts overridden as the option `flag_fields`;
- `credentials_present(env: Mapping[str, str]) -> bool`;
- `connector_from_env(*, source: str, env: Mapping[str, str], options: Mapping[str, Any])
  -> CrmConnector`, which must not touch the network until a method needs it.

A connector knows one CRM's API and field names. It turns raw payloads into *source-neutral*
frames whose columns are listed here, with values still as the CRM gave them (strings for
amounts and timestamps), so that `transforms` can validate and normalize every CRM the same
way and quarantine what it cannot parse. Nothing here imports Dagster, pandas work aside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pandas as pd

# Columns of the frame `flatten_deals` returns: one row per deal, values as the CRM sent them,
# renamed to neutral names. Types: str | None unless noted.
SOURCE_DEAL_COLUMNS: tuple[str, ...] = (
    "source_id",  # the CRM's own id
    "name",
    "pipeline",  # Salesforce: record type id or "default"; HubSpot: pipeline id
    "source_stage",  # the CRM's stage value as it is (Salesforce StageName, HubSpot dealstage id)
    "amount",  # decimal text in the deal's currency, e.g. "1200.50"; None when empty
    "currency",  # ISO 4217 code; None when the CRM has none (single-currency org)
    "probability",  # decimal text on a 0-1 scale (Salesforce's 0-100 divided at the boundary)
    "forecast_category",  # pipeline / best_case / commit / closed / omitted, or None
    "owner_id",
    "account_id",
    "lead_source",
    "deal_type",  # Salesforce Type, HubSpot dealtype, as the CRM has it
    "created_at",  # ISO-8601 text
    "close_date",  # ISO date or datetime text
    "last_activity_at",  # ISO date or datetime text, or None
    "last_modified_at",  # ISO-8601 text: the CRM's modification stamp
    "is_deleted",  # bool
    "is_closed",  # bool | None, as the record says (the stage catalog decides when it knows)
    "is_won",  # bool | None
    "flag_stale",  # current value of the stale flag field, when the field exists (bool | None)
    "flag_reason",
    "flag_since",
)

# Columns of `stages()`: the CRM's stage catalog, one row per (pipeline, stage).
STAGE_COLUMNS: tuple[str, ...] = (
    "pipeline",  # "default" where the CRM has a single process (Salesforce without record types)
    "pipeline_label",
    "stage_id",  # the value deals carry in `source_stage`
    "label",
    "is_closed",  # bool
    "is_won",  # bool
    "probability",  # decimal text 0-1, or None
    "display_order",  # int
    "is_active",  # bool
)

OWNER_COLUMNS: tuple[str, ...] = ("owner_id", "name", "email", "is_active")
ACCOUNT_COLUMNS: tuple[str, ...] = ("account_id", "name", "industry", "country")

# Columns of `currency_rates()`: ConversionRate semantics of Salesforce CurrencyType: how many
# units of `currency` one unit of the corporate currency buys. Dated rows carry start/next.
RATE_COLUMNS: tuple[str, ...] = (
    "currency",
    "rate",  # decimal text
    "is_corporate",  # bool
    "start_date",  # ISO date or None (None: the current rate)
    "next_start_date",  # ISO date or None
)

# Columns of `flatten_history`: one row per change of a deal's stage, oldest first per deal.
HISTORY_COLUMNS: tuple[str, ...] = (
    "source_id",  # the deal's id
    "source_stage",  # the stage the deal entered
    "changed_at",  # ISO-8601 text: when it entered it
)


@dataclass(frozen=True)
class DealPage:
    """One page of an extract: raw deal payloads and raw stage-history payloads.

    `cursor` is the cursor value that is safe to commit once this page (and every page before
    it) is loaded; None while it may not advance yet (a Bulk API job whose rows come
    unordered commits only at its last page).
    """

    deals: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None


@dataclass(frozen=True)
class Flattener:
    """A connector's pure payload-to-frame functions (`flatten_deals`, `flatten_history`) as
    module-level functions bound to their settings: picklable, so a worker process can flatten
    pages without the connector's sessions."""

    deals: Callable[[Sequence[Mapping[str, Any]]], pd.DataFrame]
    history: Callable[[Sequence[Mapping[str, Any]]], pd.DataFrame]


@dataclass(frozen=True)
class FlagUpdate:
    """Desired values of the flag fields on one deal (the only fields the toolkit writes)."""

    source_id: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class WriteResult:
    """Outcome of one record of a batch write, matched to its input by `source_id`."""

    source_id: str
    success: bool
    error: str | None = None
    retriable: bool = True


class QuotaExhausted(RuntimeError):
    """The CRM's API quota (or the configured share of it) is spent: stop, do not pretend."""


class TruncatedResponse(RuntimeError):
    """A 200 whose body could not be parsed whole: the run must fail, not end early."""


@runtime_checkable
class CrmConnector(Protocol):
    """What the sync needs from a CRM instance. Pages stream; nothing holds a whole CRM."""

    source: str  # the configured instance name, e.g. "salesforce_emea"
    source_type: str  # "salesforce" | "hubspot"
    api_calls: int  # calls made so far by this connector

    def stages(self) -> pd.DataFrame:
        """The stage catalog (STAGE_COLUMNS)."""

    def owners(self) -> pd.DataFrame:
        """Users who may own deals (OWNER_COLUMNS)."""

    def accounts(self) -> Iterator[pd.DataFrame]:
        """Customer companies, a page at a time (ACCOUNT_COLUMNS)."""

    def currency_rates(self) -> pd.DataFrame:
        """Conversion rates (RATE_COLUMNS); empty for a single-currency org."""

    def deals_since(self, cursor: str | None) -> Iterator[DealPage]:
        """Deals changed at or after `cursor` (all deals when None), deleted ones included."""

    def deal_ids(self) -> Iterator[list[str]]:
        """Every id the CRM still has (not deleted), in pages, for the reconciliation pass."""

    def flatten_deals(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Raw deal payloads to the source-neutral frame (SOURCE_DEAL_COLUMNS). Pure."""

    def deal_stamps(
        self, payloads: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str | None, str | None]]:
        """(source_id, last_modified_at text) of each raw deal payload, as `flatten_deals` has
        them: all the extract needs, at a fraction of a full flatten. Pure."""

    def flattener(self) -> Flattener:
        """`flatten_deals` and `flatten_history` in picklable form (for a worker process)."""

    def flatten_history(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Raw stage-history payloads to HISTORY_COLUMNS. Pure."""

    def history_keys(self, payloads: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """(deal id, key) of each raw history payload, so raw history upserts idempotently. Pure."""

    def read_deals(self, source_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Re-read deals by id in batches (raw payloads), for the check before a write."""

    def push_flags(self, updates: Sequence[FlagUpdate]) -> list[WriteResult]:
        """Write flag fields in the CRM's batch endpoints; one result per update."""
