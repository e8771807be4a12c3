"""Assemble the report's content from metrics results: every figure, row and chart series.

Nothing here reads the warehouse: `build_report` takes the MetricsResult at T, the trend
points and the source lines, so it is tested on hand-built results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from pipelines_etl.report.figures import Figure, FigureSource
from pipelines_etl.report.formatting import Format, format_value
from pipelines_etl.report.sources import SourceLine
from pipelines_etl.report.trend import TrendValues
from transforms.fiscal import local_date
from transforms.metrics import MetricsResult
from transforms.stages import NEW_BUSINESS_STAGES, STAGE_NAMES

OVERDUE = "overdue"
NO_CLOSE_DATE = "no_close_date"
RULE_LABELS: dict[str, str] = {
    "stuck_in_stage": "Stuck in stage",
    "no_activity": "No activity",
    "past_close_date": "Past close date",
}
HEADLINE: tuple[tuple[str, str, str, Format], ...] = (
    # label, metric, key, format
    ("Open deals", "open_deals", "", "count"),
    ("Open pipeline", "open_pipeline_amount", "", "money"),
    ("Weighted pipeline", "weighted_pipeline_amount", "", "money"),
    ("Win rate (by count)", "win_rate", "", "percent"),
    ("Win rate (by amount)", "win_rate_amount", "", "percent"),
    ("Average deal size", "avg_deal_size", "", "money"),
    ("Average sales cycle", "avg_sales_cycle_days", "", "days"),
    ("Pipeline velocity", "pipeline_velocity", "", "per_day"),
    ("Stale share of pipeline", "stale_deals", "share_amount", "percent"),
)
RETENTION_HEADLINE: tuple[tuple[str, str, str, Format], ...] = (
    ("Open deals", "open_deals", "", "count"),
    ("Open pipeline", "open_pipeline_amount", "", "money"),
    ("Weighted pipeline", "weighted_pipeline_amount", "", "money"),
    ("Win rate (by count)", "win_rate", "", "percent"),
    ("Win rate (by amount)", "win_rate_amount", "", "percent"),
    ("Average deal size", "avg_deal_size", "", "money"),
    ("Average cycle", "avg_sales_cycle_days", "", "days"),
    ("Median time in retention stage", "time_in_stage", "7|median", "days"),
)


@dataclass(frozen=True)
class Card:
    """A labelled headline figure."""

    label: str
    figure: Figure


@dataclass(frozen=True)
class FunnelStage:
    """One canonical stage of the funnel: open deals there and conversion to the next stage."""

    number: int
    name: str
    open_count: Figure
    open_amount: Figure
    weighted_amount: Figure
    conversion_next: Figure | None  # k -> k+1; None for the last stage


@dataclass(frozen=True)
class StageTime:
    """Time spent in one stage: median and p90 of completed stays, open deals' current age."""

    number: int
    name: str
    median: Figure
    p90: Figure
    current_age: Figure
    stays: Figure
    is_bottleneck: bool


@dataclass(frozen=True)
class ForecastMonth:
    """One forecast bucket: a close month, or overdue."""

    key: str
    label: str
    count: Figure
    amount: Figure
    weighted: Figure
    commit: Figure
    overdue: bool


@dataclass(frozen=True)
class AccuracyMonth:
    """How one past month's forecast turned out (forecast_accuracy)."""

    month: str
    forecast_count: Figure
    won: Figure
    slipped: Figure
    lost: Figure
    deleted: Figure
    count_share: Figure
    amount_share: Figure


@dataclass(frozen=True)
class OwnerLine:
    """One rep's (or the team's) scorecard row."""

    label: str
    email: str
    is_team: bool
    open_deals: Figure
    open_amount: Figure
    win_rate: Figure
    attainment: Figure | None
    coverage: Figure | None
    remaining: Figure | None
    covered: bool


@dataclass(frozen=True)
class StaleRule:
    """Stale deals flagged by one rule."""

    rule: str
    label: str
    count: Figure
    amount: Figure


@dataclass(frozen=True)
class TrendPoint:
    """Win rate and cycle as of one month end."""

    month: str
    as_of_date: str
    win_rate: Figure
    win_rate_amount: Figure
    avg_cycle: Figure
    median_cycle: Figure


@dataclass(frozen=True)
class ReportData:
    """Everything the template shows."""

    title: str
    as_of: pd.Timestamp
    as_of_text: str
    generated_text: str
    currency: str
    headline: list[Card]
    funnel: list[FunnelStage]
    unknown_stage: Figure | None
    times: list[StageTime]
    bottleneck: Figure
    forecast: list[ForecastMonth]
    no_close_date: ForecastMonth | None
    accuracy: list[AccuracyMonth]
    quota_period: str | None
    owners: list[OwnerLine]
    stale_total: tuple[Figure, ...] | None  # count, amount, share of count, share of amount
    stale_rules: list[StaleRule]
    trend: list[TrendPoint]
    rate_window_days: int
    retention: list[Card]
    retention_forecast: list[ForecastMonth]
    sources: list[SourceLine]
    excluded: list[Card] = field(default_factory=list)


def _cards(
    figures: FigureSource, spec: Sequence[tuple[str, str, str, Format]], *, motion: str
) -> list[Card]:
    return [
        Card(label, figures.make(metric, fmt, key=key, motion=motion))
        for label, metric, key, fmt in spec
    ]


def _funnel(figures: FigureSource) -> tuple[list[FunnelStage], Figure | None]:
    stages: list[FunnelStage] = []
    for number in NEW_BUSINESS_STAGES:
        conversion = (
            figures.make("stage_conversion", "percent", key=f"{number}->{number + 1}")
            if number < NEW_BUSINESS_STAGES[-1]
            else None
        )
        stages.append(
            FunnelStage(
                number=number,
                name=STAGE_NAMES[number],
                open_count=figures.make("stage_distribution", "count", key=f"{number}|count"),
                open_amount=figures.make("stage_distribution", "money", key=f"{number}|amount"),
                weighted_amount=figures.make(
                    "stage_distribution", "money", key=f"{number}|weighted_amount"
                ),
                conversion_next=conversion,
            )
        )
    distribution = figures.result.value("stage_distribution") or {}
    unknown = (
        figures.make("stage_distribution", "count", key="unknown|count")
        if "unknown" in distribution
        else None
    )
    return stages, unknown


def _times(figures: FigureSource, *, motion: str, stages: Sequence[int]) -> list[StageTime]:
    bottleneck = figures.result.value("bottleneck", motion=motion)
    out: list[StageTime] = []
    for number in stages:
        make = lambda leaf, fmt, n=number: figures.make(  # noqa: E731
            "time_in_stage", fmt, key=f"{n}|{leaf}", motion=motion
        )
        out.append(
            StageTime(
                number=number,
                name=STAGE_NAMES[number],
                median=make("median", "days"),
                p90=make("p90", "days"),
                current_age=make("current_age_median", "days"),
                stays=make("stays", "count"),
                is_bottleneck=bottleneck == number,
            )
        )
    return out


def _forecast_bucket(figures: FigureSource, bucket: str, *, motion: str) -> ForecastMonth:
    make = lambda leaf, fmt: figures.make(  # noqa: E731
        "forecast_by_month", fmt, key=f"{bucket}|{leaf}", motion=motion
    )
    labels = {OVERDUE: "Overdue", NO_CLOSE_DATE: "No close date"}
    return ForecastMonth(
        key=bucket,
        label=labels.get(bucket, bucket),
        count=make("count", "count"),
        amount=make("amount", "money"),
        weighted=make("weighted_amount", "money"),
        commit=make("commit_amount", "money"),
        overdue=bucket == OVERDUE,
    )


def _forecast(
    figures: FigureSource, *, motion: str
) -> tuple[list[ForecastMonth], ForecastMonth | None]:
    months = figures.result.value("forecast_by_month", motion=motion) or {}
    ordered = [OVERDUE] if OVERDUE in months else []
    ordered += sorted(k for k in months if k not in (OVERDUE, NO_CLOSE_DATE))
    rows = [_forecast_bucket(figures, key, motion=motion) for key in ordered]
    no_date = (
        _forecast_bucket(figures, NO_CLOSE_DATE, motion=motion) if NO_CLOSE_DATE in months else None
    )
    return rows, no_date


def _accuracy(figures: FigureSource) -> list[AccuracyMonth]:
    months = figures.result.value("forecast_accuracy") or {}
    out: list[AccuracyMonth] = []
    for month in sorted(months):
        make = lambda leaf, fmt, m=month: figures.make(  # noqa: E731
            "forecast_accuracy", fmt, key=f"{m}|{leaf}"
        )
        out.append(
            AccuracyMonth(
                month=month,
                forecast_count=make("forecast_count", "count"),
                won=make("won_count", "count"),
                slipped=make("slipped_count", "count"),
                lost=make("lost_count", "count"),
                deleted=make("deleted_count", "count"),
                count_share=make("count_share", "percent"),
                amount_share=make("amount_share", "percent"),
            )
        )
    return out


def _periods(result: MetricsResult) -> set[str]:
    found: set[str] = set()
    for (motion, scope, _key), scoped in result.figures.items():
        if motion == "new_business" and scope in ("all", "owner"):
            found.update((scoped.values.get("quota_attainment") or {}).keys())
    return found


def choose_quota_period(periods: set[str], *, today: dt.date) -> str | None:
    """The quota period to show: the shortest one holding today, else the latest begun, else
    the earliest ('YYYY-MM-DD/YYYY-MM-DD' keys)."""
    parsed = []
    for period in periods:
        first_text, _, last_text = period.partition("/")
        parsed.append((dt.date.fromisoformat(first_text), dt.date.fromisoformat(last_text), period))
    if not parsed:
        return None
    holding = [p for p in parsed if p[0] <= today <= p[1]]
    if holding:
        return min(holding, key=lambda p: (p[1] - p[0], p[0]))[2]
    begun = [p for p in parsed if p[0] <= today]
    if begun:
        return max(begun, key=lambda p: (p[1], p[0]))[2]
    return min(parsed)[2]


def _owner_line(
    figures: FigureSource,
    *,
    scope: str,
    email: str,
    label: str,
    period: str | None,
) -> OwnerLine:
    quota_here = period is not None and period in (
        figures.result.value("quota_attainment", scope=scope, scope_key=email) or {}
    )
    covered = False
    attainment = coverage = remaining = None
    if quota_here:
        required = figures.result.value("required_pipeline", scope=scope, scope_key=email) or {}
        covered = bool((required.get(period) or {}).get("covered"))
        attainment = figures.make(
            "quota_attainment", "percent", key=str(period), scope=scope, scope_key=email
        )
        coverage = figures.make(
            "coverage",
            "ratio",
            key=str(period),
            scope=scope,
            scope_key=email,
            missing_text="covered" if covered else "—",
        )
        remaining = figures.make(
            "required_pipeline", "money", key=f"{period}|remaining", scope=scope, scope_key=email
        )
    return OwnerLine(
        label=label,
        email=email,
        is_team=scope == "all",
        open_deals=figures.make("open_deals", "count", scope=scope, scope_key=email),
        open_amount=figures.make("open_pipeline_amount", "money", scope=scope, scope_key=email),
        win_rate=figures.make("win_rate", "percent", scope=scope, scope_key=email),
        attainment=attainment,
        coverage=coverage,
        remaining=remaining,
        covered=covered,
    )


def _owners(
    figures: FigureSource, *, period: str | None, names: Mapping[str, str]
) -> list[OwnerLine]:
    emails = sorted(
        key
        for (motion, scope, key) in figures.result.figures
        if motion == "new_business" and scope == "owner"
    )
    lines = [
        _owner_line(
            figures,
            scope="owner",
            email=email,
            label=f"{names[email]} ({email})" if email in names else email,
            period=period,
        )
        for email in emails
    ]
    lines.append(_owner_line(figures, scope="all", email="", label="Team", period=period))
    return lines


def _stale(figures: FigureSource) -> tuple[tuple[Figure, ...] | None, list[StaleRule]]:
    stale = figures.result.value("stale_deals")
    if not isinstance(stale, Mapping):
        return None, []
    total = (
        figures.make("stale_deals", "count", key="count"),
        figures.make("stale_deals", "money", key="amount"),
        figures.make("stale_deals", "percent", key="share_count"),
        figures.make("stale_deals", "percent", key="share_amount"),
    )
    rules = [
        StaleRule(
            rule=rule,
            label=RULE_LABELS.get(rule, rule.replace("_", " ").capitalize()),
            count=figures.make("stale_deals", "count", key=f"rules|{rule}|count"),
            amount=figures.make("stale_deals", "money", key=f"rules|{rule}|amount"),
        )
        for rule in sorted(stale.get("rules") or {})
    ]
    return total, rules


def _trend_figure(point: TrendValues, metric: str, fmt: Format, *, currency: str) -> Figure:
    value = point.values.get(metric)
    return Figure(
        metric=metric,
        value=value,
        fmt=fmt,
        text=format_value(value, fmt, currency=currency),
        scope="all",
        as_of_date=point.as_of_date.isoformat(),
    )


def _trend(points: Sequence[TrendValues], *, currency: str) -> list[TrendPoint]:
    return [
        TrendPoint(
            month=p.month,
            as_of_date=p.as_of_date.isoformat(),
            win_rate=_trend_figure(p, "win_rate", "percent", currency=currency),
            win_rate_amount=_trend_figure(p, "win_rate_amount", "percent", currency=currency),
            avg_cycle=_trend_figure(p, "avg_sales_cycle_days", "days", currency=currency),
            median_cycle=_trend_figure(p, "median_sales_cycle_days", "days", currency=currency),
        )
        for p in points
    ]


def _excluded(figures: FigureSource) -> list[Card]:
    out: list[Card] = []
    for motion, label in (("new_business", "New business"), ("retention", "Retention")):
        found = figures.result.excluded("open_pipeline_amount", motion=motion)
        if found:
            out.append(
                Card(
                    f"{label}: open deals left out of amounts (no conversion rate)",
                    Figure(
                        metric="excluded_unconverted",
                        value=found,
                        fmt="count",
                        text=format_value(found, "count", currency=figures.currency),
                        motion=motion,
                        key="open_pipeline_amount",
                    ),
                )
            )
    return out


def _as_of_text(as_of: pd.Timestamp) -> str:
    stamp = as_of.tz_convert("UTC")
    if stamp == stamp.normalize():
        last_day = (stamp - pd.Timedelta(days=1)).date()
        return f"end of {last_day.isoformat()} (UTC)"
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def build_report(
    result: MetricsResult,
    *,
    trend: Sequence[TrendValues],
    sources: Sequence[SourceLine],
    currency: str,
    reporting_tz: str = "UTC",
    rate_window_days: int = 90,
    owner_names: Mapping[str, str] | None = None,
    generated_at: dt.datetime | None = None,
) -> ReportData:
    """The report's content from the metrics at T, the month-end trend and the sources."""
    figures = FigureSource(result, currency=currency)
    funnel, unknown = _funnel(figures)
    forecast, no_close = _forecast(figures, motion="new_business")
    retention_forecast, _ = _forecast(figures, motion="retention")
    period = choose_quota_period(_periods(result), today=local_date(result.as_of, reporting_tz))
    stale_total, stale_rules = _stale(figures)
    generated = generated_at or dt.datetime.now(dt.UTC)
    return ReportData(
        title="Pipeline health",
        as_of=result.as_of,
        as_of_text=_as_of_text(result.as_of),
        generated_text=generated.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        currency=currency,
        headline=_cards(figures, HEADLINE, motion="new_business"),
        funnel=funnel,
        unknown_stage=unknown,
        times=_times(figures, motion="new_business", stages=NEW_BUSINESS_STAGES),
        bottleneck=figures.make("bottleneck", "stage"),
        forecast=forecast,
        no_close_date=no_close,
        accuracy=_accuracy(figures),
        quota_period=period,
        owners=_owners(figures, period=period, names=owner_names or {}),
        stale_total=stale_total,
        stale_rules=stale_rules,
        trend=_trend(trend, currency=currency),
        rate_window_days=rate_window_days,
        retention=_cards(figures, RETENTION_HEADLINE, motion="retention"),
        retention_forecast=retention_forecast,
        sources=list(sources),
        excluded=_excluded(figures),
    )
