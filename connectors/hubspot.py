"""The HubSpot connector: deals, stages, owners and companies of one portal; flag writes.

Calls go through `hubspot_transport` (raw JSON, retries, quota, clear errors); deal pages
come from `hubspot_extract` (first-sync listing, windowed search, archived pass); frames from
`hubspot_flatten`; flag writes are encoded and isolated by halving in `hubspot_flags`.
Several portals are several connectors with their own `source` name and settings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pandas as pd

from connectors.base import (
    RATE_COLUMNS,
    DealPage,
    FlagUpdate,
    Flattener,
    WriteResult,
)
from connectors.hubspot_extract import DealExtractor, chunks, next_after
from connectors.hubspot_flags import (
    BatchInput,
    BatchRejected,
    encode_update,
    flag_property_spec,
    write_in_halves,
)
from connectors.hubspot_flatten import (
    account_frame,
    deal_stamp,
    flatten_deals,
    flatten_history,
    owner_frame,
    owner_row,
    stage_rows,
)
from connectors.hubspot_properties import select_deal_properties
from connectors.hubspot_settings import TOKEN_VARIABLE, HubSpotSettings
from connectors.hubspot_transport import HubSpotApiError, HubSpotTransport, Reply
from connectors.hubspot_windows import EPOCH
from connectors.listed_ids import ListedIds

logger = logging.getLogger(__name__)

SOURCE_TYPE = "hubspot"
ENV_PREFIX = "HUBSPOT_"
# HubSpot default sales pipeline (canonical-model.md); closed stages need no row.
DEFAULT_STAGE_MAPPING: Mapping[str, int] = {
    "appointmentscheduled": 2,
    "qualifiedtobuy": 2,
    "presentationscheduled": 3,
    "decisionmakerboughtin": 5,
    "contractsent": 6,
}
DEFAULT_RETENTION_DEAL_TYPES: frozenset[str] = frozenset({"existingbusiness"})
DEFAULT_RETENTION_PIPELINES: frozenset[str] = frozenset()
# The deal properties the stale flags are written to (stale-deals.md).
DEFAULT_FLAG_FIELDS: Mapping[str, str] = {
    "flagged": "pipeline_stale",
    "reason": "pipeline_stale_reason",
    "since": "pipeline_stale_since",
}
ACCOUNT_PROPERTIES = ["name", "industry", "country"]
REJECTED_BATCH_STATUSES = frozenset({400, 404, 409, 422})


def credentials_present(env: Mapping[str, str]) -> bool:
    """Whether the environment holds a HubSpot access token."""
    return bool((env.get(TOKEN_VARIABLE) or "").strip())


def connector_from_env(
    *, source: str, env: Mapping[str, str], options: Mapping[str, Any]
) -> HubSpotConnector:
    """A connector from HUBSPOT_* variables and configured overrides (no network yet)."""
    return HubSpotConnector(HubSpotSettings.from_env(env, **dict(options)), source=source)


class HubSpotConnector:
    """`connectors.base.CrmConnector` for one HubSpot portal (private app token)."""

    source_type = SOURCE_TYPE

    def __init__(self, settings: HubSpotSettings, *, source: str = "hubspot") -> None:
        self.source = source
        self.settings = settings
        self._transport = HubSpotTransport(settings, source=source)
        self._properties: list[str] | None = None
        self._deals = DealExtractor(
            call=self._call, settings=settings, properties=self.deal_properties
        )
        self._listed_ids = ListedIds(max_age_seconds=settings.listed_ids_max_age_seconds)

    def __repr__(self) -> str:
        return f"HubSpotConnector(source={self.source!r}, base_url={self.settings.base_url!r})"

    @property
    def api_calls(self) -> int:
        """HTTP requests made so far (retries included: each one counts against the quota)."""
        return self._transport.api_calls

    def _call(self, op: str, api: str, method: str, **kwargs: Any) -> Reply:
        bound = getattr(self._transport.api(api), method)
        return self._transport.call(op, bound, **kwargs)

    def _now_ms(self) -> int:
        return (datetime.now(UTC) - EPOCH) // timedelta(milliseconds=1)

    # ------------------------------------------------------------------ catalogs
    def stages(self) -> pd.DataFrame:
        """The deal pipelines' stages (STAGE_COLUMNS)."""
        reply = self._call(
            "read deal pipelines", "crm.pipelines.pipelines_api", "get_all", object_type="deals"
        )
        return stage_rows(reply.body["results"])

    def owners(self) -> pd.DataFrame:
        """Active and archived owners (OWNER_COLUMNS); archived ones are inactive."""
        rows: dict[str, dict[str, Any]] = {}
        for archived in (False, True):
            after: str | None = None
            while True:
                reply = self._call(
                    "list owners",
                    "crm.owners.owners_api",
                    "get_page",
                    limit=self.settings.owners_page_size,
                    after=after,
                    archived=archived,
                )
                for owner in reply.body["results"]:
                    row = owner_row(owner, active=not archived)
                    rows.setdefault(row["owner_id"], row)
                after = next_after(reply.body)
                if after is None:
                    break
        return owner_frame(list(rows.values()))

    def accounts(self) -> Iterator[pd.DataFrame]:
        """Companies, a page at a time (ACCOUNT_COLUMNS)."""
        after: str | None = None
        while True:
            reply = self._call(
                "list companies",
                "crm.companies.basic_api",
                "get_page",
                limit=self.settings.list_page_size,
                after=after,
                properties=ACCOUNT_PROPERTIES,
                archived=False,
            )
            yield account_frame(reply.body["results"])
            after = next_after(reply.body)
            if after is None:
                return

    def currency_rates(self) -> pd.DataFrame:
        """Empty: HubSpot's currency API is out of scope; rates come from configuration."""
        return pd.DataFrame(columns=list(RATE_COLUMNS), dtype=object)

    def deal_properties(self) -> list[str]:
        """The deal properties a sync requests (the properties API is read once)."""
        if self._properties is None:
            available: set[str] | None
            try:
                reply = self._call(
                    "read deal properties",
                    "crm.properties.core_api",
                    "get_all",
                    object_type="deals",
                    archived=False,
                )
                available = {str(p.get("name")) for p in reply.body["results"]}
            except HubSpotApiError as exc:
                if exc.status != 403:
                    raise
                logger.warning("%s: cannot read deal properties (%s)", self.source, exc)
                available = None
            self._properties = select_deal_properties(
                available, flag_properties=self.settings.flag_properties.values()
            )
        return self._properties

    def flag_property_definitions(self) -> dict[str, dict[str, Any] | None]:
        """The portal's definition of each flag property by neutral name; None where missing."""
        reply = self._call(
            "read deal properties",
            "crm.properties.core_api",
            "get_all",
            object_type="deals",
            archived=False,
        )
        by_name = {str(p.get("name")): p for p in reply.body["results"]}
        return {
            neutral: by_name.get(name) for neutral, name in self.settings.flag_properties.items()
        }

    def create_flag_property(self, neutral: str) -> dict[str, Any]:
        """Create one flag property (bool checkbox, text or date) under its configured name."""
        spec = flag_property_spec(neutral, self.settings.flag_properties[neutral])
        reply = self._call(
            "create deal property",
            "crm.properties.core_api",
            "create",
            expect_results=False,
            object_type="deals",
            property_create=spec,
        )
        self._properties = None  # the next sync asks for the new property
        return reply.body

    # ------------------------------------------------------------------ deals
    def deals_since(self, cursor: str | None) -> Iterator[DealPage]:
        """Deals changed at or after `cursor` (all when None), archived ones marked deleted.

        A full listing (cursor None) that runs to its end remembers the live ids it saw, so
        the reconciliation right after it (`deal_ids`) needs no second listing.
        """
        pages = self._deals.deals_since(cursor, started_ms=self._now_ms())
        if cursor is not None:
            return pages
        return self._listed_ids.remember(
            pages, live_ids=lambda page: [str(d["id"]) for d in page.deals if not d.get("archived")]
        )

    def deal_ids(self) -> Iterator[list[str]]:
        """Every deal id HubSpot still has (not archived), a page at a time.

        Served without calls from a full `deals_since(None)` listing that ended less than
        `listed_ids_max_age_seconds` ago on this connector (once), else listed (100 a page).
        """
        listed = self._listed_ids.take()
        if listed is not None:
            yield from listed.pages(self.settings.list_page_size)
            return
        for results in self._deals.id_pages(archived=False):
            yield [str(d["id"]) for d in results]

    def read_deals(self, source_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Re-read deals by id (100 a call), for the check before a flag write."""
        return self._deals.batch_read(source_ids, properties=self.deal_properties())

    def flatten_deals(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Raw deal payloads to SOURCE_DEAL_COLUMNS. Pure."""
        return self.flattener().deals(payloads)

    def flatten_history(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Deal or history payloads to HISTORY_COLUMNS, oldest first per deal. Pure."""
        return self.flattener().history(payloads)

    def flattener(self) -> Flattener:
        """`flatten_deals` / `flatten_history` as picklable module functions (pure)."""
        return Flattener(
            deals=partial(flatten_deals, flag_properties=dict(self.settings.flag_properties)),
            history=flatten_history,
        )

    def deal_stamps(
        self, payloads: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str | None, str | None]]:
        """(source_id, last_modified_at text) of each deal payload (pure)."""
        return [deal_stamp(payload) for payload in payloads]

    def history_keys(self, payloads: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """(deal id, "dealstage"): a deal's history payload holds its whole dealstage history."""
        return [(str(payload["id"]), "dealstage") for payload in payloads]

    # ------------------------------------------------------------------ writes
    def push_flags(self, updates: Sequence[FlagUpdate]) -> list[WriteResult]:
        """Write flag properties by batch update, 100 a call, isolating rejected records."""
        results: dict[int, WriteResult] = {}
        inputs: list[tuple[int, BatchInput]] = []
        for position, update in enumerate(updates):
            try:
                encoded = encode_update(update, flag_properties=self.settings.flag_properties)
            except ValueError as exc:
                results[position] = WriteResult(update.source_id, False, str(exc), False)
                continue
            inputs.append((position, encoded))
        for chunk in chunks(inputs, self.settings.batch_size):
            written = write_in_halves([item for _, item in chunk], self._send_flag_batch)
            for (position, _), result in zip(chunk, written, strict=True):
                results[position] = result
        return [results[i] for i in range(len(updates))]

    def _send_flag_batch(self, batch: Sequence[BatchInput]) -> dict[str, str | None]:
        try:
            reply = self._call(
                "batch update deal flags",
                "crm.deals.batch_api",
                "update",
                expect_results=False,
                batch_input_simple_public_object_batch_input={
                    "inputs": [item.as_json() for item in batch]
                },
            )
        except HubSpotApiError as exc:
            if exc.status in REJECTED_BATCH_STATUSES:
                category = exc.category or f"HTTP {exc.status}"
                raise BatchRejected(f"{category}: {exc.body.get('message', '')}") from exc
            raise
        errors: dict[str, str | None] = {}
        for error in reply.body.get("errors") or []:
            message = f"{error.get('category', 'error')}: {error.get('message', '')}"
            for deal_id in (error.get("context") or {}).get("ids") or []:
                errors[str(deal_id)] = message
        return errors
