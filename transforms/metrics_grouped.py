"""Every scope's figures in one pass per metric family, instead of one pandas slice per scope.

`compute_metrics` used to slice the deals of each source, owner, pipeline and lead channel
and run the metric families on each slice: a few dozen pandas calls per scope, seconds for a
few hundred owners. Here each family walks the motion's deals once, keyed by a group code,
and finishes each group with the same exact helpers (`amount_total`, `finished`,
`percentile_cont`, `exact_mean`, `np.quantile`) the per-scope functions use, so the figures
are the same as those functions give on the slice (the tests in tests/transforms hold both).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from transforms.fiscal import (
    add_months,
    fiscal_quarter_label,
    local_date,
    month_first_day,
    month_key,
)
from transforms.metrics_config import MetricsConfig
from transforms.metrics_counts import NO_OWNER, amount_total, empty_bucket, finished, unconverted
from transforms.metrics_forecast import NO_CLOSE_DATE, OVERDUE
from transforms.metrics_inputs import days_between
from transforms.metrics_money import exact_mean, percentile_cont, ratio
from transforms.metrics_outcomes import MEDIAN, _velocity
from transforms.metrics_stage_flow import CONVERSION_STEPS


@dataclass(frozen=True)
class Grouping:
    """Group keys (sorted text) and each deal's / stay's group code (-1: in no group)."""

    keys: list[str]
    deal_codes: np.ndarray
    stay_codes: np.ndarray

    @property
    def size(self) -> int:
        """Number of groups."""
        return len(self.keys)


def _codes(values: pd.Series, keys: list[str]) -> np.ndarray:
    present = values.notna().to_numpy(dtype=bool)
    codes = np.full(len(values), -1, dtype=np.int64)
    if present.any() and keys:
        text = values[present].astype(str)
        codes[present] = pd.Index(keys).get_indexer(text.to_numpy(dtype=object))
    return codes


def stay_positions(deals: pd.DataFrame, stays: pd.DataFrame) -> np.ndarray:
    """Each stay's row in `deals` (-1: its deal is not there); the same for every scope."""
    return pd.Index(deals["deal_key"].to_numpy(dtype=object)).get_indexer(
        stays["deal_key"].to_numpy(dtype=object)
    )


def grouping(
    deals: pd.DataFrame,
    stays: pd.DataFrame,
    column: str | None,
    *,
    positions: np.ndarray | None = None,
) -> Grouping:
    """One group of everything (column None), or one per distinct value of the deals' `column`.

    `positions` is `stay_positions(deals, stays)` when the caller has it already.
    """
    if column is None:
        keys = [""]
        deal_codes = np.zeros(len(deals), dtype=np.int64)
    else:
        present = deals[column][deals[column].notna()]
        keys = sorted(set(present.astype(str).tolist()))
        deal_codes = _codes(deals[column], keys)
    # a stay belongs to its deal's group; stays of deals not in `deals` to none
    position = stay_positions(deals, stays) if positions is None else positions
    with_sentinel = np.append(deal_codes, -1)
    return Grouping(keys, deal_codes, with_sentinel[position])


def _bool(series: pd.Series) -> np.ndarray:
    return series.fillna(False).to_numpy(dtype=bool)


def _collect(codes: np.ndarray, values: Sequence[Any], size: int) -> list[list[Any]]:
    """Per group, the values of its rows in row order (rows with code -1 dropped)."""
    out: list[list[Any]] = [[] for _ in range(size)]
    for code, value in zip(codes.tolist(), values, strict=True):
        if code >= 0:
            out[code].append(value)
    return out


def _buckets(
    codes: np.ndarray,
    keys: Sequence[str],
    frame: pd.DataFrame,
    *,
    size: int,
    weighted: bool = True,
    commit: bool = False,
) -> list[dict[str, dict[str, Any]]]:
    """`bucket_totals` of each group's rows: per key count, amount, weighted / commit amount."""
    amounts = frame["amount"].tolist()
    weights = frame["weighted"].tolist() if weighted else [None] * len(amounts)
    categories = frame["forecast_category"].tolist() if commit else [None] * len(amounts)
    grouped: list[dict[str, tuple[list, list, list]]] = [{} for _ in range(size)]
    rows = zip(codes.tolist(), keys, amounts, weights, categories, strict=True)
    for code, key, amount, weight, category in rows:
        if code < 0:
            continue
        lists = grouped[code].setdefault(key, ([], [], []))
        lists[0].append(amount)
        lists[1].append(weight)
        if category == "commit":
            lists[2].append(amount)
    base = empty_bucket(weighted=weighted, commit=commit)
    return [
        {key: base | finished(lists, weighted, commit) for key, lists in group.items()}
        for group in grouped
    ]


def _stage_key(stage: object) -> str:
    return "unknown" if pd.isna(stage) else str(int(stage))


def _stage_keys(stages: Sequence[object]) -> list[str]:
    """`_stage_key` of each stage, worked out once per distinct stage value."""
    known: dict[object, str] = {}
    out: list[str] = []
    for stage in stages:
        key = known.get(stage)
        if key is None:
            key = known[stage] = _stage_key(stage)
        out.append(key)
    return out


def open_counts(deals: pd.DataFrame, g: Grouping) -> list[int]:
    """Open deals per group."""
    is_open = (deals["status"] == "open").to_numpy(dtype=bool)
    codes = g.deal_codes[is_open]
    return np.bincount(codes[codes >= 0], minlength=g.size).tolist()


def grouped_counts(
    deals: pd.DataFrame, g: Grouping, *, stages: Sequence[int], per_owner: bool
) -> list[tuple[dict[str, Any], dict[str, int]]]:
    """`count_metrics` of every group."""
    is_open = (deals["status"] == "open").to_numpy(dtype=bool)
    open_deals = deals[is_open]
    codes = g.deal_codes[is_open]
    amounts = _collect(codes, open_deals["amount"].tolist(), g.size)
    weights = _collect(codes, open_deals["weighted"].tolist(), g.size)
    by_stage = _buckets(
        codes, _stage_keys(open_deals["stage_number"].tolist()), open_deals, size=g.size
    )
    if per_owner:
        owners = [NO_OWNER if pd.isna(e) else str(e) for e in open_deals["owner_email"].tolist()]
        by_owner = _buckets(codes, owners, open_deals, size=g.size, weighted=False)
    out = []
    for index in range(g.size):
        left_out = unconverted(amounts[index])
        values: dict[str, Any] = {
            "open_deals": len(amounts[index]),
            "open_pipeline_amount": amount_total(amounts[index]),
            "weighted_pipeline_amount": amount_total(weights[index]),
        }
        excluded = {
            "open_pipeline_amount": left_out,
            "weighted_pipeline_amount": left_out,
            "stage_distribution": left_out,
        }
        found = by_stage[index]
        distribution = {str(s): found.get(str(s), empty_bucket()) for s in stages}
        if "unknown" in found:
            distribution["unknown"] = found["unknown"]
        values["stage_distribution"] = distribution
        if per_owner:
            per = by_owner[index]
            values["active_deals_per_owner"] = {key: per[key] for key in sorted(per)}
            excluded["active_deals_per_owner"] = left_out
        out.append((values, excluded))
    return out


def grouped_outcomes(
    deals: pd.DataFrame,
    g: Grouping,
    *,
    as_of: pd.Timestamp,
    window_days: int,
    open_counts: Sequence[int],
) -> list[tuple[dict[str, Any], dict[str, int]]]:
    """`outcome_metrics` of every group."""
    closed_at = deals["closed_at"]
    start = as_of - dt.timedelta(days=window_days)
    in_window = _bool((closed_at >= start) & (closed_at < as_of))
    status = deals["status"].to_numpy(dtype=object)
    won_mask = in_window & (status == "won")
    lost_mask = in_window & (status == "lost")
    won = deals[won_mask]
    won_codes = g.deal_codes[won_mask]
    lost_codes = g.deal_codes[lost_mask]
    won_amounts = _collect(won_codes, won["amount"].tolist(), g.size)
    lost_amounts = _collect(lost_codes, deals.loc[lost_mask, "amount"].tolist(), g.size)
    cycles = days_between(won["closed_at"], won["created_at"]).to_numpy(dtype=float)
    cycle_lists = _collect(won_codes, cycles.tolist(), g.size)
    out = []
    for index in range(g.size):
        won_all, lost_all = won_amounts[index], lost_amounts[index]
        won_known = [a for a in won_all if a is not None]
        lost_known = [a for a in lost_all if a is not None]
        group_cycles = np.array([c for c in cycle_lists[index] if not np.isnan(c)], dtype=float)
        avg_cycle = float(group_cycles.mean()) if len(group_cycles) else None
        avg_size = exact_mean(won_known)
        values = {
            "win_rate": ratio(len(won_all), len(won_all) + len(lost_all)),
            "win_rate_amount": ratio(amount_total(won_known), amount_total(won_known + lost_known)),
            "avg_deal_size": avg_size,
            "median_deal_size": percentile_cont(won_known, MEDIAN),
            "avg_sales_cycle_days": avg_cycle,
            "median_sales_cycle_days": (
                quantile_linear(group_cycles.tolist(), 0.5) if len(group_cycles) else None
            ),
            "pipeline_velocity": _velocity(
                open_deals=open_counts[index],
                won=len(won_all),
                closed=len(won_all) + len(lost_all),
                avg_size=avg_size,
                cycle=avg_cycle,
            ),
        }
        excluded = {
            "win_rate_amount": unconverted(won_all) + unconverted(lost_all),
            "avg_deal_size": unconverted(won_all),
            "median_deal_size": unconverted(won_all),
            "pipeline_velocity": unconverted(won_all),
        }
        out.append((values, excluded))
    return out


def grouped_conversion(
    deals: pd.DataFrame, g: Grouping, *, as_of: pd.Timestamp, cohort_days: int
) -> list[dict[str, float | None]]:
    """`stage_conversion` of every group (deals carry entry_stage / highest_stage)."""
    created = deals["created_at"]
    cohort_mask = _bool((created >= as_of - dt.timedelta(days=cohort_days)) & (created < as_of))
    entry = deals["entry_stage"].to_numpy(dtype=float, na_value=np.nan)
    highest = deals["highest_stage"].to_numpy(dtype=float, na_value=np.nan)
    closed = deals["status"].isin(["won", "lost"]).to_numpy(dtype=bool)
    member = cohort_mask & (g.deal_codes >= 0)
    codes = g.deal_codes[member]
    entry, highest, closed = entry[member], highest[member], closed[member]
    out: list[dict[str, float | None]] = [{} for _ in range(g.size)]
    for k in CONVERSION_STEPS:
        cohort = (entry <= k) & (highest >= k)
        passed = np.bincount(codes[cohort & (highest >= k + 1)], minlength=g.size).tolist()
        lost = np.bincount(codes[cohort & (highest == k) & closed], minlength=g.size).tolist()
        for index in range(g.size):
            p, lo = passed[index], lost[index]
            out[index][f"{k}->{k + 1}"] = p / (p + lo) if p + lo else None
    return out


def quantile_linear(values: Sequence[float], q: float) -> float | None:
    """`np.quantile(values, q, method="linear")` for a short list, without numpy's overhead.

    The same float operations as numpy 2's linear method: virtual index (n - 1) * q, and
    interpolation from the nearer end (b - (b - a) * (1 - t) when t >= 0.5), so the result
    is bit-for-bit numpy's. None for no values; NaN-free input expected.
    """
    if not values:
        return None
    ordered = sorted(values)
    count = len(ordered)
    virtual = (count - 1) * q
    if virtual >= count - 1:
        return float(ordered[-1])
    low = math.floor(virtual)
    t = virtual - low
    a, b = ordered[low], ordered[low + 1]
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


_quantile = quantile_linear


def _by_code_and_stage(
    codes: np.ndarray,
    stages: np.ndarray,
    values: np.ndarray,
    *,
    wanted: dict[float, str],
    size: int,
) -> list[dict[str, list[float]]]:
    """Per group, per wanted stage, its rows' values (in no particular order), by one sort."""
    out: list[dict[str, list[float]]] = [{} for _ in range(size)]
    keep = (codes >= 0) & np.isin(stages, list(wanted))
    codes, stages, values = codes[keep], stages[keep], values[keep]
    if len(codes) == 0:
        return out
    order = np.lexsort((stages, codes))
    codes, stages, values = codes[order], stages[order], values[order]
    cuts = np.flatnonzero((np.diff(codes) != 0) | (np.diff(stages) != 0)) + 1
    starts = [0, *cuts.tolist()]
    for start, chunk in zip(starts, np.split(values, cuts), strict=True):
        out[int(codes[start])][wanted[float(stages[start])]] = chunk.tolist()
    return out


def grouped_time_in_stage(
    deals: pd.DataFrame,
    stays: pd.DataFrame,
    g: Grouping,
    *,
    as_of: pd.Timestamp,
    window_days: int,
    stages: Sequence[int],
) -> list[dict[str, dict[str, Any]]]:
    """`time_in_stage` of every group (deals carry stage_age_days; stays are completed)."""
    exited = stays["exited_at"]
    ended = _bool(
        (exited >= as_of - dt.timedelta(days=window_days))
        & (exited < as_of)
        & stays["duration_days"].notna()
    )
    stay_stage = stays["stage_number"].to_numpy(dtype=float, na_value=np.nan)[ended]
    durations = stays["duration_days"].to_numpy(dtype=float)[ended]
    stay_codes = g.stay_codes[ended]
    is_open = (deals["status"] == "open").to_numpy(dtype=bool)
    ages = deals["stage_age_days"].to_numpy(dtype=float, na_value=np.nan)[is_open]
    open_stage = deals["stage_number"].to_numpy(dtype=float, na_value=np.nan)[is_open]
    open_codes = g.deal_codes[is_open]
    wanted = {float(s): str(s) for s in stages}
    finished_stays = _by_code_and_stage(
        stay_codes, stay_stage, durations, wanted=wanted, size=g.size
    )
    current = _by_code_and_stage(
        open_codes[~np.isnan(ages)],
        open_stage[~np.isnan(ages)],
        ages[~np.isnan(ages)],
        wanted=wanted,
        size=g.size,
    )
    out = []
    for index in range(g.size):
        times: dict[str, dict[str, Any]] = {}
        for stage in stages:
            chosen = finished_stays[index].get(str(stage), [])
            times[str(stage)] = {
                "median": _quantile(chosen, 0.5),
                "p90": _quantile(chosen, 0.9),
                "current_age_median": _quantile(current[index].get(str(stage), []), 0.5),
                "stays": len(chosen),
            }
        out.append(times)
    return out


def grouped_forecast(
    deals: pd.DataFrame, g: Grouping, *, as_of: pd.Timestamp, config: MetricsConfig
) -> list[tuple[dict[str, Any], int]]:
    """`forecast_by_month` of every group."""
    is_open = (deals["status"] == "open").to_numpy(dtype=bool)
    open_deals = deals[is_open]
    codes = g.deal_codes[is_open]
    today = local_date(as_of, config.reporting_tz)
    first_month = month_first_day(today)
    days = open_deals["close_day"].tolist()
    keys = [NO_CLOSE_DATE if d is None else (OVERDUE if d < today else month_key(d)) for d in days]
    totals = _buckets(codes, keys, open_deals, size=g.size, commit=True)
    latest: list[dt.date | None] = [None] * g.size
    for code, day in zip(codes.tolist(), days, strict=True):
        if code >= 0 and day is not None and day >= today:
            known = latest[code]
            latest[code] = day if known is None or day > known else known
    left_out = [unconverted(a) for a in _collect(codes, open_deals["amount"].tolist(), g.size)]
    empty = empty_bucket(commit=True)
    out = []
    for index in range(g.size):
        found = totals[index]
        forecast: dict[str, Any] = {}
        last_day = latest[index]
        if last_day is not None:
            month, last = first_month, month_first_day(last_day)
            while month <= last:
                bucket = dict(found.get(month_key(month), empty))
                bucket["fiscal_quarter"] = fiscal_quarter_label(
                    month,
                    start_month=config.fiscal_year_start_month,
                    named_by=config.fiscal_year_named_by,
                )
                forecast[month_key(month)] = bucket
                month = add_months(month, 1)
        forecast[OVERDUE] = found.get(OVERDUE, empty)
        if NO_CLOSE_DATE in found:
            forecast[NO_CLOSE_DATE] = found[NO_CLOSE_DATE]
        out.append((forecast, left_out[index]))
    return out


def _count_amount(amounts: list[Decimal | None]) -> dict[str, Any]:
    return {"count": len(amounts), "amount": amount_total(amounts)}


def grouped_stale(
    flags: pd.DataFrame, deals: pd.DataFrame, g: Grouping
) -> list[tuple[dict[str, Any], int]]:
    """`stale_metrics` of every group (flags: deal_key -> rule_list, one row per deal)."""
    is_open = (deals["status"] == "open").to_numpy(dtype=bool)
    open_deals = deals[is_open]
    codes = g.deal_codes[is_open]
    rules_by_key = dict(zip(flags["deal_key"].tolist(), flags["rule_list"].tolist(), strict=True))
    open_amounts = _collect(codes, open_deals["amount"].tolist(), g.size)
    stale_amounts: list[list[Decimal | None]] = [[] for _ in range(g.size)]
    by_rule: list[dict[str, list]] = [{} for _ in range(g.size)]
    by_stage: list[dict[str, list]] = [{} for _ in range(g.size)]
    # only the flagged open deals in some group reach the per-row loop
    hit = (codes >= 0) & open_deals["deal_key"].isin(list(rules_by_key)).to_numpy(dtype=bool)
    flagged = open_deals[hit]
    rows = zip(
        codes[hit].tolist(),
        flagged["deal_key"].tolist(),
        flagged["amount"].tolist(),
        flagged["stage_number"].tolist(),
        strict=True,
    )
    for code, key, amount, stage in rows:
        if code < 0 or key not in rules_by_key:
            continue
        stale_amounts[code].append(amount)
        for rule in rules_by_key[key]:
            if not pd.isna(rule):
                by_rule[code].setdefault(str(rule), []).append(amount)
        by_stage[code].setdefault(_stage_key(stage), []).append(amount)
    out = []
    for index in range(g.size):
        stale = stale_amounts[index]
        figures = _count_amount(stale)
        figures["share_count"] = ratio(len(stale), len(open_amounts[index]))
        figures["share_amount"] = ratio(
            amount_total([a for a in stale if a is not None]),
            amount_total([a for a in open_amounts[index] if a is not None]),
        )
        figures["rules"] = {k: _count_amount(v) for k, v in sorted(by_rule[index].items())}
        figures["stages"] = {k: _count_amount(v) for k, v in sorted(by_stage[index].items())}
        out.append((figures, unconverted(stale)))
    return out
