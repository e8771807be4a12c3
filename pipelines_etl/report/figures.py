"""One figure shown in the report: its value, its text, and where it lives in `metrics --json`.

Every element that shows a figure carries `data-metric`, `data-motion`, `data-scope`,
`data-scope-key`, `data-key` ('|'-joined path inside the metric, as `pipeline_metrics` keys
are), `data-value` (the raw value; empty when undefined) and `data-format`, so that a test or
an analyst can compare the page with the JSON object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from pipelines_etl.report.formatting import MISSING, Format, format_value
from transforms.metrics import MetricsResult
from transforms.metrics_money import money_text

KEY_SEPARATOR = "|"


def raw_value(value: object) -> str:
    """The exact value as attribute text: plain decimals, float repr, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Figure:
    """A figure as shown: raw value, display text, format and its address in the metrics JSON."""

    metric: str
    value: Decimal | float | int | None
    fmt: Format
    text: str
    motion: str = "new_business"
    scope: str = "all"
    scope_key: str = ""
    key: str = ""
    as_of_date: str = ""  # set on trend points: the `--as-of` date the value is for

    @property
    def missing(self) -> bool:
        """True when the value is undefined (shown as '—' or a word such as 'covered')."""
        return self.value is None

    def attrs(self) -> Markup:
        """The data-* attributes of the element that shows this figure."""
        pairs = [
            ("data-metric", self.metric),
            ("data-motion", self.motion),
            ("data-scope", self.scope),
            ("data-scope-key", self.scope_key),
            ("data-key", self.key),
            ("data-value", raw_value(self.value)),
            ("data-format", self.fmt),
        ]
        if self.as_of_date:
            pairs.append(("data-as-of", self.as_of_date))
        return Markup(" ").join(Markup('{}="{}"').format(name, value) for name, value in pairs)

    def html(self, *, tag: str = "span", css: str = "fig") -> Markup:
        """The figure as an element: <span class="fig" data-...>USD 1,234</span>."""
        return Markup('<{tag} class="{css}" {attrs}>{text}</{tag}>').format(
            tag=Markup(tag), css=css, attrs=self.attrs(), text=self.text
        )

    def svg_text(self, *, x: float, y: float, anchor: str = "start", css: str = "label") -> Markup:
        """The figure as an SVG <text> label at (x, y)."""
        return Markup(
            '<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}" {attrs}>{text}'
            "</text>"
        ).format(x=x, y=y, anchor=anchor, css=css, attrs=self.attrs(), text=escape(self.text))


def dig(value: Any, key: str) -> Any:
    """The leaf at '|'-joined `key` inside a (nested dict) metric value; None when absent."""
    if not key:
        return value
    for part in key.split(KEY_SEPARATOR):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class FigureSource:
    """Makes Figures from one MetricsResult in one reporting currency."""

    def __init__(self, result: MetricsResult, *, currency: str) -> None:
        self.result = result
        self.currency = currency

    def make(
        self,
        metric: str,
        fmt: Format,
        *,
        key: str = "",
        motion: str = "new_business",
        scope: str = "all",
        scope_key: str = "",
        missing_text: str = MISSING,
    ) -> Figure:
        """The figure at (motion, scope, scope_key, metric, key) of the result."""
        value = dig(self.result.value(metric, scope=scope, scope_key=scope_key, motion=motion), key)
        if isinstance(value, bool) or not isinstance(value, Decimal | float | int | None):
            raise TypeError(f"{metric}|{key} is not a number: {value!r}")
        text = missing_text if value is None else format_value(value, fmt, currency=self.currency)
        return Figure(
            metric=metric,
            value=value,
            fmt=fmt,
            text=text,
            motion=motion,
            scope=scope,
            scope_key=scope_key,
            key=key,
        )
