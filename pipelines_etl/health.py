"""Pipeline health from the warehouse: load the canonical frames, compute, store, summarise.

`compute_health` is what `pipelines-etl metrics`, the HTML report, the sync and the Dagster
asset call; `store_health` writes the figures into `pipeline_metrics`. With a past as-of time
the frames are rewound with the stage history (deals created later dropped, deals closed
later reopened in the stage they were in at T); amounts, probabilities, close dates and owners
are the current values, since the warehouse keeps no history of them outside snapshots.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines_etl.config import AppConfig
from pipelines_etl.quotas import read_quotas_file
from transforms.dtypes import DATE, MONEY, PROBABILITY, STAGE_NUMBER, TIMESTAMP
from transforms.fiscal import require_utc_instant
from transforms.metrics import MetricsConfig, MetricsResult, compute_metrics
from warehouse.deal_frames import DealFrames
from warehouse.frames import read_frame
from warehouse.metrics_store import write_metric_rows
from warehouse.schema import deal_snapshots, deal_stage_history, deals, quotas, stale_deal_flags

ACTIVE_FLAG_STATES: tuple[str, ...] = ("proposed", "pushed")
DEAL_COLUMNS: tuple[str, ...] = (
    "deal_key",
    "source",
    "pipeline",
    "stage_number",
    "stage",
    "status",
    "motion",
    "amount_reporting",
    "probability",
    "forecast_category",
    "owner_email",
    "owner_name",
    "lead_channel",
    "created_at",
    "closed_at",
    "close_date",
    "stage_entered_at",
    "last_activity_at",
    "last_modified_at",
    "is_deleted",
)
STAY_COLUMNS: tuple[str, ...] = (
    "deal_key",
    "stage_number",
    "stage",
    "entered_at",
    "exited_at",
    "exit_reason",
    "duration_days",
)
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "snapshot_date",
    "deal_key",
    "motion",
    "status",
    "stage_number",
    "amount_reporting",
    "close_date",
    "owner_email",
    "is_deleted",
)
QUOTA_COLUMNS: tuple[str, ...] = ("owner_email", "period_start", "period_end", "amount")
FLAG_COLUMNS: tuple[str, ...] = ("deal_key", "rules", "state", "flagged_since")
HEADLINE_METRICS: tuple[str, ...] = (
    "open_deals",
    "open_pipeline_amount",
    "weighted_pipeline_amount",
    "win_rate",
    "avg_deal_size",
    "avg_sales_cycle_days",
    "pipeline_velocity",
)
NO_DEALS_MESSAGE = "no deals yet: run pipelines-etl sync"
# forecast_accuracy scores up to 12 complete months before T's (zoned) month: 14 is enough
SNAPSHOT_MONTHS = 14


class NoDealsYet(ValueError):
    """The warehouse holds no deals: there is nothing to measure until a sync has run."""


@dataclass(frozen=True)
class MetricInputs:
    """The frames `compute_metrics` reads, typed as it expects, as of one instant."""

    deals: pd.DataFrame
    stays: pd.DataFrame
    snapshots: pd.DataFrame
    quotas: pd.DataFrame
    flags: pd.DataFrame
    as_of: pd.Timestamp


# ---- typed frames from rows -------------------------------------------------------------


def _select(
    conn: sa.Connection,
    table: sa.Table,
    columns: Iterable[str],
    *,
    where: sa.ColumnElement[bool] | None = None,
) -> pd.DataFrame:
    names = list(columns)
    query = sa.select(*(table.c[n] for n in names))
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=names, dtype=object)


def _scored_snapshot_dates(conn: sa.Connection, as_of: pd.Timestamp) -> list[dt.date]:
    """The first snapshot date of each calendar month in the last SNAPSHOT_MONTHS before T.

    forecast_accuracy reads only the first snapshot on or after each scored month's first
    day, so the other (daily) snapshots are never loaded.
    """
    last_day = (as_of - pd.Timedelta(microseconds=1)).date()
    index = last_day.year * 12 + last_day.month - 1 - SNAPSHOT_MONTHS
    since = dt.date(index // 12, index % 12 + 1, 1)
    firsts = conn.execute(
        sa.select(sa.func.min(deal_snapshots.c.snapshot_date))
        .where(deal_snapshots.c.snapshot_date >= since)
        .where(deal_snapshots.c.snapshot_date <= last_day)
        .group_by(
            sa.func.extract("year", deal_snapshots.c.snapshot_date),
            sa.func.extract("month", deal_snapshots.c.snapshot_date),
        )
    ).scalars()
    return sorted(firsts)


def _timestamps(series: pd.Series) -> pd.Series:
    if str(series.dtype) == TIMESTAMP:
        return series
    values = [None if v is None or v is pd.NaT else v for v in series.tolist()]
    return pd.Series(pd.to_datetime(values, utc=True), index=series.index).astype(TIMESTAMP)


def _money(series: pd.Series, dtype: pd.ArrowDtype = MONEY) -> pd.Series:
    if series.dtype == dtype:
        return series
    values = [None if v is None else Decimal(v) for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=dtype)


def _dates(series: pd.Series) -> pd.Series:
    if series.dtype == DATE:
        return series
    values = [None if v is None or v is pd.NaT else v for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=DATE)


def _stage_numbers(series: pd.Series) -> pd.Series | pd.api.extensions.ExtensionArray:
    if series.dtype == STAGE_NUMBER:
        return series
    return pd.array(series.tolist(), dtype=STAGE_NUMBER)


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def _typed_deals(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in (
        "created_at",
        "closed_at",
        "stage_entered_at",
        "last_activity_at",
        "last_modified_at",
    ):
        out[column] = _timestamps(out[column])
    out["amount_reporting"] = _money(out["amount_reporting"])
    out["probability"] = _money(out["probability"], PROBABILITY)
    out["close_date"] = _dates(out["close_date"])
    out["stage_number"] = _stage_numbers(out["stage_number"])
    out["is_deleted"] = out["is_deleted"].astype(bool)
    for column in (
        "deal_key",
        "source",
        "pipeline",
        "stage",
        "status",
        "motion",
        "forecast_category",
        "owner_email",
        "owner_name",
        "lead_channel",
    ):
        out[column] = _text(out[column])
    return out


def _typed_stays(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["entered_at"] = _timestamps(out["entered_at"])
    out["exited_at"] = _timestamps(out["exited_at"])
    out["stage_number"] = _stage_numbers(out["stage_number"])
    out["duration_days"] = pd.to_numeric(
        pd.Series(out["duration_days"].tolist(), index=out.index, dtype=object).astype(float)
    )
    for column in ("deal_key", "stage", "exit_reason"):
        out[column] = _text(out[column])
    return out


def _typed_snapshots(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["snapshot_date"] = _dates(out["snapshot_date"])
    out["close_date"] = _dates(out["close_date"])
    out["amount_reporting"] = _money(out["amount_reporting"])
    out["stage_number"] = _stage_numbers(out["stage_number"])
    out["is_deleted"] = out["is_deleted"].astype(bool)
    for column in ("deal_key", "motion", "status", "owner_email"):
        out[column] = _text(out[column])
    return out


def _typed_quotas(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["owner_email"] = _text(out["owner_email"])
    out["period_start"] = _dates(out["period_start"])
    out["period_end"] = _dates(out["period_end"])
    out["amount"] = _money(out["amount"])
    return out


def split_flag_rules(value: object) -> list[str]:
    """Rule names of a stored flag: ';' (as detect_stale joins them) or ',' separated text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    parts = str(value).replace(",", ";").split(";")
    return sorted({p.strip() for p in parts if p.strip()})


def _typed_flags(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "deal_key": _text(frame["deal_key"]),
            "rules": pd.Series(
                [split_flag_rules(v) for v in frame["rules"].tolist()],
                index=frame.index,
                dtype=object,
            ),
            "state": _text(frame["state"]),
            "flagged_since": _dates(frame["flagged_since"]),
        }
    )
    return out


# ---- rewinding to a past as-of time -----------------------------------------------------


def _stay_at(stays: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per deal, the stay it was in at `as_of` (entered before, not exited by then)."""
    current = stays[
        (stays["entered_at"] < as_of) & (stays["exited_at"].isna() | (stays["exited_at"] >= as_of))
    ]
    return (
        current.sort_values("entered_at")
        .groupby("deal_key", sort=False)
        .last()[["stage_number", "stage", "entered_at"]]
    )


def rewind(inputs: MetricInputs) -> MetricInputs:
    """The frames as they stood at `inputs.as_of`, as far as stage history can tell."""
    as_of = inputs.as_of
    deals_frame = inputs.deals
    created = deals_frame["created_at"]
    deals_frame = deals_frame[~(created >= as_of).fillna(False).astype(bool)].copy()
    stays = inputs.stays[inputs.stays["entered_at"] < as_of].copy()
    later = (stays["exited_at"] >= as_of).fillna(False).astype(bool)
    stays.loc[later, "exited_at"] = pd.NaT
    stays.loc[later, "exit_reason"] = None
    stays.loc[later, "duration_days"] = np.nan
    closed_later = (deals_frame["closed_at"] >= as_of).fillna(False).astype(bool)
    if closed_later.any():
        deals_frame.loc[closed_later, "status"] = "open"
        deals_frame.loc[closed_later, "closed_at"] = pd.NaT
        deals_frame.loc[closed_later, "forecast_category"] = None
    at = _stay_at(stays, as_of)
    now_open = deals_frame["status"] == "open"
    keys = deals_frame["deal_key"]
    known = now_open & keys.isin(at.index)
    if known.any():
        chosen = at.reindex(keys[known].to_numpy())
        deals_frame.loc[known, "stage_number"] = pd.array(
            chosen["stage_number"].tolist(), dtype=STAGE_NUMBER
        )
        deals_frame.loc[known, "stage"] = chosen["stage"].tolist()
        deals_frame.loc[known, "stage_entered_at"] = pd.Series(
            chosen["entered_at"].to_numpy(), index=deals_frame.index[known]
        ).astype(TIMESTAMP)
    snapshots = inputs.snapshots
    last_day = (as_of - pd.Timedelta(microseconds=1)).date()
    if len(snapshots):
        days = pd.Series([d for d in snapshots["snapshot_date"]], dtype=object)
        snapshots = snapshots[(days <= last_day).to_numpy()]
    flags = inputs.flags
    if len(flags):
        since = pd.Series(list(flags["flagged_since"]), dtype=object)
        keep = since.map(lambda d: d is None or pd.isna(d) or d <= last_day).to_numpy(dtype=bool)
        flags = flags[keep]
    return MetricInputs(
        deals=deals_frame.reset_index(drop=True),
        stays=stays.reset_index(drop=True),
        snapshots=snapshots.reset_index(drop=True),
        quotas=inputs.quotas,
        flags=flags.reset_index(drop=True),
        as_of=as_of,
    )


# ---- the public helpers -----------------------------------------------------------------


def load_metric_inputs(
    engine: sa.Engine, *, as_of: pd.Timestamp, frames: DealFrames | None = None
) -> MetricInputs:
    """Read deals, stays, snapshots, quotas and active flags, typed for `compute_metrics`.

    `frames`: the deals and stays already read (the sync shares them with stale detection).
    """
    stamp = require_utc_instant(as_of)
    with engine.connect() as conn:
        # Read raw and typed a column at a time (`read_frame`): the same values the column
        # types return, without their per-row result processing.
        if frames is None:
            deal_rows = read_frame(conn, deals, DEAL_COLUMNS)
            stay_rows = read_frame(conn, deal_stage_history, STAY_COLUMNS)
        else:
            deal_rows = frames.deal_columns(DEAL_COLUMNS)
            stay_rows = frames.stay_columns(STAY_COLUMNS)
        snapshot_rows = read_frame(
            conn,
            deal_snapshots,
            SNAPSHOT_COLUMNS,
            where=deal_snapshots.c.snapshot_date.in_(_scored_snapshot_dates(conn, stamp)),
        )
        quota_rows = _select(conn, quotas, QUOTA_COLUMNS)
        flag_rows = conn.execute(
            sa.select(*(stale_deal_flags.c[n] for n in FLAG_COLUMNS)).where(
                stale_deal_flags.c.state.in_(ACTIVE_FLAG_STATES)
            )
        ).all()
    flags_frame = pd.DataFrame(
        [tuple(r) for r in flag_rows], columns=list(FLAG_COLUMNS), dtype=object
    )
    inputs = MetricInputs(
        deals=_typed_deals(deal_rows),
        stays=_typed_stays(stay_rows),
        snapshots=_typed_snapshots(snapshot_rows),
        quotas=_typed_quotas(quota_rows),
        flags=_typed_flags(flags_frame),
        as_of=stamp,
    )
    return rewind(inputs)


def metrics_config(app_config: AppConfig) -> MetricsConfig:
    """The metrics settings the configuration names (rate window, time zone, fiscal year)."""
    return MetricsConfig(
        rate_window_days=app_config.rate_window_days,
        reporting_tz=app_config.reporting_timezone,
        fiscal_year_start_month=app_config.fiscal_year_start_month,
    )


def end_of_day(day: dt.date) -> pd.Timestamp:
    """T for `--as-of DATE`: the end of DATE in UTC (the start of the next day)."""
    return pd.Timestamp(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC))


def deal_count(engine: sa.Engine) -> int:
    """How many live (not deleted) deals the warehouse holds."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(deals).where(deals.c.is_deleted.is_(False))
        ).scalar_one()


def compute_health(
    engine: sa.Engine,
    *,
    app_config: AppConfig,
    as_of: pd.Timestamp | None = None,
    frames: DealFrames | None = None,
) -> MetricsResult:
    """Every metric of metrics.md as of `as_of` (default now) from what the warehouse holds.

    Quotas come from the configured quotas file when one is named (validated; the warehouse
    copy is refreshed by `refresh_quotas`), else from the `quotas` table. `frames`: the
    deals and stays already read (see `load_metric_inputs`).
    """
    stamp = pd.Timestamp.now(tz="UTC") if as_of is None else require_utc_instant(as_of)
    inputs = load_metric_inputs(engine, as_of=stamp, frames=frames)
    quota_frame = inputs.quotas
    if app_config.quotas_file is not None:
        quota_frame = _typed_quotas(
            read_quotas_file(
                app_config.quotas_file,
                fiscal_year_start_month=app_config.fiscal_year_start_month,
            )
        )
    return compute_metrics(
        deals=inputs.deals,
        stays=inputs.stays,
        snapshots=inputs.snapshots,
        quotas=quota_frame,
        flags=inputs.flags,
        as_of=stamp,
        config=metrics_config(app_config),
    )


# ---- pipeline_metrics rows --------------------------------------------------------------

_COUNT_SUFFIXES = ("count", "stays", "deals", "excluded_unconverted")
_RATIO_METRICS = frozenset(
    {"win_rate", "win_rate_amount", "stage_conversion", "quota_attainment", "coverage"}
)
_CURRENCY_METRICS = frozenset(
    {"open_pipeline_amount", "weighted_pipeline_amount", "avg_deal_size", "median_deal_size"}
)
_DAY_METRICS = frozenset({"avg_sales_cycle_days", "median_sales_cycle_days", "time_in_stage"})


def metric_unit(metric: str, key: str, *, currency: str) -> str | None:
    """The unit of one flattened figure: a currency code, days, ratio, count or per_day."""
    leaf = key.rsplit("|", 1)[-1]
    if leaf == "excluded_unconverted" or metric == "open_deals":
        return "count"
    if metric == "pipeline_velocity":
        return currency + "/day" if currency != "currency" else "per_day"
    if metric in _CURRENCY_METRICS:
        return currency
    if leaf.endswith("share"):
        return "ratio"
    if metric in _DAY_METRICS:
        return "count" if leaf == "stays" else "days"
    if leaf == "deals" and metric == "required_pipeline":
        return "count"
    if leaf.endswith("amount") or leaf in ("quota", "remaining"):
        return currency
    if leaf.endswith(_COUNT_SUFFIXES) or metric == "open_deals":
        return "count"
    if metric in _RATIO_METRICS:
        return "ratio"
    return None


def _exact(value: Any, text: Any) -> tuple[Decimal | float | None, str | None]:
    """The stored value: money exactly from its text, other numbers as they are."""
    number = None if value is None or pd.isna(value) else float(value)
    if text is None:
        return (None if number is None or not math.isfinite(number) else number), None
    if number is not None and text not in ("true", "false"):
        return Decimal(text), None
    return number, text


def metric_rows(result: MetricsResult, *, currency: str = "currency") -> list[dict[str, Any]]:
    """The `pipeline_metrics` rows of a result (value exact for money, units filled in)."""
    frame = result.to_frame()
    rows: list[dict[str, Any]] = []
    for record in frame.astype(object).itertuples(index=False):
        value, text = _exact(record.value, record.value_text)
        rows.append(
            {
                "motion": record.motion,
                "scope": record.scope,
                "scope_key": record.scope_key,
                "metric": record.metric,
                "key": record.key,
                "value": value,
                "value_text": text,
                "unit": metric_unit(record.metric, record.key, currency=currency),
            }
        )
    return rows


def store_health(
    engine: sa.Engine,
    result: MetricsResult,
    *,
    run_id: str | None = None,
    currency: str | None = None,
) -> int:
    """Write the result's `pipeline_metrics` rows under `run_id` (default a new uuid)."""
    rows = metric_rows(result, currency=currency or "currency")
    with engine.begin() as conn:
        return write_metric_rows(
            conn,
            run_id=run_id or uuid.uuid4().hex,
            computed_at=dt.datetime.now(dt.UTC),
            as_of=result.as_of.to_pydatetime(),
            rows=rows,
        )


def headline(result: MetricsResult) -> dict[str, object]:
    """The headline figures (open deals and pipeline, win rate, size, cycle, velocity, stale)."""
    out: dict[str, object] = {name: result.value(name) for name in HEADLINE_METRICS}
    stale = result.value("stale_deals")
    stale_map: Mapping[str, Any] = stale if isinstance(stale, Mapping) else {}
    out["stale_deals"] = stale_map.get("count")
    out["stale_share"] = stale_map.get("share_amount")
    out["stale_share_count"] = stale_map.get("share_count")
    return out
