"""Pure tests of the Salesforce record handling: flatten, history, Bulk CSV, cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base import HISTORY_COLUMNS, SOURCE_DEAL_COLUMNS, TruncatedResponse
from connectors.salesforce_records import (
    DealCursor,
    decimal_text,
    flatten_deals,
    flatten_history,
    forecast_category,
    latest_cursor,
    parse_timestamp,
    percent_to_fraction,
    records_from_csv,
)

FLAGS = {
    "flagged": "Pipeline_Stale__c",
    "reason": "Pipeline_Stale_Reason__c",
    "since": "Pipeline_Stale_Since__c",
}

REST_RECORD = {
    "attributes": {"type": "Opportunity", "url": "/services/data/v59.0/sobjects/Opportunity/x"},
    "Id": "006000000000001AAA",
    "Name": "Acme renewal",
    "StageName": "Proposal/Price Quote",
    "Amount": Decimal("1200.50"),
    "CurrencyIsoCode": "EUR",
    "Probability": Decimal("75"),
    "ForecastCategoryName": "Best Case",
    "OwnerId": "005000000000001AAA",
    "AccountId": "001000000000001AAA",
    "LeadSource": "Web",
    "Type": "Renewal",
    "CreatedDate": "2026-05-01T09:00:00.000+0000",
    "CloseDate": "2026-07-31",
    "LastActivityDate": None,
    "LastModifiedDate": "2026-05-20T10:00:00.000+0000",
    "SystemModstamp": "2026-05-20T10:00:01.000+0000",
    "IsDeleted": False,
    "IsClosed": False,
    "IsWon": False,
    "Pipeline_Stale__c": True,
    "Pipeline_Stale_Reason__c": "no_activity: 40 days",
    "Pipeline_Stale_Since__c": "2026-05-10",
}


def test_flatten_deals_maps_every_column() -> None:
    frame = flatten_deals([REST_RECORD], flag_fields=FLAGS)
    assert tuple(frame.columns) == SOURCE_DEAL_COLUMNS
    row = frame.iloc[0].to_dict()
    assert row == {
        "source_id": "006000000000001AAA",
        "name": "Acme renewal",
        "pipeline": "default",
        "source_stage": "Proposal/Price Quote",
        "amount": "1200.50",
        "currency": "EUR",
        "probability": "0.75",
        "forecast_category": "best_case",
        "owner_id": "005000000000001AAA",
        "account_id": "001000000000001AAA",
        "lead_source": "Web",
        "deal_type": "Renewal",
        "created_at": "2026-05-01T09:00:00.000+0000",
        "close_date": "2026-07-31",
        "last_activity_at": None,
        "last_modified_at": "2026-05-20T10:00:00.000+0000",
        "is_deleted": False,
        "is_closed": False,
        "is_won": False,
        "flag_stale": True,
        "flag_reason": "no_activity: 40 days",
        "flag_since": "2026-05-10",
    }


def test_flatten_deals_single_currency_and_no_flag_fields() -> None:
    record = {
        k: v
        for k, v in REST_RECORD.items()
        if k != "CurrencyIsoCode" and not k.startswith("Pipeline_")
    }
    record["RecordTypeId"] = "012000000000001AAA"
    row = flatten_deals([record], flag_fields=FLAGS).iloc[0]
    assert row["currency"] is None
    assert row["pipeline"] == "012000000000001AAA"
    assert row["flag_stale"] is None and row["flag_reason"] is None and row["flag_since"] is None


def test_flatten_deals_empty_input_keeps_columns() -> None:
    frame = flatten_deals([], flag_fields=FLAGS)
    assert frame.empty and tuple(frame.columns) == SOURCE_DEAL_COLUMNS


def test_flatten_deals_deleted_and_null_amount() -> None:
    record = REST_RECORD | {"IsDeleted": True, "Amount": None, "Probability": None}
    row = flatten_deals([record], flag_fields=FLAGS).iloc[0]
    assert row["is_deleted"] is True
    assert row["amount"] is None and row["probability"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("10"), "0.1"),
        (Decimal("75.0"), "0.75"),
        (Decimal("100"), "1"),
        (Decimal("0"), "0"),
        (Decimal("33.3"), "0.333"),
        (10, "0.1"),
        (0.1, "0.001"),  # a float is read through its shortest repr, never multiplied
        ("90", "0.9"),
        (None, None),
    ],
)
def test_percent_to_fraction(value: object, expected: str | None) -> None:
    assert percent_to_fraction(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("15000.0"), "15000.0"),
        (Decimal("1E+3"), "1000"),
        (1200.5, "1200.5"),
        ("", None),
        (None, None),
    ],
)
def test_decimal_text(value: object, expected: str | None) -> None:
    assert decimal_text(value) == expected


def test_decimal_text_refuses_bool() -> None:
    with pytest.raises(ValueError, match="not a number"):
        decimal_text(True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Pipeline", "pipeline"),
        ("Best Case", "best_case"),
        ("Commit", "commit"),
        ("Closed", "closed"),
        ("Omitted", "omitted"),
        ("Most Likely", "most_likely"),
        (None, None),
    ],
)
def test_forecast_category(value: str | None, expected: str | None) -> None:
    assert forecast_category(value) == expected


def _row(deal: str, stage: str, at: str) -> dict[str, str]:
    return {"OpportunityId": deal, "StageName": stage, "CreatedDate": at}


def _change(deal: str, stage: str, at: str) -> dict[str, str]:
    return {"source_id": deal, "source_stage": stage, "changed_at": at}


def test_flatten_history_keeps_stage_changes_only() -> None:
    day = "2026-05-0{}T00:00:00.000+0000".format
    rows = [  # out of order on purpose; the amount-only change (same stage) is dropped
        _row("006A", "Qualification", day(3)),
        _row("006A", "Prospecting", day(1)),
        _row("006A", "Prospecting", day(2)),
        _row("006B", "Prospecting", "2026-05-01T00:00:00.000Z"),
        _row("006A", "Prospecting", day(4)),
    ]
    frame = flatten_history(rows)
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert frame.to_dict("records") == [
        _change("006A", "Prospecting", day(1)),
        _change("006A", "Qualification", day(3)),
        _change("006A", "Prospecting", day(4)),
        _change("006B", "Prospecting", "2026-05-01T00:00:00.000Z"),
    ]


def test_flatten_history_orders_by_instant_not_text() -> None:
    # 09:00+0200 is 07:00 UTC: earlier than 08:00Z although its text sorts later.
    rows = [
        {"OpportunityId": "006A", "StageName": "B", "CreatedDate": "2026-05-01T08:00:00.000Z"},
        {"OpportunityId": "006A", "StageName": "A", "CreatedDate": "2026-05-01T09:00:00.000+0200"},
    ]
    assert list(flatten_history(rows)["source_stage"]) == ["A", "B"]


def test_flatten_history_empty() -> None:
    assert tuple(flatten_history([]).columns) == HISTORY_COLUMNS


FIELD_TYPES = {
    "Id": "id",
    "Amount": "currency",
    "Probability": "percent",
    "IsDeleted": "boolean",
    "SystemModstamp": "datetime",
    "CloseDate": "date",
    "Name": "string",
}


def test_records_from_csv_matches_rest_shape() -> None:
    text = (
        '"Name","Id","Amount","Probability","IsDeleted","SystemModstamp","CloseDate"\n'
        '"Big, deal","006A","1200.50","75","true","2026-05-01T12:00:00.000Z","2026-07-31"\n'
        '"","006B","","","false","2026-05-01T12:00:01.000Z",""\n'
    )
    records = records_from_csv(text, field_types=FIELD_TYPES, expected=2, sobject="Opportunity")
    assert records == [
        {
            "attributes": {"type": "Opportunity"},
            "Name": "Big, deal",
            "Id": "006A",
            "Amount": Decimal("1200.50"),
            "Probability": Decimal("75"),
            "IsDeleted": True,
            "SystemModstamp": "2026-05-01T12:00:00.000+0000",
            "CloseDate": "2026-07-31",
        },
        {
            "attributes": {"type": "Opportunity"},
            "Name": None,
            "Id": "006B",
            "Amount": None,
            "Probability": None,
            "IsDeleted": False,
            "SystemModstamp": "2026-05-01T12:00:01.000+0000",
            "CloseDate": None,
        },
    ]
    row = flatten_deals(records, flag_fields=FLAGS).iloc[0]
    assert row["amount"] == "1200.50" and row["probability"] == "0.75"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Id","Amount"\n"006A","12"\n"006B","3', 2),  # cut inside the last row
        ('"Id","Amount"\n"006A","12"\n', 2),  # a whole row missing
        ('"Id","Amount"\n"006A","12"\n"006B"\n', 2),  # a row short of fields
        ('"Id","Amount"\n"006A","1', 1),  # cut inside a quoted field
        ("", 3),
    ],
)
def test_records_from_csv_detects_truncation(text: str, expected: int) -> None:
    with pytest.raises(TruncatedResponse):
        records_from_csv(text, field_types=FIELD_TYPES, expected=expected, sobject="Opportunity")


def test_cursor_round_trip_and_order() -> None:
    cursor = DealCursor.parse("2026-05-01T12:00:00.000Z|006B")
    assert cursor.stamp == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert cursor.text() == "2026-05-01T12:00:00.000Z|006B"
    assert DealCursor.parse("2026-05-01T14:00:00.250+0200|006A").text() == (
        "2026-05-01T12:00:00.250Z|006A"
    )
    assert cursor.query_from(60) == datetime(2026, 5, 1, 11, 59, tzinfo=UTC)
    records = [
        {"Id": "006C", "SystemModstamp": "2026-05-01T12:00:00.000+0000"},
        {"Id": "006A", "SystemModstamp": "2026-05-01T11:00:00.000+0000"},
    ]
    assert latest_cursor(cursor, records) == DealCursor(cursor.stamp, "006C")
    assert latest_cursor(DealCursor.parse("2026-06-01T00:00:00.000Z|006A"), records).text() == (
        "2026-06-01T00:00:00.000Z|006A"
    )
    assert latest_cursor(None, []) is None


@pytest.mark.parametrize("text", ["2026-05-01T12:00:00", "006A", "2026-05-01T12:00:00|006A"])
def test_cursor_rejects_bad_or_naive_text(text: str) -> None:
    with pytest.raises(ValueError):
        DealCursor.parse(text)


def test_parse_timestamp_formats() -> None:
    expected = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_timestamp("2024-05-01T12:00:00.000+0000") == expected
    assert parse_timestamp("2024-05-01T12:00:00.000Z") == expected
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == expected
