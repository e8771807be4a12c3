"""The Salesforce sandbox's SOQL engine: parsing, errors, filtering, ordering, projection."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.sandbox.salesforce.ids import suffix
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef
from connectors.sandbox.salesforce.soql import (
    SoqlError,
    csv_header,
    csv_rows,
    execute,
    parse,
    project,
    project_csv_value,
    range_hint,
)
from connectors.sandbox.salesforce.soql_parser import date_literal_range


def _id(id15: str) -> str:
    """The 18-character form of a 15-character id."""
    return id15 + suffix(id15)


def _objects() -> dict[str, ObjectDef]:
    """Opportunity and User, as small hand-built definitions."""
    opportunity = [
        FieldDef("Id", "id"),
        FieldDef("Name", "string"),
        FieldDef("Amount", "currency"),
        FieldDef("StageName", "picklist"),
        FieldDef("CloseDate", "date"),
        FieldDef("SystemModstamp", "datetime"),
        FieldDef("IsDeleted", "boolean"),
        FieldDef("Probability", "int"),
        FieldDef("OwnerId", "reference", reference_to="User", relationship_name="Owner"),
    ]
    user = [FieldDef("Id", "id"), FieldDef("Name", "string"), FieldDef("Email", "string")]
    return {
        "Opportunity": ObjectDef(
            "Opportunity", "Opportunity", "006", {f.name: f for f in opportunity}
        ),
        "User": ObjectDef("User", "User", "005", {f.name: f for f in user}),
    }


OBJECTS = _objects()
U1, U2, U_GONE = _id("005000000000001"), _id("005000000000002"), _id("005000000000009")
# Ids deliberately not in input order, so ORDER BY Id is visible.
O1, O2, O3, O4, O5 = (_id(f"0060000000000{n:02d}") for n in (50, 20, 40, 10, 30))
USERS = {
    U1: {"Id": U1, "Name": "Ann Lee", "Email": "ann@example.com"},
    U2: {"Id": U2, "Name": "Bob Stone", "Email": "bob@example.com"},
}


def _dt(text: str) -> datetime:
    """A UTC datetime from ISO text."""
    return datetime.fromisoformat(text).astimezone(UTC)


ROWS: list[dict[str, Any]] = [
    {
        "Id": O1,
        "Name": "Acme Renewal",
        "Amount": 1000.0,
        "StageName": "Prospecting",
        "CloseDate": date(2024, 5, 1),
        "SystemModstamp": _dt("2024-05-01T00:00:00+00:00"),
        "IsDeleted": False,
        "Probability": 10,
        "OwnerId": U1,
    },
    {
        "Id": O2,
        "Name": "beta expansion",
        "Amount": 2500.0,
        "StageName": "Closed Won",
        "CloseDate": date(2024, 6, 15),
        "SystemModstamp": _dt("2024-05-02T10:30:00+00:00"),
        "IsDeleted": False,
        "Probability": 100,
        "OwnerId": U2,
    },
    {
        "Id": O3,
        "Name": "Gamma 50% deal",
        "Amount": None,
        "StageName": "Prospecting",
        "CloseDate": date(2024, 4, 30),
        "SystemModstamp": _dt("2024-04-30T23:59:59+00:00"),
        "IsDeleted": False,
        "Probability": 10,
        "OwnerId": None,
    },
    {
        "Id": O4,
        "Name": "Delta_One",
        "Amount": 500.0,
        "StageName": "Negotiation/Review",
        "CloseDate": date(2024, 5, 1),
        "SystemModstamp": _dt("2024-05-01T00:00:00+00:00"),
        "IsDeleted": True,
        "Probability": 90,
        "OwnerId": U1,
    },
    {
        "Id": O5,
        "Name": "ACME Upsell",
        "Amount": None,
        "StageName": "Closed Lost",
        "CloseDate": date(2024, 7, 1),
        "SystemModstamp": _dt("2024-05-03T00:00:00+00:00"),
        "IsDeleted": False,
        "Probability": 0,
        "OwnerId": U_GONE,
    },
]
NAMES = {O1: "O1", O2: "O2", O3: "O3", O4: "O4", O5: "O5"}
TODAY = date(2024, 5, 2)


def _lookup(object_name: str, record_id: str) -> dict[str, Any] | None:
    """Related records: only Users exist."""
    return USERS.get(record_id) if object_name == "User" else None


def _run(soql: str, rows: list[dict[str, Any]] | None = None) -> list[str]:
    """Short names (O1..O5) of the records `soql` returns, in order."""
    query = parse(soql, OBJECTS, today=TODAY)
    result = execute(query, ROWS if rows is None else rows, objects=OBJECTS, lookup=_lookup)
    return [NAMES[row["Id"]] for row in result]


def _error(soql: str) -> SoqlError:
    """The SoqlError `soql` raises."""
    with pytest.raises(SoqlError) as caught:
        parse(soql, OBJECTS, today=TODAY)
    return caught.value


# -- parsing ---------------------------------------------------------------------------------
def test_parse_canonicalises_names_and_keywords() -> None:
    query = parse("select id, NAME, owner.name, OWNER.email from OPPORTUNITY", OBJECTS)
    assert query.object_name == "Opportunity"
    assert query.fields == ("Id", "Name", "Owner.Name", "Owner.Email")
    assert query.is_count is False
    assert (query.where, query.order_by, query.limit, query.offset) == (None, (), None, None)


def test_count_query_has_no_fields() -> None:
    query = parse("SELECT COUNT() FROM Opportunity WHERE Amount != null", OBJECTS)
    assert query.is_count is True
    assert query.fields == ()
    assert len(execute(query, ROWS, objects=OBJECTS, lookup=_lookup)) == 3


def test_count_honours_limit() -> None:
    assert len(_run("SELECT COUNT() FROM Opportunity LIMIT 2")) == 2


def test_alias_and_object_prefix_are_stripped() -> None:
    query = parse(
        "SELECT o.Name, Opportunity.Amount FROM Opportunity o WHERE o.Amount > 600", OBJECTS
    )
    assert query.fields == ("Name", "Amount")
    assert [NAMES[r["Id"]] for r in execute(query, ROWS, objects=OBJECTS, lookup=_lookup)] == [
        "O1",
        "O2",
    ]


def test_multiline_query_with_whitespace() -> None:
    assert _run("SELECT Id\n  FROM Opportunity\n  WHERE Amount >= 2500\n") == ["O2"]


# -- operators -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Amount = 2500", ["O2"]),
        ("Amount = 2500.00", ["O2"]),
        ("Amount != 2500", ["O1", "O3", "O4", "O5"]),  # SOQL != keeps null values
        ("Amount <> 2500", ["O1", "O3", "O4", "O5"]),
        ("Amount < 1000", ["O4"]),
        ("Amount <= 1000", ["O1", "O4"]),
        ("Amount > 1000", ["O2"]),
        ("Amount >= 1000", ["O1", "O2"]),
        ("Amount > -1", ["O1", "O2", "O4"]),
        ("Probability = 90", ["O4"]),
        ("Name = 'acme renewal'", ["O1"]),  # text equality ignores case
        ("Name != 'ACME RENEWAL'", ["O2", "O3", "O4", "O5"]),
        ("Name < 'b'", ["O1", "O5"]),
        ("StageName = 'closed won'", ["O2"]),
        ("Name LIKE 'acme%'", ["O1", "O5"]),
        ("Name LIKE '%UPSELL'", ["O5"]),
        ("Name LIKE '%50\\%%'", ["O3"]),  # \% is a literal percent sign
        ("Name LIKE 'Delta\\_On_'", ["O4"]),
        ("Name LIKE 'Delt_'", []),  # LIKE matches the whole value
        ("Name LIKE 'gamma%' OR Name LIKE '_eta%'", ["O2", "O3"]),
        ("StageName IN ('prospecting', 'Closed Won')", ["O1", "O2", "O3"]),
        ("StageName NOT IN ('Prospecting')", ["O2", "O4", "O5"]),
        ("Amount IN (500, 1000)", ["O1", "O4"]),
        ("Amount IN (500, null)", ["O3", "O4", "O5"]),
        ("Amount NOT IN (500)", ["O1", "O2", "O3", "O5"]),
        ("Amount NOT IN (500, null)", ["O1", "O2"]),
        ("Amount = null", ["O3", "O5"]),
        ("Amount != null", ["O1", "O2", "O4"]),
        ("Amount > null", []),
        ("IsDeleted = true", ["O4"]),
        ("IsDeleted = FALSE", ["O1", "O2", "O3", "O5"]),
        ("IsDeleted != true", ["O1", "O2", "O3", "O5"]),
        ("IsDeleted = null", ["O1", "O2", "O3", "O5"]),  # on a boolean, null means false
        (f"Id = '{O2}'", ["O2"]),
        (f"Id = '{O2[:15]}'", ["O2"]),  # a 15-character id matches its 18-character form
        (f"OwnerId IN ('{U1}', '{U2}')", ["O1", "O2", "O4"]),
        ("OwnerId = null", ["O3"]),
    ],
)
def test_comparison_operators(where: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity WHERE {where}") == expected


def test_string_escapes_in_literals() -> None:
    rows = [{**ROWS[0], "Name": 'It\'s \\ "quoted"\n'}]
    assert _run(
        "SELECT Id FROM Opportunity WHERE Name = 'it\\'s \\\\ \\\"quoted\\\"\\n'", rows
    ) == ["O1"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("CloseDate = 2024-05-01", ["O1", "O4"]),
        ("CloseDate < 2024-05-01", ["O3"]),
        ("CloseDate >= 2024-06-15", ["O2", "O5"]),
        ("SystemModstamp >= 2024-05-01T00:00:00Z", ["O1", "O2", "O4", "O5"]),
        ("SystemModstamp = 2024-05-01T02:00:00+02:00", ["O1", "O4"]),
        ("SystemModstamp = 2024-04-30T19:00:00-05:00", ["O1", "O4"]),
        ("SystemModstamp = 2024-05-01T00:00:00.000+0000", ["O1", "O4"]),
        ("SystemModstamp > 2024-04-30T23:59:59.000Z", ["O1", "O2", "O4", "O5"]),
        ("SystemModstamp < 2024-05-01T00:00:00.000+0000", ["O3"]),
        ("SystemModstamp <= 2024-05-02T12:30:00+02:00", ["O1", "O2", "O3", "O4"]),
    ],
)
def test_date_and_datetime_literals(where: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity WHERE {where}") == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [  # today is 2024-05-02 (UTC)
        ("CloseDate = YESTERDAY", ["O1", "O4"]),
        ("CloseDate = TODAY", []),
        ("CloseDate > TODAY", ["O2", "O5"]),
        ("CloseDate <= YESTERDAY", ["O1", "O3", "O4"]),
        ("CloseDate = LAST_N_DAYS:2", ["O1", "O3", "O4"]),
        ("CloseDate = NEXT_N_DAYS:60", ["O2", "O5"]),
        ("CloseDate = THIS_MONTH", ["O1", "O4"]),
        ("CloseDate != THIS_MONTH", ["O2", "O3", "O5"]),
        ("SystemModstamp = TODAY", ["O2"]),
        ("SystemModstamp < TODAY", ["O1", "O3", "O4"]),
        ("SystemModstamp <= TODAY", ["O1", "O2", "O3", "O4"]),  # through the end of today
        ("SystemModstamp > YESTERDAY", ["O2", "O5"]),
        ("SystemModstamp >= YESTERDAY", ["O1", "O2", "O4", "O5"]),
    ],
)
def test_relative_date_literals(where: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity WHERE {where}") == expected


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("LAST_MONTH", None, (date(2023, 12, 1), date(2024, 1, 1))),
        ("NEXT_MONTH", None, (date(2024, 2, 1), date(2024, 3, 1))),
        ("THIS_YEAR", None, (date(2024, 1, 1), date(2025, 1, 1))),
        ("LAST_N_DAYS", 7, (date(2024, 1, 8), date(2024, 1, 16))),
        ("TOMORROW", None, (date(2024, 1, 16), date(2024, 1, 17))),
    ],
)
def test_date_literal_ranges(name: str, n: int | None, expected: tuple[date, date]) -> None:
    assert date_literal_range(name, n, date(2024, 1, 15)) == expected


# -- logic -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Amount > 600 AND StageName = 'Prospecting'", ["O1"]),
        ("Amount > 2000 OR IsDeleted = true", ["O2", "O4"]),
        ("Amount >= 1000 AND StageName = 'Prospecting' AND IsDeleted = false", ["O1"]),
        ("(Amount >= 1000 AND StageName = 'Prospecting') OR IsDeleted = true", ["O1", "O4"]),
        ("Amount >= 1000 AND (StageName = 'Prospecting' OR IsDeleted = true)", ["O1"]),
        ("NOT Name LIKE 'acme%'", ["O2", "O3", "O4"]),
        ("NOT (Amount > 600)", ["O3", "O4", "O5"]),  # null Amount: the comparison is false
        ("Amount != null AND (NOT Amount > 600)", ["O4"]),
        ("((Amount = 500))", ["O4"]),
    ],
)
def test_logical_operators(where: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity WHERE {where}") == expected


@pytest.mark.parametrize(
    ("where", "token", "column"),
    [
        ("Amount >= 1000 AND StageName = 'Prospecting' OR IsDeleted = true", "OR", 79),
        ("IsDeleted = true OR Amount >= 1000 AND Name = 'x'", "AND", 69),
        ("Amount != null AND NOT Amount > 600", "NOT", 53),
        ("NOT Amount > 600 AND Name = 'x'", "AND", 51),
    ],
)
def test_mixing_and_or_not_without_parentheses_is_refused(
    where: str, token: str, column: int
) -> None:
    error = _error(f"SELECT Id FROM Opportunity WHERE {where}")
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.endswith(f"ERROR at Row:1:Column:{column}\nunexpected token: '{token}'")


# -- relationships ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Owner.Name = 'ann lee'", ["O1", "O4"]),
        ("Owner.Name = null", ["O3", "O5"]),  # no owner, and an owner that does not exist
        ("Owner.Email LIKE '%@example.com'", ["O1", "O2", "O4"]),
        ("Owner.Name IN ('Bob Stone')", ["O2"]),
        ("Owner.Name != 'Ann Lee'", ["O2", "O3", "O5"]),
    ],
)
def test_relationship_filters(where: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity WHERE {where}") == expected


# -- ORDER BY, LIMIT, OFFSET -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("Amount", ["O3", "O5", "O4", "O1", "O2"]),  # ASC: nulls first, ties keep input order
        ("Amount ASC NULLS LAST", ["O4", "O1", "O2", "O3", "O5"]),
        ("Amount DESC", ["O2", "O1", "O4", "O3", "O5"]),  # DESC: nulls last
        ("Amount DESC NULLS FIRST", ["O3", "O5", "O2", "O1", "O4"]),
        ("Name", ["O1", "O5", "O2", "O4", "O3"]),  # text sorts ignoring case
        ("CloseDate, Name DESC", ["O3", "O4", "O1", "O2", "O5"]),
        ("SystemModstamp, Id", ["O3", "O4", "O1", "O2", "O5"]),
        ("SystemModstamp DESC, Id DESC", ["O5", "O2", "O1", "O4", "O3"]),
        ("Owner.Name DESC NULLS LAST, Name", ["O2", "O1", "O4", "O5", "O3"]),
        ("Owner.Name, Name", ["O5", "O3", "O1", "O4", "O2"]),
        ("IsDeleted DESC, Amount NULLS LAST", ["O4", "O1", "O2", "O3", "O5"]),
    ],
)
def test_order_by(order_by: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity ORDER BY {order_by}") == expected


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ("ORDER BY Name LIMIT 2", ["O1", "O5"]),
        ("ORDER BY Name LIMIT 2 OFFSET 1", ["O5", "O2"]),
        ("ORDER BY Name OFFSET 3", ["O4", "O3"]),
        ("LIMIT 2", ["O1", "O2"]),  # without ORDER BY: input (creation) order
        ("LIMIT 2 OFFSET 4", ["O5"]),
        ("LIMIT 0", []),
        ("OFFSET 2000", []),
        ("WHERE Amount != null ORDER BY Amount DESC LIMIT 1", ["O2"]),
    ],
)
def test_limit_and_offset(clauses: str, expected: list[str]) -> None:
    assert _run(f"SELECT Id FROM Opportunity {clauses}") == expected


def test_execute_returns_whole_records_without_touching_input() -> None:
    rows = [dict(row) for row in ROWS]
    query = parse("SELECT Name FROM Opportunity WHERE Amount > 600 ORDER BY Amount DESC", OBJECTS)
    result = execute(query, iter(rows), objects=OBJECTS, lookup=_lookup)
    assert result == [rows[1], rows[0]]
    assert result[0] is rows[1]
    assert rows == ROWS


# -- range_hint ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("SystemModstamp >= 2024-05-01T00:00:00Z", (_dt("2024-05-01T00:00:00+00:00"), True)),
        (
            "SystemModstamp > 2024-05-01T00:00:00Z AND IsDeleted = false",
            (_dt("2024-05-01T00:00:00+00:00"), False),
        ),
        (
            "SystemModstamp >= 2024-04-01T00:00:00Z AND SystemModstamp >= 2024-05-01T00:00:00Z",
            (_dt("2024-05-01T00:00:00+00:00"), True),
        ),
        ("SystemModstamp > YESTERDAY", (_dt("2024-05-02T00:00:00+00:00"), True)),
        ("SystemModstamp >= 2024-05-01T00:00:00Z OR IsDeleted = true", None),
        ("SystemModstamp < 2024-05-01T00:00:00Z", None),
        ("Amount > 5", None),
    ],
)
def test_range_hint(where: str, expected: tuple[Any, bool] | None) -> None:
    query = parse(f"SELECT Id FROM Opportunity WHERE {where}", OBJECTS, today=TODAY)
    assert range_hint(query, "systemmodstamp") == expected


# -- projection ------------------------------------------------------------------------------
def test_project_rest_json_shape() -> None:
    query = parse(
        "SELECT Id, Name, Amount, CloseDate, SystemModstamp, IsDeleted, Probability, "
        "Owner.Name, Owner.Email FROM Opportunity",
        OBJECTS,
    )
    record = project(query, ROWS[0], objects=OBJECTS, lookup=_lookup)
    assert record == {
        "attributes": {
            "type": "Opportunity",
            "url": f"/services/data/v59.0/sobjects/Opportunity/{O1}",
        },
        "Id": O1,
        "Name": "Acme Renewal",
        "Amount": 1000.0,
        "CloseDate": "2024-05-01",
        "SystemModstamp": "2024-05-01T00:00:00.000+0000",
        "IsDeleted": False,
        "Probability": 10,
        "Owner": {
            "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{U1}"},
            "Name": "Ann Lee",
            "Email": "ann@example.com",
        },
    }
    assert list(record) == [
        "attributes",
        "Id",
        "Name",
        "Amount",
        "CloseDate",
        "SystemModstamp",
        "IsDeleted",
        "Probability",
        "Owner",
    ]


def test_project_nulls_missing_parents_and_field_order() -> None:
    query = parse("SELECT Owner.Name, Amount, Id, Owner.Email FROM Opportunity", OBJECTS)
    no_owner = project(query, ROWS[2], objects=OBJECTS, lookup=_lookup, api_version="61.0")
    assert no_owner == {
        "attributes": {
            "type": "Opportunity",
            "url": f"/services/data/v61.0/sobjects/Opportunity/{O3}",
        },
        "Owner": None,
        "Amount": None,
        "Id": O3,
    }
    assert list(no_owner) == ["attributes", "Owner", "Amount", "Id"]
    gone = project(query, ROWS[4], objects=OBJECTS, lookup=_lookup)
    assert gone["Owner"] is None
    owned = project(query, ROWS[1], objects=OBJECTS, lookup=_lookup)
    assert list(owned["Owner"]) == ["attributes", "Name", "Email"]


def test_project_datetime_converted_to_utc_with_milliseconds() -> None:
    query = parse("SELECT SystemModstamp FROM Opportunity", OBJECTS)
    plus_two = timezone(timedelta(hours=2))
    row = {"Id": O1, "SystemModstamp": datetime(2024, 5, 1, 2, 0, 0, 123456, tzinfo=plus_two)}
    record = project(query, row, objects=OBJECTS, lookup=_lookup)
    assert record["SystemModstamp"] == "2024-05-01T00:00:00.123+0000"


def test_csv_projection() -> None:
    query = parse(
        "SELECT Id, Amount, IsDeleted, CloseDate, SystemModstamp, Owner.Name "
        "FROM Opportunity WHERE Id IN ('" + O1 + "', '" + O3 + "')",
        OBJECTS,
    )
    rows = execute(query, ROWS, objects=OBJECTS, lookup=_lookup)
    assert csv_header(query) == [
        "Id",
        "Amount",
        "IsDeleted",
        "CloseDate",
        "SystemModstamp",
        "Owner.Name",
    ]
    assert list(csv_rows(query, rows, lookup=_lookup)) == [
        [O1, "1000.0", "false", "2024-05-01", "2024-05-01T00:00:00.000Z", "Ann Lee"],
        [O3, "", "false", "2024-04-30", "2024-04-30T23:59:59.000Z", ""],
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (2.5, "2.5"),
        ("a,b", "a,b"),
        (date(2024, 1, 2), "2024-01-02"),
        (
            datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T12:00:00.000Z",
        ),
    ],
)
def test_project_csv_value(value: Any, expected: str) -> None:
    assert project_csv_value(value) == expected


# -- errors ----------------------------------------------------------------------------------
_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)


def test_unknown_field_error_is_exactly_salesforces() -> None:
    error = _error("SELECT Foo FROM Opportunity")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        "\nSELECT Foo FROM Opportunity\n       ^\nERROR at Row:1:Column:8\n"
        f"No such column 'Foo' on entity 'Opportunity'. {_CUSTOM_FIELD_HINT}"
    )
    assert str(error) == error.message


def test_unknown_object_error() -> None:
    error = _error("SELECT Id FROM Foo__c")
    assert error.error_code == "INVALID_TYPE"
    assert error.message == (
        "\nSELECT Id FROM Foo__c\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Foo__c' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


def test_unknown_object_is_reported_before_unknown_fields() -> None:
    assert _error("SELECT Nope FROM Foo").error_code == "INVALID_TYPE"


def test_error_row_and_column_on_a_later_line() -> None:
    error = _error("SELECT Id\nFROM Opportunity\nWHERE  Bogus = 1")
    assert error.error_code == "INVALID_FIELD"
    assert error.message.startswith(
        "\nWHERE  Bogus = 1\n       ^\nERROR at Row:3:Column:8\n"
        "No such column 'Bogus' on entity 'Opportunity'."
    )


@pytest.mark.parametrize(
    ("soql", "text"),
    [
        ("SELECT Owner.Foo FROM Opportunity", "No such column 'Foo' on entity 'User'."),
        ("SELECT Id FROM Opportunity ORDER BY Nope", "No such column 'Nope' on entity "),
        ("SELECT Id FROM Opportunity WHERE Owner.Nope = 'x'", "No such column 'Nope' on entity "),
        (
            "SELECT Boss.Name FROM Opportunity",
            "Didn't understand relationship 'Boss' in field path. If you are attempting to use a "
            "custom relationship, be sure to append the '__r' after the custom relationship name.",
        ),
        ("SELECT OwnerId.Name FROM Opportunity", "Didn't understand relationship 'OwnerId'"),
        ("SELECT Owner FROM Opportunity", "No such column 'Owner' on entity 'Opportunity'."),
    ],
)
def test_unknown_field_and_relationship_errors(soql: str, text: str) -> None:
    error = _error(soql)
    assert error.error_code == "INVALID_FIELD"
    assert text in error.message


@pytest.mark.parametrize(
    ("where", "column", "text"),
    [
        (
            "CloseDate > 2024-01-01T00:00:00Z",
            46,
            "value of filter criterion for field 'CloseDate' must be of type date and should not "
            "be enclosed in quotes",
        ),
        (
            "CloseDate = '2024-01-01'",
            46,
            "value of filter criterion for field 'CloseDate' must be of type date and should not "
            "be enclosed in quotes",
        ),
        (
            "SystemModstamp >= 2024-01-01",
            52,
            "value of filter criterion for field 'SystemModstamp' must be of type dateTime and "
            "should not be enclosed in quotes",
        ),
        (
            "SystemModstamp >= '2024-01-01T00:00:00Z'",
            52,
            "value of filter criterion for field 'SystemModstamp' must be of type dateTime and "
            "should not be enclosed in quotes",
        ),
        (
            "Amount > '5'",
            43,
            "value of filter criterion for field 'Amount' must be of type double and should not "
            "be enclosed in quotes",
        ),
        (
            "Probability IN (1, '2')",
            53,
            "value of filter criterion for field 'Probability' must be of type integer and should "
            "not be enclosed in quotes",
        ),
        (
            "IsDeleted = 'true'",
            46,
            "value of filter criterion for field 'IsDeleted' must be of type boolean and should "
            "not be enclosed in quotes",
        ),
        (
            "Name = 5",
            41,
            "value of filter criterion for field 'Name' must be of type string and should be "
            "enclosed in quotes",
        ),
        (
            "Name = TODAY",
            41,
            "value of filter criterion for field 'Name' must be of type string and should be "
            "enclosed in quotes",
        ),
        (
            "Owner.Name LIKE 5",
            50,
            "value of filter criterion for field 'Owner.Name' must be of type string and should "
            "be enclosed in quotes",
        ),
        ("Amount LIKE '5%'", 34, "invalid operator on currency field: LIKE (Amount)"),
    ],
)
def test_literal_type_errors(where: str, column: int, text: str) -> None:
    error = _error(f"SELECT Id FROM Opportunity WHERE {where}")
    assert error.error_code == "INVALID_FIELD"
    assert error.message.endswith(f"ERROR at Row:1:Column:{column}\n{text}")


def test_malformed_id_error() -> None:
    error = _error("SELECT Id FROM Opportunity WHERE OwnerId = '005-bad'")
    assert error.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert error.message.endswith("ERROR at Row:1:Column:44\ninvalid ID field: 005-bad")


def test_duplicate_field_error() -> None:
    error = _error("SELECT Id, Name, name FROM Opportunity")
    assert (error.error_code, error.message) == ("INVALID_FIELD", "duplicate field selected: Name")


def test_offset_over_2000_error() -> None:
    error = _error("SELECT Id FROM Opportunity OFFSET 2001")
    assert (error.error_code, error.message) == (
        "NUMBER_OUTSIDE_VALID_RANGE",
        "Maximum SOQL offset allowed is 2000",
    )


@pytest.mark.parametrize(
    ("soql", "text"),
    [
        ("SELECT Id Opportunity", "unexpected token: 'Opportunity'"),
        ("SELECT Id FROM", "unexpected token: '<EOF>'"),
        ("SELECT FROM Opportunity", "unexpected token: 'FROM'"),
        ("SELECT Id, FROM Opportunity", "unexpected token: 'FROM'"),
        ("UPDATE Opportunity", "unexpected token: 'UPDATE'"),
        ("SELECT Id FROM Opportunity WHERE", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Opportunity WHERE Amount > 5 AND", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Opportunity WHERE (Amount > 5", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Opportunity WHERE Amount 5", "unexpected token: '5'"),
        ("SELECT Id FROM Opportunity WHERE Amount IN ()", "unexpected token: ')'"),
        ("SELECT Id FROM Opportunity WHERE Name = :name", "unexpected token: ':'"),
        ("SELECT Id FROM Opportunity WHERE Name = foo", "unexpected token: 'foo'"),
        ("SELECT Id FROM Opportunity LIMIT -1", "unexpected token: '-1'"),
        ("SELECT Id FROM Opportunity LIMIT 1.5", "unexpected token: '1.5'"),
        ("SELECT Id FROM Opportunity OFFSET 5 LIMIT 1", "unexpected token: 'LIMIT'"),
        ("SELECT Id FROM Opportunity LIMIT 99999999999", "numeric value out of range"),
        ("SELECT Id FROM Opportunity ORDER BY Name NULLS", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = 2024-02-30", "Invalid date: 2024-02-30"),
        (
            "SELECT Id FROM Opportunity WHERE SystemModstamp > 2024-05-01T00:00:00",
            "Invalid datetime: 2024-05-01T00:00:00",
        ),
        (
            "SELECT Id FROM Opportunity WHERE SystemModstamp > 2024-05-01T25:00:00Z",
            "Invalid datetime: 2024-05-01T25:00:00Z",
        ),
        ("SELECT Id FROM Opportunity WHERE Name = 'x';", "no viable alternative at character ';'"),
        ("SELECT Id FROM Opportunity WHERE Name = 'x", "mismatched character '<EOF>'"),
        ("SELECT Id FROM Opportunity WHERE Name = 'a\\qb'", "Illegal character sequence '\\q'"),
    ],
)
def test_syntax_errors(soql: str, text: str) -> None:
    error = _error(soql)
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.startswith("\n")
    assert "ERROR at Row:1:Column:" in error.message
    assert text in error.message.splitlines()[-1]


@pytest.mark.parametrize(
    ("soql", "what"),
    [
        ("SELECT StageName FROM Opportunity GROUP BY StageName", "GROUP BY"),
        ("SELECT SUM(Amount) FROM Opportunity", "The function SUM() in SELECT"),
        ("SELECT COUNT(Id) FROM Opportunity", "COUNT(field)"),
        (
            "SELECT Id, (SELECT Id FROM OpportunityHistories) FROM Opportunity",
            "A relationship subquery",
        ),
        ("SELECT TYPEOF Owner WHEN User THEN Name END FROM Opportunity", "TYPEOF"),
        (
            "SELECT Id FROM Opportunity WHERE OwnerId IN (SELECT Id FROM User)",
            "A semi-join subquery",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2024",
            "The function CALENDAR_YEAR() in WHERE",
        ),
        ("SELECT Id FROM Opportunity ORDER BY MAX(Amount)", "The function MAX() in ORDER BY"),
        ("SELECT Id FROM Opportunity WHERE StageName INCLUDES ('a')", "INCLUDES"),
        ("SELECT Id FROM Opportunity FOR UPDATE", "FOR VIEW/REFERENCE/UPDATE"),
        ("SELECT Id FROM Opportunity WITH SECURITY_ENFORCED", "WITH"),
        ("SELECT Id FROM Opportunity USING SCOPE mine", "USING SCOPE"),
        ("SELECT Id FROM Opportunity, User", "Querying several objects in FROM"),
        ("SELECT Id FROM Opportunity WHERE CloseDate IN (TODAY)", "date literal TODAY"),
    ],
)
def test_unsupported_constructs_are_refused(soql: str, what: str) -> None:
    error = _error(soql)
    assert error.error_code == "MALFORMED_QUERY"
    assert what in error.message
    assert error.message.endswith("not supported by the pipelines-etl Salesforce sandbox")


# -- scale -----------------------------------------------------------------------------------
def test_incremental_query_over_200k_rows() -> None:
    rnd = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        {
            "Id": _id(f"006{k:012d}"),
            "Name": f"Deal {k}",
            "Amount": float(rnd.randint(0, 10**5)),
            "IsDeleted": False,
            "SystemModstamp": start + timedelta(minutes=rnd.randint(0, 10**6)),
            "OwnerId": U1 if k % 2 else U2,
        }
        for k in range(200_000)
    ]
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    query = parse(
        "SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp >= "
        "2026-01-01T00:00:00Z AND IsDeleted = false ORDER BY SystemModstamp, Id",
        OBJECTS,
    )
    result = execute(query, rows, objects=OBJECTS, lookup=_lookup)
    assert len(result) == sum(row["SystemModstamp"] >= cutoff for row in rows)
    assert 0 < len(result) < len(rows)
    keys = [(row["SystemModstamp"], row["Id"]) for row in result]
    assert keys == sorted(keys)
    counted = parse("SELECT COUNT() FROM Opportunity WHERE Owner.Name = 'Ann Lee'", OBJECTS)
    assert len(execute(counted, rows, objects=OBJECTS, lookup=_lookup)) == 100_000
