"""Quota attainment, coverage and required pipeline per owner and team, per quota period.

Quota periods are calendar dates in the reporting time zone, both ends included
(`period_start` 2026-07-01, `period_end` 2026-09-30 is the third quarter). A quota row may
carry a `motion` (default new_business). The team is the set of owners with a quota row for
the period; its figures sum theirs and use the scope-wide win rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from transforms.fiscal import days_instants
from transforms.metrics_counts import amount_total, unconverted
from transforms.metrics_inputs import calendar_dates, decimal_values, require_columns
from transforms.metrics_money import exact_product, exact_sum, ratio

QUOTA_REQUIRED: tuple[str, ...] = ("owner_email", "period_start", "period_end", "amount")
TEAM = ""


def prepare_quotas(quotas: pd.DataFrame | None) -> pd.DataFrame:
    """Quota rows with lower-case owner emails, date periods and exact amounts."""
    if quotas is None or len(quotas) == 0:
        return pd.DataFrame(columns=[*QUOTA_REQUIRED, "motion", "quota", "first", "last", "period"])
    require_columns(quotas, QUOTA_REQUIRED, name="quotas")
    frame = quotas.copy()
    if "motion" not in frame.columns:
        frame["motion"] = "new_business"
    frame["motion"] = frame["motion"].fillna("new_business")
    if frame["owner_email"].isna().any():
        raise ValueError("quotas.owner_email must be set on every row")
    frame["owner_email"] = frame["owner_email"].astype(str).str.strip().str.lower()
    frame["first"] = pd.Series(
        calendar_dates(frame["period_start"], name="period_start"), index=frame.index, dtype=object
    )
    frame["last"] = pd.Series(
        calendar_dates(frame["period_end"], name="period_end"), index=frame.index, dtype=object
    )
    amounts = decimal_values(frame["amount"], name="quota amount", allow_float=True)
    for amount, first, last in zip(amounts, frame["first"], frame["last"], strict=True):
        if amount is None or amount < 0:
            raise ValueError(f"quota amount must be a non-negative number, got {amount!r}")
        if first is None or last is None or last < first:
            raise ValueError(f"quota period {first}..{last} is missing or ends before it starts")
    frame["quota"] = pd.Series(amounts, index=frame.index, dtype=object)
    frame["period"] = [
        f"{f.isoformat()}/{la.isoformat()}"
        for f, la in zip(frame["first"], frame["last"], strict=True)
    ]
    if frame.duplicated(subset=["owner_email", "period", "motion"]).any():
        raise ValueError("quotas hold two rows for the same owner, period and motion")
    return frame


DealRow = tuple[Any, Any, Any, Any]  # status, closed_at, close_day, amount


def _deal_rows(deals: pd.DataFrame) -> list[DealRow]:
    """The columns quota figures read, as plain tuples (one pass, no pandas per quota)."""
    return list(
        zip(
            deals["status"].tolist(),
            deals["closed_at"].tolist(),
            deals["close_day"].tolist(),
            deals["amount"].tolist(),
            strict=True,
        )
    )


def _period_figures(
    rows: Sequence[DealRow],
    *,
    quota: Decimal,
    first: Any,
    last: Any,
    as_of: pd.Timestamp,
    tz: str,
    rates: Mapping[str, Any],
) -> tuple[dict[str, Any], int]:
    start, end = days_instants(first, last, tz)
    won_amounts: list[Decimal | None] = []
    open_amounts: list[Decimal | None] = []
    for status, closed_at, close_day, amount in rows:
        if status == "won":
            if not pd.isna(closed_at) and start <= closed_at < end and closed_at < as_of:
                won_amounts.append(amount)
        elif status == "open" and close_day is not None and first <= close_day <= last:
            open_amounts.append(amount)
    won_total = exact_sum(a for a in won_amounts if a is not None)
    open_total = amount_total(open_amounts)
    remaining = quota - won_total
    covered = remaining <= 0
    win_rate = rates.get("win_rate")
    win_rate_amount = rates.get("win_rate_amount")
    avg_size = rates.get("avg_deal_size")
    if covered:
        need_amount: Any = Decimal(0)
        need_deals: Any = 0.0
    else:
        need_amount = ratio(
            remaining, None if win_rate_amount is None else Decimal(repr(win_rate_amount))
        )
        need_deals = (
            None
            if avg_size is None or win_rate is None
            else ratio(remaining, exact_product(avg_size, Decimal(repr(win_rate))))
        )
    figures = {
        "quota_attainment": ratio(won_total, quota),
        "coverage": None if covered else ratio(open_total, remaining),
        "required_pipeline": {
            "quota": quota,
            "won_amount": won_total,
            "open_amount": open_total,
            "remaining": max(remaining, Decimal(0)),
            "covered": covered,
            "amount": need_amount,
            "deals": need_deals,
        },
    }
    return figures, unconverted(won_amounts) + unconverted(open_amounts)


def quota_metrics(
    quotas: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    motion: str,
    as_of: pd.Timestamp,
    tz: str,
    rates_by_owner: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[dict[str, Any], dict[str, int]]]:
    """Per owner email (and TEAM = ''): metric -> {period: figure}, and excluded counts."""
    rows = quotas[quotas["motion"] == motion]
    out: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
    owners = deals["owner_email"].astype(object).where(deals["owner_email"].notna(), "")
    by_owner: dict[str, list[DealRow]] = {}
    for owner, row in zip(
        owners.map(lambda e: str(e).strip().lower()).tolist(), _deal_rows(deals), strict=True
    ):
        by_owner.setdefault(owner, []).append(row)

    def add(key: str, period: str, figures: dict[str, Any], excluded: int) -> None:
        values, excl = out.setdefault(key, ({}, {}))
        for metric, value in figures.items():
            values.setdefault(metric, {})[period] = value
            excl[metric] = excl.get(metric, 0) + excluded

    for row in rows.itertuples(index=False):
        figures, excluded = _period_figures(
            by_owner.get(row.owner_email, []),
            quota=row.quota,
            first=row.first,
            last=row.last,
            as_of=as_of,
            tz=tz,
            rates=rates_by_owner.get(row.owner_email, {}),
        )
        add(row.owner_email, row.period, figures, excluded)
    for period, group in rows.groupby("period", sort=True):
        members = sorted(set(group["owner_email"]))
        figures, excluded = _period_figures(
            [deal for member in members for deal in by_owner.get(member, [])],
            quota=exact_sum(group["quota"]),
            first=group["first"].iloc[0],
            last=group["last"].iloc[0],
            as_of=as_of,
            tz=tz,
            rates=rates_by_owner.get(TEAM, {}),
        )
        add(TEAM, str(period), figures, excluded)
    return out
