"""Settings of the pipeline health metrics (windows, reporting time zone, fiscal year)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transforms.fiscal import YearNaming


@dataclass(frozen=True)
class MetricsConfig:
    """Windows in days before T, reporting time zone and fiscal calendar of the metrics."""

    rate_window_days: int = 90  # W: outcomes (win rate, deal size, sales cycle)
    cohort_days: int = 365  # stage_conversion cohort: deals created in [T - n, T)
    time_in_stage_days: int = 365  # time_in_stage: completed stays that ended in [T - n, T)
    reporting_tz: str = "UTC"
    fiscal_year_start_month: int = 1
    fiscal_year_named_by: YearNaming = "end"
    forecast_accuracy_months: int = 12  # complete months before T's month to score

    def __post_init__(self) -> None:
        for name in ("rate_window_days", "cohort_days", "time_in_stage_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError(
                f"fiscal_year_start_month must be 1-12, got {self.fiscal_year_start_month!r}"
            )
        if self.fiscal_year_named_by not in ("end", "start"):
            raise ValueError(
                f"fiscal_year_named_by must be end or start: {self.fiscal_year_named_by!r}"
            )
        if self.forecast_accuracy_months < 0:
            raise ValueError("forecast_accuracy_months must not be negative")
        try:
            ZoneInfo(self.reporting_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown reporting_tz {self.reporting_tz!r}") from exc
