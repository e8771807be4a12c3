"""Inline SVG charts drawn in Python (no JavaScript, no network): funnel, bars, lines.

Each chart is an `<svg role="img">` with a <title> and <desc> for screen readers; every value
label is a figure element carrying the data-* attributes of its metric (see figures.py).
Colours are fixed per chart so that a screenshot test can find each chart's marks.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from markupsafe import Markup

from pipelines_etl.report.build import ForecastMonth, FunnelStage, StageTime, StaleRule, TrendPoint
from pipelines_etl.report.figures import Figure
from pipelines_etl.report.formatting import format_value

COLORS: dict[str, str] = {
    "funnel": "#1f5fa8",
    "stage_time": "#2a9d8f",
    "bottleneck": "#e76f51",
    "open": "#9ecae1",
    "weighted": "#4292c6",
    "commit": "#08519c",
    "overdue": "#d62728",
    "stale": "#b5179e",
    "rest": "#d9d9d9",
    "win_rate": "#6a3d9a",
    "cycle": "#d95f02",
    "attainment": "#2ca25f",
    "grid": "#e5e5e5",
}
MAX_FORECAST_BUCKETS = 13  # overdue + the next 12 months; the table lists every month


def _number(figure: Figure | None) -> float | None:
    if figure is None or figure.value is None:
        return None
    return float(figure.value)


def compact(figure: Figure, *, currency: str) -> Figure:
    """The same money figure with a short label (USD 45.2k) for tight chart spaces."""
    return dataclasses.replace(
        figure,
        fmt="money_compact",
        text=format_value(figure.value, "money_compact", currency=currency),
    )


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month_label(month: str) -> str:
    """'2026-05' -> "May '26"."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} '{year[2:]}"


def _svg(*, width: int, height: int, title: str, desc: str, body: Sequence[Markup]) -> Markup:
    ident = "chart-" + hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:10]
    head = Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{i}-t {i}-d" preserveAspectRatio="xMinYMin meet">'
        '<title id="{i}-t">{title}</title><desc id="{i}-d">{desc}</desc>'
    ).format(w=width, h=height, i=ident, title=title, desc=desc)
    return head + Markup("").join(body) + Markup("</svg>")


def _rect(
    x: float, y: float, w: float, h: float, *, fill: str, label: str, css: str = "mark"
) -> Markup:
    return Markup(
        '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
        'class="{css}"><title>{label}</title></rect>'
    ).format(x=x, y=y, w=max(w, 0.0), h=max(h, 0.0), fill=fill, css=css, label=label)


def _text(x: float, y: float, text: str, *, anchor: str = "start", css: str = "axis") -> Markup:
    return Markup('<text x="{x:.1f}" y="{y:.1f}" text-anchor="{a}" class="{c}">{t}</text>').format(
        x=x, y=y, a=anchor, c=css, t=text
    )


def _line(x1: float, y1: float, x2: float, y2: float, *, stroke: str, width: float = 1) -> Markup:
    return Markup(
        '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="{}"/>'
    ).format(x1, y1, x2, y2, stroke, width)


def _empty(title: str, message: str, *, width: int = 760) -> Markup:
    return _svg(
        width=width,
        height=60,
        title=title,
        desc=message,
        body=[_text(width / 2, 35, message, anchor="middle", css="empty")],
    )


def funnel_chart(stages: Sequence[FunnelStage], *, currency: str) -> Markup:
    """Open deals per canonical stage as centred bars, with the conversion to the next stage."""
    title = "Funnel: open pipeline by stage, and conversion between stages"
    amounts = [_number(s.open_amount) or 0.0 for s in stages]
    counts = [_number(s.open_count) or 0.0 for s in stages]
    sizes = amounts if any(amounts) else counts
    top = max(sizes, default=0.0)
    width, label_w, bar_w, row_h, gap = 860, 240, 320, 30, 22
    centre = label_w + bar_w / 2
    body: list[Markup] = []
    y = 10.0
    for stage, size in zip(stages, sizes, strict=True):
        share = size / top if top else 0.0
        w = max(share * bar_w, 2.0 if size else 0.0)
        body.append(
            _text(
                label_w - 10,
                y + row_h / 2 + 5,
                f"{stage.number} · {stage.name}",
                anchor="end",
                css="axis",
            )
        )
        body.append(
            _rect(
                centre - w / 2,
                y,
                w,
                row_h,
                fill=COLORS["funnel"],
                label=f"{stage.name}: {stage.open_count.text} open deals, {stage.open_amount.text}",
            )
        )
        x = label_w + bar_w + 14
        body.append(stage.open_count.svg_text(x=x, y=y + row_h / 2 + 5, css="label strong"))
        body.append(_text(x + 52, y + row_h / 2 + 5, "deals ·", css="axis"))
        body.append(
            compact(stage.open_amount, currency=currency).svg_text(
                x=x + 104, y=y + row_h / 2 + 5, css="label"
            )
        )
        y += row_h
        if stage.conversion_next is not None:
            body.append(_text(centre - 6, y + gap / 2 + 5, "↓", anchor="end", css="axis"))
            body.append(
                stage.conversion_next.svg_text(x=centre, y=y + gap / 2 + 5, css="label conv")
            )
            body.append(
                _text(centre + 62, y + gap / 2 + 5, "convert to the next stage", css="axis small")
            )
            y += gap
    desc = "; ".join(
        f"stage {s.number} {s.name}: {s.open_count.text} open deals, {s.open_amount.text}"
        + (f", {s.conversion_next.text} convert to the next stage" if s.conversion_next else "")
        for s in stages
    )
    return _svg(width=width, height=int(y + 10), title=title, desc=desc, body=body)


def stage_time_chart(times: Sequence[StageTime]) -> Markup:
    """Median days in each stage (bar) and 90th percentile (whisker); the bottleneck stands out."""
    title = "Time in stage: median days of completed stays, whisker to the 90th percentile"
    highs = [v for t in times for v in (_number(t.median), _number(t.p90)) if v is not None]
    if not highs:
        return _empty(title, "No completed stage stays in the last 365 days")
    top = max(highs) or 1.0
    width, label_w, bar_w, row_h = 860, 240, 440, 30
    body: list[Markup] = []
    y = 10.0
    for t in times:
        median, p90 = _number(t.median), _number(t.p90)
        color = COLORS["bottleneck"] if t.is_bottleneck else COLORS["stage_time"]
        cy = y + row_h / 2
        body.append(_text(label_w - 10, cy + 5, f"{t.number} · {t.name}", anchor="end"))
        if median is not None:
            w = max(median / top * bar_w, 2.0)
            body.append(
                _rect(
                    label_w,
                    y + 4,
                    w,
                    row_h - 8,
                    fill=color,
                    label=f"{t.name}: median {t.median.text}, p90 {t.p90.text}",
                )
            )
            end = label_w + w
            if p90 is not None:
                px = label_w + p90 / top * bar_w
                body.append(_line(end, cy, px, cy, stroke="#333333", width=1.5))
                body.append(_line(px, cy - 6, px, cy + 6, stroke="#333333", width=1.5))
                end = max(end, px)
            body.append(t.median.svg_text(x=end + 8, y=cy + 5, css="label strong"))
            if t.is_bottleneck:
                body.append(_text(end + 90, cy + 5, "◀ bottleneck", css="flag"))
        else:
            body.append(t.median.svg_text(x=label_w + 4, y=cy + 5, css="label muted"))
        y += row_h
    desc = "; ".join(
        f"stage {t.number} {t.name}: median {t.median.text}, p90 {t.p90.text}"
        + (" (bottleneck)" if t.is_bottleneck else "")
        for t in times
    )
    return _svg(width=width, height=int(y + 10), title=title, desc=desc, body=body)


def forecast_chart(rows: Sequence[ForecastMonth], *, currency: str) -> Markup:
    """Open, weighted and commit amount per close month (grouped bars), overdue first in red."""
    title = "Forecast by close month: open, weighted and commit amount"
    shown = list(rows[:MAX_FORECAST_BUCKETS])
    values = [
        v
        for r in shown
        for v in (_number(r.amount), _number(r.weighted), _number(r.commit))
        if v is not None
    ]
    top = max(values, default=0.0)
    if not shown or top <= 0:
        return _empty(title, "No open deals with a close date")
    width, left, plot_h, base = 860, 20, 200, 250
    group_w = (width - left - 10) / len(shown)
    bar_w = min(group_w * 0.26, 26)
    body: list[Markup] = [_line(left, base, width - 10, base, stroke="#999999")]
    for i, row in enumerate(shown):
        gx = left + i * group_w + (group_w - 3 * bar_w) / 2
        series = (
            (row.amount, COLORS["overdue"] if row.overdue else COLORS["open"], "open"),
            (row.weighted, COLORS["weighted"], "weighted"),
            (row.commit, COLORS["commit"], "commit"),
        )
        for j, (fig, color, name) in enumerate(series):
            h = (_number(fig) or 0.0) / top * plot_h
            body.append(
                _rect(
                    gx + j * bar_w,
                    base - h,
                    bar_w - 2,
                    h,
                    fill=color,
                    label=f"{row.label} {name}: {fig.text}",
                )
            )
        top_h = (_number(row.amount) or 0.0) / top * plot_h
        body.append(
            compact(row.amount, currency=currency).svg_text(
                x=gx + 1.5 * bar_w, y=base - top_h - 6, anchor="middle", css="label small"
            )
        )
        body.append(
            _text(
                gx + 1.5 * bar_w,
                base + 16,
                row.label,
                anchor="middle",
                css="axis small" + (" overdue" if row.overdue else ""),
            )
        )
    legend = [
        ("open amount", COLORS["open"]),
        ("weighted", COLORS["weighted"]),
        ("commit", COLORS["commit"]),
        ("overdue (open, close date past)", COLORS["overdue"]),
    ]
    x = left
    for name, color in legend:
        body.append(_rect(x, 275, 12, 12, fill=color, label=name, css="legend"))
        body.append(_text(x + 16, 285, name, css="axis small"))
        x += 40 + 7 * len(name)
    desc = "; ".join(
        f"{r.label}: open {r.amount.text}, weighted {r.weighted.text}, commit {r.commit.text}"
        for r in shown
    )
    return _svg(width=width, height=295, title=title, desc=desc, body=body)


def share_bar(
    share: Figure, *, title: str, color: str, width: int = 420, label: str = ""
) -> Markup:
    """One horizontal 0-100% bar with the filled share and its figure."""
    value = _number(share)
    body: list[Markup] = [_rect(0, 6, width - 90, 18, fill=COLORS["rest"], label="100%")]
    if value is not None:
        body.append(
            _rect(
                0,
                6,
                (width - 90) * min(max(value, 0.0), 1.0),
                18,
                fill=color,
                label=f"{label} {share.text}".strip(),
            )
        )
    body.append(share.svg_text(x=width - 84, y=20, css="label strong"))
    return _svg(
        width=width, height=30, title=title, desc=f"{label} {share.text}".strip(), body=body
    )


def stale_rules_chart(rules: Sequence[StaleRule], *, currency: str) -> Markup:
    """Stale deals per rule: amount bars with the count."""
    title = "Stale deals by rule: amount and count"
    if not rules:
        return _empty(title, "No open deal is flagged stale", width=560)
    top = max((_number(r.amount) or 0.0 for r in rules), default=0.0) or 1.0
    width, label_w, bar_w, row_h = 560, 150, 240, 28
    body: list[Markup] = []
    y = 6.0
    for r in rules:
        w = max((_number(r.amount) or 0.0) / top * bar_w, 2.0)
        body.append(_text(label_w - 10, y + row_h / 2 + 5, r.label, anchor="end"))
        body.append(
            _rect(
                label_w,
                y + 4,
                w,
                row_h - 8,
                fill=COLORS["stale"],
                label=f"{r.label}: {r.count.text} deals, {r.amount.text}",
            )
        )
        body.append(
            compact(r.amount, currency=currency).svg_text(
                x=label_w + w + 8, y=y + row_h / 2 + 5, css="label"
            )
        )
        body.append(
            r.count.svg_text(
                x=label_w + w + 112, y=y + row_h / 2 + 5, anchor="end", css="label strong"
            )
        )
        body.append(_text(label_w + w + 116, y + row_h / 2 + 5, "deals", css="axis"))
        y += row_h
    desc = "; ".join(f"{r.label}: {r.count.text} deals, {r.amount.text}" for r in rules)
    return _svg(width=width, height=int(y + 6), title=title, desc=desc, body=body)


def line_chart(
    points: Sequence[TrendPoint],
    *,
    attr: str,
    title: str,
    color: str,
    percent_axis: bool,
) -> Markup:
    """One series over the month ends: a line with a marker and label per defined point."""
    figures = [getattr(p, attr) for p in points]
    values = [_number(f) for f in figures]
    defined = [v for v in values if v is not None]
    if not defined:
        return _empty(title, "Nothing closed in any of these windows", width=420)
    top = 1.0 if percent_axis else max(max(defined) * 1.15, 1.0)
    width, left, right, plot_top, base = 860, 48, 40, 22, 190
    step = (width - left - right) / max(len(points) - 1, 1)
    body: list[Markup] = []
    for frac in (0.0, 0.5, 1.0):
        gy = base - frac * (base - plot_top)
        body.append(_line(left, gy, width - right, gy, stroke=COLORS["grid"]))
        tick = f"{frac * 100:.0f}%" if percent_axis else f"{frac * top:,.0f}d"
        body.append(_text(left - 4, gy + 4, tick, anchor="end", css="axis small"))
    coords = [
        None if v is None else (left + i * step, base - v / top * (base - plot_top))
        for i, v in enumerate(values)
    ]
    run: list[tuple[float, float]] = []
    for c in [*coords, None]:
        if c is None:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(
                    Markup(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>'
                    ).format(path, color)
                )
            run = []
        else:
            run.append(c)
    for i, (point, figure, c) in enumerate(zip(points, figures, coords, strict=True)):
        x = left + i * step
        body.append(
            _text(x, base + 16, _month_label(point.month), anchor="middle", css="axis small")
        )
        if c is None:
            body.append(figure.svg_text(x=x, y=base - 4, anchor="middle", css="label small muted"))
            continue
        body.append(
            Markup(
                '<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}" class="mark"><title>{}: {}</title>'
                "</circle>"
            ).format(c[0], c[1], color, point.month, figure.text)
        )
        previous = values[i - 1] if i else None
        if i == len(points) - 1 or previous is None or previous != values[i]:
            body.append(figure.svg_text(x=c[0], y=c[1] - 9, anchor="middle", css="label small"))
    desc = "; ".join(f"{p.month}: {f.text}" for p, f in zip(points, figures, strict=True))
    return _svg(width=width, height=base + 24, title=title, desc=desc, body=body)


def attainment_bar(figure: Figure | None) -> Markup:
    """A small 0-150% bar for a quota attainment, with the 100% mark."""
    value = _number(figure)
    width, full = 120, 80.0
    body = [_rect(0, 4, width, 12, fill="#f0f0f0", label="scale to 150%", css="track")]
    if value is not None:
        body.append(
            _rect(
                0,
                4,
                min(value, 1.5) * full,
                12,
                fill=COLORS["attainment"],
                label=f"attainment {figure.text if figure else ''}",
            )
        )
    body.append(_line(full, 0, full, 20, stroke="#333333", width=1.5))
    label = "no quota" if figure is None else f"quota attainment {figure.text}"
    return (
        Markup(
            '<svg class="spark" viewBox="0 0 {w} 20" width="{w}" height="20" role="img" '
            'aria-label="{l}">'
        ).format(w=width, l=label)
        + Markup("").join(body)
        + Markup("</svg>")
    )
