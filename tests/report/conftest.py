"""Fixtures for the report tests: a hand-built warehouse, the page's figures, headless Chromium.

The warehouse (SQLite file, migrated, filled with plain inserts) holds two sources, two
owners, both motions, deals won and lost in different months, stale flags, quotas and a
snapshot. T is the end of 2026-06-30 (UTC). Browser tests use Debian's chromium in headless
mode; without it they skip with a message, except under CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.schema import (
    deal_snapshots,
    deal_stage_history,
    deals,
    quotas,
    stale_deal_flags,
    sync_runs,
)

AS_OF_DATE = dt.date(2026, 6, 30)
T = pd.Timestamp("2026-07-01T00:00Z")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
STAGE_KEYS = {
    1: "prospecting",
    2: "qualification",
    3: "demo",
    4: "proposal",
    5: "negotiation",
    6: "closing",
    7: "retention",
}


def ts(text: str | None) -> dt.datetime | None:
    """'2026-05-01' -> 2026-05-01T00:00 UTC."""
    return None if text is None else dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def deal_row(key: str, **given: Any) -> dict[str, Any]:
    """A `deals` row with defaults; `key` is 'source:id'."""
    source, source_id = key.split(":")
    row: dict[str, Any] = {
        "deal_key": key,
        "source": source,
        "source_type": "salesforce" if source == "sf" else "hubspot",
        "source_id": source_id,
        "name": f"Deal {source_id}",
        "pipeline": "default",
        "source_stage": "x",
        "stage_number": 1,
        "status": "open",
        "motion": "new_business",
        "amount": None,
        "currency": "USD",
        "amount_reporting": None,
        "probability": Decimal("0.1"),
        "forecast_category": "pipeline",
        "owner_id": "u1",
        "owner_name": "Ann Lee",
        "owner_email": "ann@example.com",
        "lead_channel": "inbound",
        "created_at": ts("2026-05-01"),
        "close_date": dt.date(2026, 7, 31),
        "closed_at": None,
        "stage_entered_at": None,
        "last_activity_at": None,
        "last_modified_at": ts("2026-06-29"),
        "is_deleted": False,
        "synced_at": ts("2026-06-30"),
    }
    row.update(given)
    if row["amount_reporting"] is None and row["amount"] is not None:
        row["amount_reporting"] = row["amount"]
    row["stage"] = STAGE_KEYS.get(row["stage_number"]) if row["stage_number"] else None
    return row


def stays_of(
    key: str, moves: list[tuple[int, str]], *, end: str | None, reason: str | None
) -> list[dict[str, Any]]:
    """Stays from the (stage, entered) moves; the last ends at `end` with `reason` (or open)."""
    out = []
    for i, (stage, entered) in enumerate(moves):
        last = i == len(moves) - 1
        exited = end if last else moves[i + 1][1]
        entered_at, exited_at = ts(entered), ts(exited)
        out.append(
            {
                "deal_key": key,
                "entered_at": entered_at,
                "source": key.split(":")[0],
                "stage_number": stage,
                "stage": STAGE_KEYS[stage],
                "source_stage": "x",
                "exited_at": exited_at,
                "exit_reason": (reason if last else "advanced") if exited else None,
                "duration_days": (exited_at - entered_at).total_seconds() / 86400
                if exited_at
                else None,
                "synced_at": ts("2026-06-30"),
            }
        )
    return out


BOB = {"owner_id": "u2", "owner_name": "Bob Roe", "owner_email": "bob@example.com"}


def full_rows() -> dict[sa.Table, list[dict[str, Any]]]:
    """The rows of the main test warehouse (see the module docstring)."""
    d = [
        # A: the worked example's won deal (\u00d71000), Ann, Salesforce
        deal_row(
            "sf:A",
            amount=Decimal("100000"),
            status="won",
            stage_number=6,
            probability=Decimal("1"),
            forecast_category="closed",
            created_at=ts("2026-05-01"),
            closed_at=ts("2026-06-10"),
            close_date=dt.date(2026, 6, 10),
            stage_entered_at=ts("2026-06-10"),
        ),
        # B: lost at stage 2, Bob, Salesforce
        deal_row(
            "sf:B",
            amount=Decimal("50000"),
            status="lost",
            stage_number=2,
            probability=Decimal("0"),
            forecast_category="omitted",
            created_at=ts("2026-05-21"),
            closed_at=ts("2026-06-20"),
            close_date=dt.date(2026, 6, 20),
            stage_entered_at=ts("2026-06-20"),
            **BOB,
        ),
        # C: open at stage 3, commit, HubSpot, Ann
        deal_row(
            "hs:C",
            amount=Decimal("80000"),
            stage_number=3,
            probability=Decimal("0.5"),
            forecast_category="commit",
            created_at=ts("2026-05-01"),
            stage_entered_at=ts("2026-05-16"),
            close_date=dt.date(2026, 7, 15),
        ),
        # D: entered at 2, open at 3, HubSpot, Bob
        deal_row(
            "hs:D",
            amount=Decimal("60000"),
            stage_number=3,
            probability=Decimal("0.4"),
            created_at=ts("2026-06-01"),
            stage_entered_at=ts("2026-06-11"),
            close_date=dt.date(2026, 8, 20),
            lead_channel="outbound",
            **BOB,
        ),
        # E: won in March after 2 stays, Ann
        deal_row(
            "sf:E",
            amount=Decimal("40000"),
            status="won",
            stage_number=6,
            probability=Decimal("1"),
            forecast_category="closed",
            created_at=ts("2026-01-10"),
            closed_at=ts("2026-03-15"),
            close_date=dt.date(2026, 3, 15),
            stage_entered_at=ts("2026-03-15"),
        ),
        # F: lost in February, Bob
        deal_row(
            "sf:F",
            amount=Decimal("30000"),
            status="lost",
            stage_number=2,
            probability=Decimal("0"),
            forecast_category="omitted",
            created_at=ts("2025-12-01"),
            closed_at=ts("2026-02-10"),
            close_date=dt.date(2026, 2, 10),
            stage_entered_at=ts("2026-02-10"),
            **BOB,
        ),
        # G: open at 4 since April, close date passed: overdue and flagged, Ann
        deal_row(
            "sf:G",
            amount=Decimal("25000"),
            stage_number=4,
            probability=Decimal("0.6"),
            created_at=ts("2026-03-01"),
            stage_entered_at=ts("2026-04-01"),
            close_date=dt.date(2026, 6, 1),
        ),
        # H: won in October 2025, Bob, HubSpot
        deal_row(
            "hs:H",
            amount=Decimal("20000"),
            status="won",
            stage_number=6,
            probability=Decimal("1"),
            forecast_category="closed",
            created_at=ts("2025-08-01"),
            closed_at=ts("2025-10-20"),
            close_date=dt.date(2025, 10, 20),
            stage_entered_at=ts("2025-10-20"),
            **BOB,
        ),
        # X: deleted: counted nowhere
        deal_row(
            "sf:X",
            amount=Decimal("999999"),
            stage_number=2,
            is_deleted=True,
            stage_entered_at=ts("2026-06-01"),
        ),
        # retention: R1 open, R2 won in May
        deal_row(
            "sf:R1",
            amount=Decimal("15000"),
            stage_number=7,
            motion="retention",
            probability=Decimal("0.8"),
            pipeline="renewals",
            created_at=ts("2026-06-01"),
            stage_entered_at=ts("2026-06-01"),
            close_date=dt.date(2026, 9, 30),
        ),
        deal_row(
            "hs:R2",
            amount=Decimal("12000"),
            stage_number=7,
            motion="retention",
            status="won",
            probability=Decimal("1"),
            forecast_category="closed",
            pipeline="renewals",
            created_at=ts("2026-04-01"),
            closed_at=ts("2026-05-15"),
            close_date=dt.date(2026, 5, 15),
            stage_entered_at=ts("2026-05-15"),
            **BOB,
        ),
    ]
    stays = [
        *stays_of(
            "sf:A",
            [(1, "2026-05-01"), (2, "2026-05-11"), (4, "2026-05-21")],
            end="2026-06-10",
            reason="won",
        ),
        *stays_of("sf:B", [(1, "2026-05-21"), (2, "2026-05-31")], end="2026-06-20", reason="lost"),
        *stays_of("hs:C", [(1, "2026-05-01"), (3, "2026-05-16")], end=None, reason=None),
        *stays_of("hs:D", [(2, "2026-06-01"), (3, "2026-06-11")], end=None, reason=None),
        *stays_of("sf:E", [(1, "2026-01-10"), (5, "2026-02-20")], end="2026-03-15", reason="won"),
        *stays_of("sf:F", [(2, "2025-12-01")], end="2026-02-10", reason="lost"),
        *stays_of("sf:G", [(2, "2026-03-01"), (4, "2026-04-01")], end=None, reason=None),
        *stays_of("sf:R1", [(7, "2026-06-01")], end=None, reason=None),
        *stays_of("hs:R2", [(7, "2026-04-01")], end="2026-05-15", reason="won"),
    ]
    flags = [
        {
            "deal_key": "sf:G",
            "source": "sf",
            "source_id": "G",
            "rules": "past_close_date;stuck_in_stage",
            "reason": "past close date",
            "state": "pushed",
            "flagged_since": dt.date(2026, 6, 10),
        },
        {
            "deal_key": "hs:C",
            "source": "hs",
            "source_id": "C",
            "rules": "no_activity",
            "reason": "no activity",
            "state": "proposed",
            "flagged_since": dt.date(2026, 6, 20),
        },
        {
            "deal_key": "hs:D",
            "source": "hs",
            "source_id": "D",
            "rules": "no_activity",
            "reason": "was stale",
            "state": "cleared",
            "flagged_since": dt.date(2026, 6, 5),
        },
    ]
    quota_rows = [
        {
            "owner_email": "ann@example.com",
            "period_start": dt.date(2026, 4, 1),
            "period_end": dt.date(2026, 6, 30),
            "amount": Decimal("90000"),
        },
        {
            "owner_email": "bob@example.com",
            "period_start": dt.date(2026, 4, 1),
            "period_end": dt.date(2026, 6, 30),
            "amount": Decimal("50000"),
        },
    ]
    snapshot = [
        {
            "snapshot_date": dt.date(2026, 6, 1),
            "deal_key": key,
            "source": key.split(":")[0],
            "pipeline": "default",
            "motion": "new_business",
            "status": "open",
            "stage_number": st,
            "amount_reporting": amount,
            "close_date": close,
            "owner_email": "ann@example.com",
            "is_deleted": False,
            "taken_at": ts("2026-06-01"),
        }
        for key, st, amount, close in (
            ("sf:A", 4, Decimal("100000"), dt.date(2026, 6, 15)),
            ("sf:G", 4, Decimal("25000"), dt.date(2026, 6, 1)),
        )
    ]
    runs = [
        {
            "run_id": "r1",
            "source": source,
            "started_at": ts("2026-06-30"),
            "ended_at": dt.datetime(2026, 6, 30, 2, 5, tzinfo=dt.UTC),
            "status": "succeeded",
            "mode": "full",
        }
        for source in ("sf", "hs")
    ]
    return {
        deals: d,
        deal_stage_history: stays,
        stale_deal_flags: flags,
        quotas: quota_rows,
        deal_snapshots: snapshot,
        sync_runs: runs,
    }


def one_owner_rows() -> dict[sa.Table, list[dict[str, Any]]]:
    """Degenerate: one owner, two open deals, nothing closed, no history, flags or quotas."""
    return {
        deals: [
            deal_row(
                "sf:O1",
                amount=Decimal("1000"),
                stage_number=2,
                stage_entered_at=ts("2026-06-01"),
                close_date=dt.date(2026, 7, 10),
            ),
            deal_row(
                "sf:O2",
                amount=None,
                stage_number=3,
                stage_entered_at=ts("2026-06-05"),
                close_date=None,
            ),
        ]
    }


def make_warehouse(path: Path, rows: dict[sa.Table, list[dict[str, Any]]]) -> sa.Engine:
    """A migrated SQLite warehouse at `path` holding `rows`."""
    engine = create_warehouse_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        for table, table_rows in rows.items():
            if table_rows:
                conn.execute(sa.insert(table), table_rows)
    return engine


@pytest.fixture
def full_warehouse(tmp_path: Path) -> Iterator[sa.Engine]:
    """The main test warehouse (two sources and owners, both motions, flags, quotas)."""
    engine = make_warehouse(tmp_path / "full.db", full_rows())
    yield engine
    engine.dispose()


@pytest.fixture
def one_owner_warehouse(tmp_path: Path) -> Iterator[sa.Engine]:
    """The degenerate warehouse: one owner, nothing closed."""
    engine = make_warehouse(tmp_path / "one.db", one_owner_rows())
    yield engine
    engine.dispose()


# ---- reading the page -------------------------------------------------------------------


class FigureParser(HTMLParser):
    """Collects every element with data-metric: its attributes and its visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[dict[str, Any]] = []
        self._stack: list[tuple[str, dict[str, Any] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        entry = None
        if "data-metric" in found:
            entry = {**{k: v or "" for k, v in found.items()}, "text": ""}
            self.figures.append(entry)
        self._stack.append((tag, entry))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, entry in self._stack:
            if entry is not None:
                entry["text"] += data


def page_figures(html: str) -> list[dict[str, Any]]:
    """Every figure element of a page: data-* attributes plus 'text'."""
    parser = FigureParser()
    parser.feed(html)
    return parser.figures


def json_value(doc: dict[str, Any], fig: dict[str, Any]) -> Any:
    """The value the metrics JSON holds at a figure's address (KeyError when absent)."""
    node: Any = doc if fig["data-motion"] == "new_business" else doc["retention"]
    if fig["data-scope"] != "all":
        node = node["by_" + fig["data-scope"]][fig["data-scope-key"]]
    node = node[fig["data-metric"]]
    for part in [p for p in fig["data-key"].split("|") if p]:
        node = node[part]
    return node


_NUMBER = r"-?[\d,]+(?:\.\d+)?"


def parse_shown(text: str, fmt: str) -> tuple[float | None, float]:
    """The number a visible text states and how far off display rounding may leave it.

    Written apart from the report's formatter on purpose: 'USD 1,234', 'USD 45.2k', '62.5%',
    '40.0 days', '2.35\u00d7', 'USD 2.50/day', '4 · Proposal', '—' (None).
    """
    text = " ".join(text.split())
    if text in ("—", "covered"):
        return None, 0.0
    if fmt in ("money", "money_compact", "per_day"):
        match = re.fullmatch(rf"USD ({_NUMBER})([kMB]?)(/day)?", text)
        assert match, f"not money: {text!r}"
        scale = {"": 1, "k": 1e3, "M": 1e6, "B": 1e9}[match.group(2)]
        digits = match.group(1).replace(",", "")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        return float(digits) * scale, 0.5 * 10**-decimals * scale + 1e-9
    if fmt == "percent":
        match = re.fullmatch(rf"({_NUMBER})%", text)
        assert match, f"not a percentage: {text!r}"
        return float(match.group(1).replace(",", "")) / 100, 0.0005 + 1e-12
    if fmt == "days":
        match = re.fullmatch(rf"({_NUMBER}) days", text)
        assert match, f"not days: {text!r}"
        return float(match.group(1).replace(",", "")), 0.05 + 1e-9
    if fmt == "count":
        assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), f"not a count: {text!r}"
        return float(text.replace(",", "")), 0.0
    if fmt == "ratio":
        match = re.fullmatch(rf"({_NUMBER})\u00d7", text)
        assert match, f"not a ratio: {text!r}"
        return float(match.group(1).replace(",", "")), 0.005 + 1e-9
    if fmt == "stage":
        match = re.fullmatch(r"(\d) · .+", text)
        assert match, f"not a stage: {text!r}"
        return float(match.group(1)), 0.0
    raise AssertionError(f"unknown data-format {fmt!r}")


def check_figures(figures: list[dict[str, Any]], doc_for: Callable[[str], dict[str, Any]]) -> int:
    """Assert every figure's data-value and visible text equal the metrics JSON; count them.

    `doc_for(as_of_date)` gives the `metrics --json` object for a figure's data-as-of ('' is
    the report's own T).
    """
    for fig in figures:
        expected = json_value(doc_for(fig.get("data-as-of", "")), fig)
        raw = fig["data-value"]
        where = (
            f"{fig['data-metric']}[{fig['data-scope']}:{fig['data-scope-key']}|{fig['data-key']}]"
        )
        if expected is None:
            assert raw == "", f"{where}: page {raw!r}, JSON null"
        else:
            assert raw != "", f"{where}: page null, JSON {expected!r}"
            assert float(raw) == pytest.approx(float(expected), rel=1e-12, abs=1e-12), where
        shown, tolerance = parse_shown(fig["text"], fig["data-format"])
        if expected is None:
            assert shown is None, f"{where}: shows {fig['text']!r} for null"
        else:
            assert shown is not None, f"{where}: shows {fig['text']!r} for {expected!r}"
            assert abs(shown - float(expected)) <= tolerance, (
                f"{where}: shows {fig['text']!r}, JSON {expected!r}"
            )
    return len(figures)


@pytest.fixture
def figures_of() -> Callable[[str], list[dict[str, Any]]]:
    """Parser: HTML text -> the figure elements (attributes + visible text)."""
    return page_figures


@pytest.fixture
def figures_match() -> Callable[..., int]:
    """Checker: (figures, doc_for) -> count, asserting each equals the metrics JSON."""
    return check_figures


# ---- headless Chromium ------------------------------------------------------------------


def _chromium_binary() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium, or a skip (a failure under CI=true)."""
    found = _chromium_binary()
    if found is None:
        message = (
            "chromium is not installed: the browser tests of the report need it "
            "(apt-get install -y chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE_LINE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\]? ?(.*)")


class Browser:
    """Runs headless Chromium on a local file: DOM after load, console messages, screenshots."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self._runs = 0

    def _run(self, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        self._runs += 1
        profile = self.workdir / f"profile{self._runs}"
        return subprocess.run(
            [
                self.binary,
                *BASE_FLAGS,
                f"--user-data-dir={profile}",
                *extra,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def dump_dom(self, page: Path) -> tuple[str, list[str]]:
        """The serialized DOM after load, and the console messages the page logged."""
        done = self._run(page, "--dump-dom")
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout, console_messages(done.stderr)

    def screenshot(
        self, page: Path, out: Path, *, width: int = 1200, height: int = 6000
    ) -> list[str]:
        """A PNG of the page at width x height; returns the console messages."""
        done = self._run(page, f"--screenshot={out}", f"--window-size={width},{height}")
        assert done.returncode == 0 and out.exists(), done.stderr[-2000:]
        return console_messages(done.stderr)


def console_messages(stderr: str) -> list[str]:
    """The page's console messages in Chromium's stderr log (--enable-logging=stderr)."""
    return [m.group(1) for line in stderr.splitlines() if (m := CONSOLE_LINE.search(line))]


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Browser:
    """A headless Chromium driver writing its profiles under tmp_path."""
    return Browser(chromium, tmp_path)
