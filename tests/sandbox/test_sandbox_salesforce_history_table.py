"""Generated OpportunityHistory held as columns: rows built on read equal the dicts the
generator used to build, by id, by opportunity and in a full pass; writes add and delete rows
the way Salesforce does without rewriting the generated past."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from connectors.sandbox.api import WriteLog
from connectors.sandbox.salesforce import writes
from connectors.sandbox.salesforce.generate import generate
from connectors.sandbox.salesforce.history import HistoryColumns, HistoryTable, StageRow
from connectors.sandbox.salesforce.ids import make_ids
from connectors.sandbox.salesforce.state import OrgState

ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
OPPS = make_ids("006", 40, 2)
ROWS = make_ids("008", 7, 3)


def _tiny() -> HistoryTable:
    """Two opportunities: the first resized after its first row, the second without amount."""
    columns = HistoryColumns(
        id_start=7,
        opportunity_ids=OPPS,
        opportunity_start=40,
        starts=np.array([0, 2, 3]),
        amount=np.array([1000.0, np.nan]),
        first_factor=np.array([1.25, 1.5]),
        decimals=np.array([2, 2], dtype=np.int8),
        owner=np.array([1, 0], dtype=np.int32),
        currency=np.array([1, 0], dtype=np.int8),
        opportunity=np.array([0, 0, 1], dtype=np.int32),
        stage=np.array([0, 1, 0], dtype=np.int8),
        at_ms=np.array([1_704_099_600_000, 1_704_186_000_000, 1_704_099_600_000]),
        close_day=np.array([19753, 19723, 19723], dtype=np.int32),
        user_ids=["005A", "005B"],
        currency_codes=["USD", "EUR"],
        stages=[StageRow("Prospecting", 10.0, "Pipeline"), StageRow("Closed Won", 100.0, "Closed")],
    )
    return HistoryTable(columns, deleted=np.array([False, True]))


def test_rows_are_built_from_the_columns() -> None:
    table = _tiny()
    nine = datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert list(table.values()) == [
        {
            "Id": ROWS[0], "OpportunityId": OPPS[0], "CreatedById": "005B", "CreatedDate": nine,
            "StageName": "Prospecting", "Amount": 1250.0, "ExpectedRevenue": 125.0,
            "CloseDate": date(2024, 1, 31), "Probability": 10.0, "ForecastCategory": "Pipeline",
            "PrevAmount": None, "PrevCloseDate": None, "CurrencyIsoCode": "EUR",
            "SystemModstamp": nine, "IsDeleted": False,
        },
        {
            "Id": ROWS[1], "OpportunityId": OPPS[0], "CreatedById": "005B",
            "CreatedDate": datetime(2024, 1, 2, 9, tzinfo=UTC), "StageName": "Closed Won",
            "Amount": 1000.0, "ExpectedRevenue": 1000.0, "CloseDate": date(2024, 1, 1),
            "Probability": 100.0, "ForecastCategory": "Closed", "PrevAmount": 1250.0,
            "PrevCloseDate": date(2024, 1, 31), "CurrencyIsoCode": "EUR",
            "SystemModstamp": datetime(2024, 1, 2, 9, tzinfo=UTC), "IsDeleted": False,
        },
        {
            "Id": ROWS[2], "OpportunityId": OPPS[1], "CreatedById": "005A", "CreatedDate": nine,
            "StageName": "Prospecting", "Amount": None, "ExpectedRevenue": None,
            "CloseDate": date(2024, 1, 1), "Probability": 10.0, "ForecastCategory": "Pipeline",
            "PrevAmount": None, "PrevCloseDate": None, "CurrencyIsoCode": "USD",
            "SystemModstamp": nine, "IsDeleted": True,
        },
    ]  # fmt: skip


def test_lookup_by_id_and_by_opportunity() -> None:
    table = _tiny()
    assert len(table) == 3 and list(table) == ROWS
    second = table[ROWS[1]]  # built alone: its PrevAmount comes from the row before
    assert (second["Amount"], second["PrevAmount"]) == (1000.0, 1250.0)
    assert ROWS[2] in table and table.get(ROWS[2])["OpportunityId"] == OPPS[1]  # type: ignore[index]
    for missing in (make_ids("008", 10, 1)[0], make_ids("008", 6, 1)[0], "0085g0000000007XXX", "x"):
        assert missing not in table and table.get(missing) is None
        with pytest.raises(KeyError):
            table[missing]
    by_opp = table.rows_for([OPPS[1], "006nope", OPPS[0], OPPS[1]])
    assert [row["Id"] for row in by_opp] == [ROWS[2], ROWS[0], ROWS[1]]
    assert table.rows_for([]) == []


def test_added_rows_follow_and_deletion_flags_all_rows() -> None:
    table = _tiny()
    added = {"Id": make_ids("008", 3, 1)[0], "OpportunityId": OPPS[0], "IsDeleted": False}
    table[added["Id"]] = added
    assert len(table) == 4 and list(table)[-1] == added["Id"]
    assert [row["Id"] for row in table.rows_for([OPPS[0]])] == [ROWS[0], ROWS[1], added["Id"]]
    with pytest.raises(KeyError):
        table[ROWS[0]] = {"Id": ROWS[0]}
    table.mark_deleted(OPPS[0])
    assert [row["IsDeleted"] for row in table.values()] == [True, True, True, True]


@pytest.fixture(scope="module")
def org() -> OrgState:
    return generate(deals=400, seed=3, anchor=ANCHOR)


def test_every_access_path_builds_the_same_rows(org: OrgState) -> None:
    table = org.table("OpportunityHistory")
    assert isinstance(table, HistoryTable)
    rows = list(table.values())
    assert len(rows) == len(table) == len(list(table)) > 2 * 400
    assert [row["Id"] for row in rows] == list(table)
    by_opp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_opp[row["OpportunityId"]].append(row)
    wanted = list(org.table("Opportunity"))[::37]
    assert org.rows_by("OpportunityHistory", "OpportunityId", wanted) == [
        row for opp_id in wanted for row in by_opp[opp_id]
    ]
    for row in rows[::53]:
        assert table[row["Id"]] == row


def test_writes_add_rows_and_delete_but_keep_the_generated_past(org: OrgState) -> None:
    state = generate(deals=400, seed=3, anchor=ANCHOR)
    log = WriteLog()
    opp_id = next(
        oid for oid, o in state.table("Opportunity").items()
        if not o["IsDeleted"] and not o["IsClosed"] and o["Amount"]
    )  # fmt: skip
    before = state.rows_by("OpportunityHistory", "OpportunityId", [opp_id])
    amount = state.table("Opportunity")[opp_id]["Amount"]
    obj = state.objects["Opportunity"]
    update = writes.check(
        state, state.table("Opportunity")[opp_id],
        {obj.fields["StageName"]: "Closed Won", obj.fields["Amount"]: amount + 1},
    )  # fmt: skip
    assert isinstance(update, writes.Update)
    writes.apply(state, update, write_log=log)
    after = state.rows_by("OpportunityHistory", "OpportunityId", [opp_id])
    assert after[:-1] == before  # the generated rows still carry the amounts they had
    new = after[-1]
    assert (new["StageName"], new["Amount"], new["PrevAmount"]) == (
        "Closed Won", amount + 1, amount,
    )  # fmt: skip
    assert new["Id"] not in {row["Id"] for row in before}
    assert state.table("OpportunityHistory")[new["Id"]] is new
    assert writes.delete(state, opp_id, write_log=log) is None
    deleted = state.rows_by("OpportunityHistory", "OpportunityId", [opp_id])
    assert [row["IsDeleted"] for row in deleted] == [True] * len(after)
    other = [
        row for row in state.table("OpportunityHistory").values() if row["OpportunityId"] != opp_id
    ]
    assert other == [
        row for row in org.table("OpportunityHistory").values() if row["OpportunityId"] != opp_id
    ]
