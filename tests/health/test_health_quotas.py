"""Quotas files (CSV, YAML): periods by the fiscal calendar, errors naming file, row, column
and value, loading into `quotas`, and attainment through compute_health."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines_etl.config import AppConfig
from pipelines_etl.health import compute_health
from pipelines_etl.quotas import (
    QuotaFileError,
    parse_period,
    parse_quotas_file,
    refresh_quotas,
)
from pipelines_etl.user_errors import USER_ERRORS
from warehouse.schema import quotas

D = dt.date


@pytest.mark.parametrize(
    ("text", "start_month", "first", "last"),
    [
        ("2026-Q3", 1, D(2026, 7, 1), D(2026, 9, 30)),
        ("FY2026-Q1", 1, D(2026, 1, 1), D(2026, 3, 31)),
        ("2027-Q1", 4, D(2026, 4, 1), D(2026, 6, 30)),  # FY2027 runs 2026-04 .. 2027-03
        ("FY2027-Q4", 4, D(2027, 1, 1), D(2027, 3, 31)),
        ("2026-02", 4, D(2026, 2, 1), D(2026, 2, 28)),  # a calendar month whatever the FY
        ("FY2026", 7, D(2025, 7, 1), D(2026, 6, 30)),
    ],
)
def test_periods(text: str, start_month: int, first: dt.date, last: dt.date) -> None:
    assert parse_period(text, start_month=start_month) == (first, last)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_and_yaml_read_the_same(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path,
        "q.csv",
        "owner,period,amount\nAnn@Example.com,2026-Q3,1000.50\nbob@example.com,2026-07,300\n\n",
    )
    yaml_path = _write(
        tmp_path,
        "q.yaml",
        "quotas:\n"
        "  - {owner: Ann@Example.com, period: 2026-Q3, amount: 1000.50}\n"
        "  - {owner_email: bob@example.com, period_start: 2026-07-01,"
        " period_end: 2026-07-31, amount: 300}\n",
    )
    from_csv = parse_quotas_file(csv_path)
    assert from_csv == parse_quotas_file(yaml_path)
    assert from_csv[0].owner_email == "ann@example.com"
    assert from_csv[0].amount == Decimal("1000.50")
    assert (from_csv[1].period_start, from_csv[1].period_end) == (D(2026, 7, 1), D(2026, 7, 31))


H = "owner,period,amount\n"
HD = "owner,period_start,period_end,amount\n"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("q.csv", H + "ann,2026-Q3,5\n", "line 2, column owner: 'ann'"),
        ("q.csv", H + "a@x.io,2026-Q5,5\n", "line 2, column period: '2026-Q5'"),
        ("q.csv", H + "a@x.io,2026-Q1,5\na@x.io,2026-13,5\n", "line 3, column period"),
        ("q.csv", H + "a@x.io,2026-Q3,lots\n", "amount: 'lots': expected a number"),
        ("q.csv", H + "a@x.io,2026-Q3,-5\n", "amount: '-5': expected a non-negative"),
        ("q.csv", H + "a@x.io,2026-Q3,1.1234567\n", "at most 6 decimals"),
        ("q.csv", "owner,period,amount,region\na@x.io,2026-Q3,5,EU\n", "region: 'EU': unknown"),
        ("q.csv", HD + "a@x.io,2026-07-31,2026-07-01,5\n", "period_end: '2026-07-01': ends"),
        ("q.csv", HD + "a@x.io,2026-07-01,soon,5\n", "period_end: 'soon': expected a date"),
        ("q.csv", H + "a@x.io,2026-Q3,5\nA@x.io,2026-07,6\n", "line 3: a second quota for a@x.io"),
        ("q.yaml", "- {owner: a@x.io, amount: 5}\n", "entry 1, column period: None"),
        ("q.yaml", "quotas: {owner: a@x.io}\n", "expected a list of quotas"),
        ("q.yaml", "- [a@x.io]\n", "entry 1: expected a mapping"),
        ("q.yaml", "- {owner: a@x.io\n", "not valid YAML"),
        ("q.txt", H, "must be .csv, .yaml or .yml"),
    ],
)
def test_errors_name_file_row_column_value(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(QuotaFileError) as caught:
        parse_quotas_file(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert isinstance(caught.value, USER_ERRORS)  # the CLI prints it as one line


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QuotaFileError, match="no such quotas file"):
        parse_quotas_file(tmp_path / "absent.csv")


def test_refresh_loads_the_table_and_attainment_follows(worked_sqlite, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "quotas.csv",
        "owner,period,amount\nann@example.com,2026-Q2,400\nann@example.com,2026-Q3,100\n",
    )
    config = AppConfig(quotas_file=path)
    assert refresh_quotas(worked_sqlite, config) == 2
    assert refresh_quotas(worked_sqlite, AppConfig()) is None  # no file: table untouched
    with worked_sqlite.connect() as conn:
        stored = conn.execute(
            sa.select(quotas.c.owner_email, quotas.c.period_start, quotas.c.amount).order_by(
                quotas.c.period_start
            )
        ).all()
    assert [tuple(r) for r in stored] == [
        ("ann@example.com", D(2026, 4, 1), Decimal("400")),
        ("ann@example.com", D(2026, 7, 1), Decimal("100")),
    ]
    result = compute_health(
        worked_sqlite, app_config=AppConfig(), as_of=pd.Timestamp("2026-07-01T00:00Z")
    )
    attainment = result.value("quota_attainment", scope="owner", scope_key="ann@example.com")
    # Q2: A won 100 on 06-10 of a 400 quota; Q3: nothing won yet
    assert attainment == {"2026-04-01/2026-06-30": 0.25, "2026-07-01/2026-09-30": 0.0}
    coverage = result.value("coverage", scope="owner", scope_key="ann@example.com")
    # Q3: open C (80, closes 07-15) and D (60, 08-20) against 100 still to win
    assert coverage["2026-07-01/2026-09-30"] == pytest.approx(1.4)
    team = result.value("quota_attainment")
    assert team["2026-04-01/2026-06-30"] == 0.25


def test_compute_health_reads_the_configured_file(worked_sqlite, tmp_path: Path) -> None:
    path = _write(tmp_path, "q.yaml", "- {owner: ann@example.com, period: 2027-Q1, amount: 50}\n")
    config = AppConfig(quotas_file=path, fiscal_year_start_month=4)  # FY2027-Q1 = 2026-04..06
    result = compute_health(
        worked_sqlite, app_config=config, as_of=pd.Timestamp("2026-07-01T00:00Z")
    )
    attainment = result.value("quota_attainment", scope="owner", scope_key="ann@example.com")
    assert attainment == {"2026-04-01/2026-06-30": 2.0}  # 100 won of 50
    assert result.value("coverage", scope="owner", scope_key="ann@example.com") == {
        "2026-04-01/2026-06-30": None  # quota met: "covered"
    }
