"""The computed metrics and their two renderings: `pipeline_metrics` rows and the JSON object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from transforms.metrics_money import money_text

SCOPES: tuple[str, ...] = ("all", "source", "owner", "pipeline", "lead_channel")
JSON_SCOPE_KEYS: dict[str, str] = {
    "source": "by_source",
    "owner": "by_owner",
    "pipeline": "by_pipeline",
    "lead_channel": "by_lead_channel",
}
MOTIONS: tuple[str, ...] = ("new_business", "retention")
KEY_SEPARATOR = "|"
EXCLUDED_KEY = "excluded_unconverted"
FRAME_COLUMNS: tuple[str, ...] = (
    "scope",
    "scope_key",
    "motion",
    "metric",
    "key",
    "value",
    "value_text",
)


@dataclass(frozen=True)
class ScopeFigures:
    """Metric values of one (motion, scope, scope_key) and deals each amount metric left out."""

    values: dict[str, Any] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)


def _leaf(value: Any) -> tuple[float | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        return (1.0 if value else 0.0), ("true" if value else "false")
    if isinstance(value, Decimal):
        return float(value), money_text(value)
    if isinstance(value, int | float):
        return float(value), None
    return None, str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return float(value)
    return value


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}{KEY_SEPARATOR}{key}" if prefix else str(key))
    else:
        yield prefix, value


@dataclass(frozen=True)
class MetricsResult:
    """Every figure, keyed by (motion, scope, scope_key); render with to_frame / to_json_dict."""

    as_of: pd.Timestamp
    figures: dict[tuple[str, str, str], ScopeFigures]

    def value(
        self, metric: str, *, scope: str = "all", scope_key: str = "", motion: str = "new_business"
    ) -> Any:
        """One metric's value (Decimals for money, dicts for keyed metrics), None when absent."""
        found = self.figures.get((motion, scope, scope_key))
        return None if found is None else found.values.get(metric)

    def excluded(
        self, metric: str, *, scope: str = "all", scope_key: str = "", motion: str = "new_business"
    ) -> int | None:
        """How many deals an amount metric left out for want of a converted amount."""
        found = self.figures.get((motion, scope, scope_key))
        return None if found is None else found.excluded.get(metric)

    def to_frame(self) -> pd.DataFrame:
        """The `pipeline_metrics` rows: scope, scope_key, motion, metric, key, value, value_text.

        Keyed metrics flatten their keys with '|' (e.g. stage_distribution '3|amount'); scalar
        metrics have key ''; amount metrics add a row with key 'excluded_unconverted'.
        """
        rows: list[tuple[Any, ...]] = []
        for (motion, scope, scope_key), figures in self.figures.items():
            for metric, value in figures.values.items():
                for key, leaf in _flatten(value):
                    number, text = _leaf(leaf)
                    rows.append((scope, scope_key, motion, metric, key, number, text))
                if metric in figures.excluded:
                    count = figures.excluded[metric]
                    rows.append(
                        (scope, scope_key, motion, metric, EXCLUDED_KEY, float(count), None)
                    )
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        for column in ("scope", "scope_key", "motion", "metric", "key"):
            frame[column] = frame[column].astype(str)
        frame["value"] = pd.array(
            [pd.NA if v is None else v for v in frame["value"].astype(object)], dtype="Float64"
        )
        frame["value_text"] = (
            frame["value_text"].astype(object).where(frame["value_text"].notna(), None)
        )
        return frame

    def _motion_json(self, motion: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (m, scope, scope_key), figures in self.figures.items():
            if m != motion:
                continue
            body = {name: _json_value(v) for name, v in figures.values.items()}
            body[EXCLUDED_KEY] = dict(figures.excluded)
            if scope == "all":
                out.update(body)
            else:
                out.setdefault(JSON_SCOPE_KEYS[scope], {})[scope_key] = body
        for name in JSON_SCOPE_KEYS.values():
            out.setdefault(name, {})
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The `metrics --json` object: scope-all values at the top, by_* scopes, retention."""
        out = {"as_of": self.as_of.isoformat()}
        out.update(self._motion_json("new_business"))
        out["retention"] = self._motion_json("retention")
        return out
