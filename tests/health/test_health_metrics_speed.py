"""compute_metrics' one-pass-per-family scopes give exactly what the per-scope functions
(count_metrics, outcome_metrics, ...) give on each scope's slice, and quantile_linear is
numpy's linear quantile bit for bit. Also: 20,000 deals and 1,000 owners stay fast."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from transforms.dtypes import DATE, MONEY, PROBABILITY, TIMESTAMP
from transforms.metrics import (
    LEAD_CHANNEL_METRICS,
    SCOPE_COLUMNS,
    STAGES_BY_MOTION,
    MetricsConfig,
    _with_stage_columns,
    compute_metrics,
)
from transforms.metrics_counts import count_metrics
from transforms.metrics_forecast import forecast_by_month
from transforms.metrics_grouped import quantile_linear
from transforms.metrics_inputs import prepare_deals, prepare_stays
from transforms.metrics_outcomes import outcome_metrics
from transforms.metrics_stage_flow import bottleneck, stage_conversion, time_in_stage
from transforms.metrics_stale import prepare_flags, stale_metrics

T = pd.Timestamp("2026-07-01T00:00Z")


def synthetic(n: int, owners: int, seed: int = 7) -> dict[str, Any]:
    """Random deals (some without amount, owner, stage or close date), stays and flags."""
    rng = np.random.default_rng(seed)
    created = T - pd.to_timedelta(rng.integers(1, 500 * 86_400, n), unit="s")
    status = rng.choice(["open", "won", "lost"], n, p=[0.5, 0.25, 0.25])
    motion = np.where(rng.random(n) < 0.15, "retention", "new_business")
    stage = np.where(motion == "retention", 7, rng.integers(1, 7, n)).astype(object)
    stage[rng.random(n) < 0.02] = None
    closed = pd.Series(created + pd.to_timedelta(rng.integers(1, 150 * 86_400, n), unit="s"))
    closed = closed.where((status != "open") & (closed < T), pd.NaT)
    status = np.where((status != "open") & closed.isna().to_numpy(), "open", status)
    amounts = [None if x < 300 else Decimal(int(x)) / 100 for x in rng.integers(0, 10**7, n)]
    owner = [None if x == 0 else f"rep{x}@example.com" for x in rng.integers(0, owners, n)]
    close_day = [
        None if x > 290 else (T + pd.Timedelta(days=int(x))).date()
        for x in rng.integers(-60, 300, n)
    ]
    keys = [f"sf:{i}" for i in range(n)]
    deals = pd.DataFrame(
        {
            "deal_key": keys,
            "source": rng.choice(["salesforce", "hubspot"], n),
            "pipeline": rng.choice(["default", "p2"], n),
            "stage_number": pd.array(list(stage), dtype="Int64"),
            "status": status,
            "motion": motion,
            "amount_reporting": pd.Series(amounts, dtype=MONEY),
            "probability": pd.Series(
                [Decimal(int(x)) / 100 for x in rng.integers(0, 101, n)], dtype=PROBABILITY
            ),
            "forecast_category": rng.choice(["pipeline", "commit", "best_case"], n),
            "owner_email": owner,
            "lead_channel": rng.choice(["inbound", "outbound", None], n),
            "created_at": pd.Series(created).astype(TIMESTAMP),
            "closed_at": closed.astype(TIMESTAMP),
            "close_date": pd.Series(close_day, dtype=DATE),
            "stage_entered_at": pd.Series(created).astype(TIMESTAMP),
            "is_deleted": rng.random(n) < 0.02,
        }
    )
    stay_rows = []
    for i in range(n):
        top = 7 if stage[i] == 7 else int(stage[i] or rng.integers(1, 7))
        start = created[i]
        for step, number in enumerate(range(max(1, top - 2), top + 1)):
            end = start + pd.Timedelta(seconds=int(rng.integers(3_600, 40 * 86_400)))
            last = step == top - max(1, top - 2)
            exited = None if last and status[i] == "open" else end
            stay_rows.append((keys[i], number, start, exited))
            start = end
    stays = pd.DataFrame(stay_rows, columns=["deal_key", "stage_number", "entered_at", "exited_at"])
    stays["stage_number"] = pd.array(stays["stage_number"].tolist(), dtype="Int64")
    stays["entered_at"] = pd.to_datetime(stays["entered_at"], utc=True).astype(TIMESTAMP)
    stays["exited_at"] = pd.to_datetime(stays["exited_at"], utc=True).astype(TIMESTAMP)
    flagged = rng.choice(n, n // 10, replace=False)
    flags = pd.DataFrame(
        {
            "deal_key": [keys[i] for i in flagged],
            "rules": rng.choice(
                ["no_activity", "past_close_date;stuck_in_stage", ""], len(flagged)
            ),
        }
    )
    return {"deals": deals, "stays": stays, "flags": flags}


def _per_slice(deals, stays, flags, *, scope, stages, config) -> dict[str, Any]:
    """The figures of one scope's slice through the per-scope functions (the reference)."""
    counts, _ = count_metrics(deals, stages=stages, per_owner=scope != "owner")
    outcomes, _ = outcome_metrics(
        deals, as_of=T, window_days=config.rate_window_days, open_deals=counts["open_deals"]
    )
    if scope == "lead_channel":
        return {m: outcomes[m] for m in LEAD_CHANNEL_METRICS}
    values = {**counts, **outcomes}
    values["stage_conversion"] = stage_conversion(deals, stays, as_of=T, cohort_days=365)
    times = time_in_stage(deals, stays, as_of=T, window_days=365, stages=stages)
    values["time_in_stage"] = times
    values["bottleneck"] = bottleneck(times)
    values["forecast_by_month"] = forecast_by_month(deals, as_of=T, config=config)[0]
    values["stale_deals"] = stale_metrics(flags, deals)[0]
    return values


def test_grouped_scopes_equal_the_per_slice_functions() -> None:
    data = synthetic(600, 25)
    config = MetricsConfig()
    result = compute_metrics(**data, snapshots=None, quotas=None, as_of=T, config=config)
    prepared = prepare_deals(data["deals"])
    all_stays = prepare_stays(data["stays"], prepared)
    prepared = _with_stage_columns(prepared, all_stays, as_of=T)
    all_stays = all_stays[all_stays["exited_at"].notna()]
    flags = prepare_flags(data["flags"])
    checked = 0
    for motion, stages in STAGES_BY_MOTION.items():
        motion_deals = prepared[prepared["motion"] == motion]
        motion_stays = all_stays[all_stays["motion"] == motion]
        for scope, column in {"all": None, **SCOPE_COLUMNS}.items():
            if column is None:
                slices = [("", motion_deals)]
            else:
                present = motion_deals[motion_deals[column].notna()]
                slices = list(present.groupby(present[column].astype(str), sort=True))
            for key, group in slices:
                group_stays = motion_stays[motion_stays["deal_key"].isin(group["deal_key"])]
                expected = _per_slice(
                    group, group_stays, flags, scope=scope, stages=stages, config=config
                )
                got = result.figures[(motion, scope, str(key))].values
                got = {name: got[name] for name in expected}
                assert got == expected, (motion, scope, key)
                checked += 1
    assert checked > 60


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10, 33])
def test_quantile_linear_is_numpys(size: int) -> None:
    rng = np.random.default_rng(size)
    for _ in range(300):
        values = (rng.random(size) * 10.0 ** int(rng.integers(-2, 5))).tolist()
        for q in (0.5, 0.9):
            assert quantile_linear(values, q) == float(np.quantile(values, q, method="linear"))
    assert quantile_linear([], 0.5) is None
    assert quantile_linear([10.0, 10.0, 15.0], 0.9) == 14.0


def test_every_owner_of_many_gets_a_scorecard_and_the_json_serializes() -> None:
    """Many owners with quotas: one owner scope each, and a JSON-ready result.

    Its speed is measured by the sync benchmark (`compute_health`), not timed here.
    """
    data = synthetic(4_000, 300)
    quotas = pd.DataFrame(
        {
            "owner_email": [f"rep{i}@example.com" for i in range(1, 300)],
            "period_start": [dt.date(2026, 7, 1)] * 299,
            "period_end": [dt.date(2026, 9, 30)] * 299,
            "amount": [Decimal(50_000)] * 299,
        }
    )
    result = compute_metrics(**data, snapshots=None, quotas=quotas, as_of=T)
    assert len({key for (_, scope, key) in result.figures if scope == "owner"}) == 299
    json.dumps(result.to_json_dict())
