"""normalize_deals: canonical deals, statuses, stages, money, time, quarantine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from connectors.base import SOURCE_DEAL_COLUMNS
from transforms.currency import CurrencyRates
from transforms.dtypes import DATE, MONEY, PROBABILITY
from transforms.normalize import (
    DEAL_COLUMNS,
    QUARANTINE_COLUMNS,
    NormalizedDeals,
    normalize_deals,
    unmapped_stage_summary,
)
from transforms.retention import RetentionRules
from transforms.stage_history import build_stays
from transforms.stage_mapping import build_stage_map

SF_DEFAULTS = {
    "Prospecting": 1,
    "Qualification": 2,
    "Needs Analysis": 2,
    "Value Proposition": 3,
    "Id. Decision Makers": 3,
    "Perception Analysis": 3,
    "Proposal/Price Quote": 4,
    "Negotiation/Review": 5,
}
CATALOG = pd.DataFrame(
    [
        {"pipeline": "default", "stage_id": s, "label": s, "is_closed": c, "is_won": w}
        for s, c, w in [
            *((s, False, False) for s in SF_DEFAULTS),
            ("Closed Won", True, True),
            ("Closed Lost", True, False),
            ("Closed - No Budget", True, False),
            ("Foo", False, False),
        ]
    ]
)
STAGE_MAP = build_stage_map(catalog=CATALOG, defaults=SF_DEFAULTS)
# Salesforce's default retention deal types, copied from canonical-model.md.
SALESFORCE_RETENTION_DEAL_TYPES = (
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "Renewal",
)
RETENTION = RetentionRules.of(pipelines=["renewals"], deal_types=SALESFORCE_RETENTION_DEAL_TYPES)
RATES = CurrencyRates.build(
    reporting_currency="USD",
    rate_frame=pd.DataFrame(
        {
            "currency": ["USD", "EUR", "EUR"],
            "rate": ["1", "0.8", "0.9"],
            "is_corporate": [True, False, False],
            "start_date": [None, None, "2026-01-01"],
            "next_start_date": [None, None, "2026-04-01"],
        }
    ),
)
OWNERS = pd.DataFrame(
    {
        "owner_id": ["005A", "005B"],
        "name": ["Ann Lee", "Bo Chan"],
        "email": [" Ann.Lee@Example.COM", "bo@example.com"],
        "is_active": [True, True],
    }
)
ACCOUNTS = pd.DataFrame(
    {"account_id": ["001X"], "name": ["Acme"], "industry": [None], "country": [None]}
)


def deal(source_id: str | None = "006A", **fields: Any) -> dict[str, Any]:
    """A source-neutral deal row: an open Qualification deal unless fields say otherwise."""
    row: dict[str, Any] = {
        "source_id": source_id,
        "name": "Deal",
        "pipeline": "default",
        "source_stage": "Qualification",
        "amount": "1200.50",
        "currency": "USD",
        "probability": "0.2",
        "forecast_category": "Best Case",
        "owner_id": "005A",
        "account_id": "001X",
        "lead_source": "Web",
        "deal_type": "New Customer",
        "created_at": "2026-05-01T09:00:00.000+0000",
        "close_date": "2026-07-31",
        "last_activity_at": "2026-05-20",
        "last_modified_at": "2026-05-21T10:00:00Z",
        "is_deleted": False,
        "is_closed": False,
        "is_won": False,
        "flag_stale": None,
        "flag_reason": None,
        "flag_since": None,
    }
    row.update(fields)
    return row


def run(
    rows: list[dict[str, Any]],
    history: list[tuple[str, str, str]] | None = None,
    **kwargs: Any,
) -> NormalizedDeals:
    """normalize_deals over rows (and their history, through build_stays) for source "sf"."""
    deals = pd.DataFrame(rows, columns=list(SOURCE_DEAL_COLUMNS))
    stays = None
    if history is not None:
        stays = build_stays(
            history=pd.DataFrame(history, columns=["source_id", "source_stage", "changed_at"]),
            deals=deals,
            stage_map=STAGE_MAP,
            retention=RETENTION,
            source="sf",
        )
    options: dict[str, Any] = {
        "deals": deals,
        "source": "sf",
        "source_type": "salesforce",
        "stage_map": STAGE_MAP,
        "owners": OWNERS,
        "accounts": ACCOUNTS,
        "rates": RATES,
        "retention": RETENTION,
        "default_currency": "USD",
        "history_stays": stays,
    }
    options.update(kwargs)
    return normalize_deals(**options)


def one(result: NormalizedDeals, source_id: str = "006A") -> pd.Series:
    """The normalized row of one deal."""
    rows = result.deals[result.deals["source_id"] == source_id]
    assert len(rows) == 1, result.quarantine
    return rows.iloc[0]


UTC = pd.Timestamp


def test_open_deal_all_fields_and_dtypes() -> None:
    result = run(
        [deal(currency=None)],
        history=[
            ("006A", "Prospecting", "2026-05-01T09:00:00Z"),
            ("006A", "Qualification", "2026-05-10T00:00:00.000+0000"),
        ],
    )
    assert tuple(result.deals.columns) == DEAL_COLUMNS
    assert result.quarantine.empty
    assert tuple(result.quarantine.columns) == QUARANTINE_COLUMNS
    row = one(result)
    assert row["deal_key"] == "sf:006A"
    assert (row["source"], row["source_type"]) == ("sf", "salesforce")
    assert (row["stage_number"], row["stage"], row["status"]) == (2, "qualification", "open")
    assert row["motion"] == "new_business"
    assert row["amount"] == Decimal("1200.5")
    assert row["currency"] == "USD"  # the instance default
    assert row["amount_reporting"] == Decimal("1200.5")
    assert row["probability"] == Decimal("0.2")
    assert row["forecast_category"] == "best_case"
    assert (row["owner_name"], row["owner_email"]) == ("Ann Lee", "ann.lee@example.com")
    assert row["account_name"] == "Acme"
    assert (row["lead_source"], row["lead_channel"]) == ("Web", "inbound")
    assert row["created_at"] == UTC("2026-05-01T09:00:00Z")
    assert row["close_date"] == date(2026, 7, 31)
    assert pd.isna(row["closed_at"]) and pd.isna(row["closed_at_source"])
    assert row["stage_entered_at"] == UTC("2026-05-10T00:00:00Z")
    assert row["last_activity_at"] == UTC("2026-05-20T00:00:00Z")
    assert row["last_modified_at"] == UTC("2026-05-21T10:00:00Z")
    assert not row["is_deleted"]
    dtypes = result.deals.dtypes
    assert dtypes["amount"] == MONEY and dtypes["amount_reporting"] == MONEY
    assert dtypes["probability"] == PROBABILITY
    assert dtypes["close_date"] == DATE and dtypes["flag_since"] == DATE
    for column in ("created_at", "closed_at", "stage_entered_at", "last_modified_at"):
        assert str(dtypes[column]) == "datetime64[us, UTC]"
    assert str(dtypes["stage_number"]) == "Int64"
    assert str(dtypes["is_deleted"]) == "bool"


def test_won_new_business_ends_at_six_with_closed_at_from_history() -> None:
    result = run(
        [deal(source_stage="Closed Won", is_closed=True, is_won=True, probability="0.9")],
        history=[
            ("006A", "Qualification", "2026-05-01T00:00:00Z"),
            ("006A", "Negotiation/Review", "2026-05-05T00:00:00Z"),
            ("006A", "Closed Won", "2026-06-10T15:30:00Z"),
        ],
    )
    row = one(result)
    assert (row["stage_number"], row["stage"], row["status"]) == (6, "closing", "won")
    assert row["probability"] == Decimal("1")
    assert row["closed_at"] == UTC("2026-06-10T15:30:00Z")
    assert row["closed_at_source"] == "history"
    assert row["stage_entered_at"] == row["closed_at"]


def test_lost_deal_keeps_highest_stage_reached() -> None:
    result = run(
        [deal(source_stage="Closed Lost", is_closed=True, probability="0.1")],
        history=[
            ("006A", "Qualification", "2026-05-01T00:00:00Z"),
            ("006A", "Proposal/Price Quote", "2026-05-05T00:00:00Z"),
            ("006A", "Needs Analysis", "2026-05-08T00:00:00Z"),
            ("006A", "Closed Lost", "2026-05-09T00:00:00Z"),
        ],
    )
    row = one(result)
    assert (row["stage_number"], row["stage"], row["status"]) == (4, "proposal", "lost")
    assert row["probability"] == Decimal("0")
    assert row["closed_at"] == UTC("2026-05-09T00:00:00Z")


def test_lost_without_history_has_no_stage_and_closes_on_close_date() -> None:
    result = run([deal(source_stage="Closed - No Budget", close_date="2026-06-20")], history=[])
    row = one(result)
    assert row["status"] == "lost"  # from the catalog's flags, whatever the record says
    assert pd.isna(row["stage_number"]) and pd.isna(row["stage"])
    assert row["closed_at"] == UTC("2026-06-20T00:00:00Z")
    assert row["closed_at_source"] == "close_date"
    assert row["stage_entered_at"] == row["closed_at"]


def test_retention_deals_are_at_seven() -> None:
    rows = [
        deal("R1", deal_type="Renewal"),
        deal("R2", deal_type="existing customer - upgrade", source_stage="Closed Won"),
        deal("R3", pipeline="renewals", source_stage="Prospecting"),
        deal("R4", deal_type="Renewal", source_stage="Foo"),  # unmapped, but retention
        deal("R5", deal_type="Renewal", source_stage="Closed Lost"),
    ]
    cat = pd.concat([CATALOG, CATALOG.assign(pipeline="renewals")])
    result = run(rows, stage_map=build_stage_map(catalog=cat, defaults=SF_DEFAULTS))
    assert result.quarantine.empty, result.quarantine
    got = result.deals.set_index("source_id")[["stage_number", "stage", "status", "motion"]]
    assert got.values.tolist() == [
        [7, "retention", "open", "retention"],
        [7, "retention", "won", "retention"],
        [7, "retention", "open", "retention"],
        [7, "retention", "open", "retention"],
        [7, "retention", "lost", "retention"],
    ]


def test_reopened_deal_has_no_closed_at() -> None:
    result = run(
        [deal(source_stage="Value Proposition")],
        history=[
            ("006A", "Value Proposition", "2026-05-01T00:00:00Z"),
            ("006A", "Closed Lost", "2026-05-05T00:00:00Z"),
            ("006A", "Value Proposition", "2026-05-12T00:00:00Z"),
        ],
    )
    row = one(result)
    assert (row["stage_number"], row["status"]) == (3, "open")
    assert pd.isna(row["closed_at"]) and pd.isna(row["closed_at_source"])
    assert row["stage_entered_at"] == UTC("2026-05-12T00:00:00Z")


def test_stage_entered_at_null_when_history_is_behind() -> None:
    result = run(
        [deal(source_stage="Negotiation/Review")],
        history=[("006A", "Qualification", "2026-05-01T00:00:00Z")],
    )
    row = one(result)
    assert row["stage_number"] == 5
    assert pd.isna(row["stage_entered_at"])


def test_record_flags_decide_when_catalog_lacks_the_stage() -> None:
    rows = [
        deal("W", source_stage="Signed (legacy)", is_closed=True, is_won=True),
        deal("L", source_stage="Dead (legacy)", is_closed="true", is_won="false"),
        deal("O", source_stage="Legacy open", is_closed=False),
    ]
    result = run(rows)
    assert result.deals.set_index("source_id")["status"].to_dict() == {"W": "won", "L": "lost"}
    assert result.quarantine["reason"].tolist() == [
        "unmapped stage 'Legacy open' in pipeline 'default'"
    ]


def test_probability_forms() -> None:
    rows = [
        deal("H", probability="0.200000000000000011102230246251565404236316680908203125"),
        deal("S", probability="0.755"),  # Salesforce 75.5 divided by the connector
        deal("E", probability="0.00015"),
        deal("N", probability=None),
    ]
    got = run(rows).deals.set_index("source_id")["probability"]
    assert got["H"] == Decimal("0.2") and got["S"] == Decimal("0.755")
    assert got["E"] == Decimal("0.0002")
    assert pd.isna(got["N"])


def test_each_quarantine_reason_and_the_rest_still_loads() -> None:
    rows = [
        deal("good"),
        deal(None),
        deal("amt", amount="abc"),
        deal("cd", close_date="2026-13-45"),
        deal("cur", currency="US1"),
        deal("stg", source_stage="Foo"),
        deal("nostage", source_stage=None),
        deal("prob", probability="20"),
        deal("ts", created_at="yesterday"),
        deal("mod", last_modified_at=None),
        deal("many", amount="1.2.3", source_stage="Foo"),
        deal("money", amount="0.1", currency="JPY"),  # well-formed code, no rate: loads
    ]
    result = run(rows)
    reasons = dict(
        zip(
            result.quarantine["source_id"].fillna("<none>"),
            result.quarantine["reason"],
            strict=True,
        )
    )
    assert reasons == {
        "<none>": "missing id",
        "amt": "unparseable amount 'abc'",
        "cd": "unparseable close_date '2026-13-45'",
        "cur": "unknown currency 'US1'",
        "stg": "unmapped stage 'Foo' in pipeline 'default'",
        "nostage": "unmapped stage (missing) in pipeline 'default'",
        "prob": "probability '20' is not a number from 0 to 1",
        "ts": "unparseable created_at 'yesterday'",
        "mod": "missing last_modified_at",
        "many": "unparseable amount '1.2.3'; unmapped stage 'Foo' in pipeline 'default'",
    }
    assert sorted(result.deals["source_id"]) == ["good", "money"]
    money = one(result, "money")
    assert money["amount"] == Decimal("0.1") and pd.isna(money["amount_reporting"])
    assert result.quarantine.set_index("source_id")["raw_index"]["amt"] == 2
    assert result.quarantine["unmapped_stage"].sum() == 3


def test_deleted_deals_never_quarantine_for_unmapped_stage() -> None:
    rows = [
        deal("D1", source_stage="Foo", is_deleted=True),
        deal("D2", source_stage="Gone", is_deleted="true", is_closed=None),
    ]
    result = run(rows, history=[("D1", "Proposal/Price Quote", "2026-05-01T00:00:00Z")])
    assert result.quarantine.empty
    got = result.deals.set_index("source_id")
    assert got.loc["D1", "stage_number"] == 4 and bool(got.loc["D1", "is_deleted"])
    assert got.loc["D1", "stage_entered_at"] == UTC("2026-05-01T00:00:00Z")
    assert pd.isna(got.loc["D2", "stage_number"]) and bool(got.loc["D2", "is_deleted"])


def test_unmapped_stage_summary_names_stage_pipeline_and_count() -> None:
    rows = [
        deal("a", source_stage="Foo"),
        deal("b", source_stage="Foo"),
        deal("c", source_stage="Bar", pipeline="p2"),
        deal("d", amount="x"),
    ]
    summary = unmapped_stage_summary(run(rows).quarantine)
    assert summary.values.tolist() == [["default", "Foo", 2], ["p2", "Bar", 1]]
    assert list(summary.columns) == ["pipeline", "source_stage", "deals"]


def test_currency_conversion_of_open_and_closed_deals() -> None:
    rows = [
        deal("open", amount="100", currency="eur"),
        deal(
            "closed",
            amount="90",
            currency="EUR",
            source_stage="Closed Won",
            close_date="2026-02-10",
        ),
    ]
    got = run(rows).deals.set_index("source_id")
    assert got.loc["open", "currency"] == "EUR"
    assert got.loc["open", "amount_reporting"] == Decimal("125")  # 100 / 0.8, current
    assert got.loc["closed", "amount_reporting"] == Decimal("100")  # 90 / 0.9, dated
    configured = CurrencyRates.build(reporting_currency="USD", configured={"EUR": "1.08"})
    got = run(rows, rates=configured).deals.set_index("source_id")
    assert got.loc["open", "amount_reporting"] == Decimal("108")


def test_latest_version_of_a_duplicated_id_wins() -> None:
    rows = [
        deal("X", name="new", last_modified_at="2026-05-22T00:00:00Z"),
        deal("X", name="old", last_modified_at="2026-05-21T00:00:00Z"),
    ]
    result = run(rows)
    assert result.deals["name"].tolist() == ["new"]


def test_owner_email_overrides_by_id_or_email() -> None:
    rows = [deal("a", owner_id="005A"), deal("b", owner_id="005B"), deal("c", owner_id="005Z")]
    result = run(
        rows, owner_email_overrides={"005A": "Ann@Corp.com", "BO@example.com": "bo@corp.com"}
    )
    got = result.deals.set_index("source_id")["owner_email"]
    assert got["a"] == "ann@corp.com" and got["b"] == "bo@corp.com" and pd.isna(got["c"])


def test_lead_channel_uses_configured_mapping() -> None:
    rows = [deal("a", lead_source="Trade Show"), deal("b", lead_source=None)]
    got = run(rows, lead_channels={"Trade Show": "outbound"}).deals["lead_channel"]
    assert got.tolist() == ["outbound", "unknown"]


def test_flag_fields_pass_through() -> None:
    rows = [
        deal(flag_stale=True, flag_reason="stuck", flag_since="2026-05-01"),
        deal("bad", flag_since="soon"),
    ]
    result = run(rows)
    row = one(result)
    assert (bool(row["flag_stale"]), row["flag_reason"]) == (True, "stuck")
    assert row["flag_since"] == date(2026, 5, 1)
    assert result.quarantine["reason"].tolist() == ["unparseable flag_since 'soon'"]


def test_missing_columns_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="lacks columns: amount"):
        run([deal()], deals=pd.DataFrame([deal()]).drop(columns=["amount"]))


def test_empty_frame_gives_typed_empty_frames() -> None:
    result = run([], history=[])
    assert result.deals.empty and result.quarantine.empty
    assert tuple(result.deals.columns) == DEAL_COLUMNS
    assert result.deals.dtypes["amount"] == MONEY
