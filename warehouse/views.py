"""SQL views for analysts, written by hand from metrics.md (not generated from the pandas code,
so that a test comparing the two checks something).

Each view is plain SQL per dialect: SQLite stores money as decimal text, so amounts are
`CAST(... AS NUMERIC)` there (and sums become floating point); PostgreSQL sums exact NUMERIC.
"Now" is the database's CURRENT_TIMESTAMP (UTC on SQLite); every window is half-open,
[now - n days, now). SQLite has no median, so `v_owner_scorecard` has `median_deal_size` on
PostgreSQL only; on SQLite read it from `pipeline_metrics` (metric median_deal_size, scope
owner). Sums over no deals are 0 and sums over deals whose amounts are all unknown are NULL,
as in metrics.md; a ratio with a zero denominator is NULL.

Changing a view means a new migration that drops and re-creates it (see 0002_views).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DIALECTS: tuple[str, ...] = (SQLITE, POSTGRESQL)

# Dialect spellings of the moments the views need; substituted into the templates below.
_MOMENTS: dict[str, dict[str, str]] = {
    SQLITE: {
        "{NOW}": "datetime('now')",
        "{NOW_MINUS_90}": "datetime('now', '-90 days')",
        "{NOW_MINUS_365}": "datetime('now', '-365 days')",
        "{AMOUNT}": "CAST(d.amount_reporting AS NUMERIC)",
        "{PROBABILITY}": "CAST(d.probability AS NUMERIC)",
        "{RATIO}": "DOUBLE PRECISION",
    },
    POSTGRESQL: {
        "{NOW}": "CURRENT_TIMESTAMP",
        "{NOW_MINUS_90}": "(CURRENT_TIMESTAMP - INTERVAL '90 days')",
        "{NOW_MINUS_365}": "(CURRENT_TIMESTAMP - INTERVAL '365 days')",
        "{AMOUNT}": "d.amount_reporting",
        "{PROBABILITY}": "d.probability",
        "{RATIO}": "DOUBLE PRECISION",
    },
}


@dataclass(frozen=True)
class ViewDef:
    """One analyst view: name, what a row is, column comments, SQL per dialect."""

    name: str
    comment: str
    columns: dict[str, str]
    templates: dict[str, str]
    dialect_notes: dict[str, str] = field(default_factory=dict)

    def sql(self, dialect: str) -> str:
        """The SELECT of the view on `dialect` (sqlite or postgresql)."""
        template = self.templates.get(dialect) or self.templates.get("*")
        if template is None or dialect not in _MOMENTS:
            raise ValueError(f"view {self.name} has no definition for dialect {dialect!r}")
        text = template
        for token, spelling in _MOMENTS[dialect].items():
            text = text.replace(token, spelling)
        return text.strip()

    def column_names(self, dialect: str) -> list[str]:
        """The columns the view has on `dialect` (median_deal_size is PostgreSQL only)."""
        missing = self.dialect_notes.get(dialect, "")
        return [c for c in self.columns if not (missing and c in missing.split(","))]


PIPELINE_BY_STAGE = ViewDef(
    name="v_pipeline_by_stage",
    comment=(
        "open new-business deals by canonical stage now: count, amount, weighted amount"
        " (stages 1-6 always listed; a row with stage_number NULL when deals lack a stage)"
    ),
    columns={
        "stage_number": "canonical stage 1-6; NULL for open deals whose stage is unknown",
        "stage": "canonical stage key, or unknown",
        "open_deals": "open new-business deals in the stage",
        "open_amount": "sum of amount_reporting; 0 with no deals, NULL when all are unknown",
        "weighted_amount": "sum of amount_reporting x probability over deals with both known",
        "unconverted_deals": "open deals left out of the amounts (no reporting amount)",
    },
    templates={
        "*": """
WITH stages(stage_number, stage) AS (
    VALUES (1, 'prospecting'), (2, 'qualification'), (3, 'demo'), (4, 'proposal'),
           (5, 'negotiation'), (6, 'closing')
),
open_deals AS (
    SELECT d.deal_key, d.stage_number, {AMOUNT} AS amount,
           {AMOUNT} * {PROBABILITY} AS weighted
    FROM deals d
    WHERE NOT d.is_deleted AND d.motion = 'new_business' AND d.status = 'open'
)
SELECT s.stage_number AS stage_number,
       s.stage AS stage,
       COUNT(o.deal_key) AS open_deals,
       CASE WHEN COUNT(o.deal_key) = 0 THEN 0 ELSE SUM(o.amount) END AS open_amount,
       CASE WHEN COUNT(o.deal_key) = 0 THEN 0 ELSE SUM(o.weighted) END AS weighted_amount,
       COUNT(o.deal_key) - COUNT(o.amount) AS unconverted_deals
FROM stages s
LEFT JOIN open_deals o ON o.stage_number = s.stage_number
GROUP BY s.stage_number, s.stage
UNION ALL
SELECT NULL, 'unknown', COUNT(o.deal_key), SUM(o.amount), SUM(o.weighted),
       COUNT(o.deal_key) - COUNT(o.amount)
FROM open_deals o
WHERE o.stage_number IS NULL
HAVING COUNT(o.deal_key) > 0
"""
    },
)

STAGE_CONVERSION = ViewDef(
    name="v_stage_conversion",
    comment=(
        "new-business conversion from stage k to k+1 (k = 1..5) over the deals created in the"
        " trailing 365 days (metrics.md cohort rule: entry stage <= k, highest stage >= k)"
    ),
    columns={
        "from_stage": "stage k",
        "to_stage": "stage k+1",
        "step": "k->k+1, as the JSON keys of stage_conversion",
        "advanced": "cohort deals whose highest stage is >= k+1 (won counts as 6)",
        "lost_at_stage": "cohort deals closed with highest stage exactly k",
        "undecided": "cohort deals still open with highest stage k (left out)",
        "conversion": "advanced / (advanced + lost_at_stage); NULL when both are 0",
    },
    templates={
        "*": """
WITH cohort AS (
    SELECT d.deal_key, d.status, d.stage_number AS own_stage
    FROM deals d
    WHERE NOT d.is_deleted AND d.motion = 'new_business'
      AND d.created_at >= {NOW_MINUS_365} AND d.created_at < {NOW}
),
ordered_stays AS (
    SELECT h.deal_key, h.stage_number,
           ROW_NUMBER() OVER (PARTITION BY h.deal_key ORDER BY h.entered_at) AS position
    FROM deal_stage_history h
    JOIN cohort c ON c.deal_key = h.deal_key
),
stay_flow AS (
    SELECT deal_key,
           MAX(CASE WHEN position = 1 THEN stage_number END) AS first_stage,
           MAX(stage_number) AS max_stage
    FROM ordered_stays
    GROUP BY deal_key
),
raw_flow AS (
    SELECT c.deal_key, c.status,
           COALESCE(f.first_stage, c.own_stage) AS entry_stage,
           CASE
               WHEN f.max_stage IS NULL THEN c.own_stage
               WHEN c.own_stage IS NULL THEN f.max_stage
               WHEN f.max_stage > c.own_stage THEN f.max_stage
               ELSE c.own_stage
           END AS reached
    FROM cohort c
    LEFT JOIN stay_flow f ON f.deal_key = c.deal_key
),
flow AS (
    SELECT deal_key, status, entry_stage,
           CASE WHEN status = 'won' AND (reached IS NULL OR reached < 6) THEN 6 ELSE reached END
               AS highest_stage
    FROM raw_flow
),
steps(k) AS (VALUES (1), (2), (3), (4), (5)),
counted AS (
    SELECT s.k,
           COALESCE(SUM(CASE WHEN f.entry_stage <= s.k AND f.highest_stage >= s.k + 1
                             THEN 1 ELSE 0 END), 0) AS advanced,
           COALESCE(SUM(CASE WHEN f.entry_stage <= s.k AND f.highest_stage = s.k
                             AND f.status IN ('won', 'lost') THEN 1 ELSE 0 END), 0)
               AS lost_at_stage,
           COALESCE(SUM(CASE WHEN f.entry_stage <= s.k AND f.highest_stage = s.k
                             AND f.status = 'open' THEN 1 ELSE 0 END), 0) AS undecided
    FROM steps s
    LEFT JOIN flow f ON 1 = 1
    GROUP BY s.k
)
SELECT k AS from_stage,
       k + 1 AS to_stage,
       CAST(k AS TEXT) || '->' || CAST(k + 1 AS TEXT) AS step,
       advanced,
       lost_at_stage,
       undecided,
       CASE WHEN advanced + lost_at_stage = 0 THEN NULL
            ELSE CAST(advanced AS {RATIO}) / (advanced + lost_at_stage) END AS conversion
FROM counted
"""
    },
)

_SCORECARD_HEAD = """
WITH owned AS (
    SELECT d.owner_email, d.status, {AMOUNT} AS amount,
           CASE WHEN d.status IN ('won', 'lost')
                     AND d.closed_at >= {NOW_MINUS_90} AND d.closed_at < {NOW}
                THEN 1 ELSE 0 END AS closed_recently
    FROM deals d
    WHERE NOT d.is_deleted AND d.motion = 'new_business' AND d.owner_email IS NOT NULL
)
SELECT owner_email,
       SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open_deals,
       CASE WHEN SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) = 0 THEN 0
            ELSE SUM(CASE WHEN status = 'open' THEN amount END) END AS open_amount,
       SUM(CASE WHEN closed_recently = 1 AND status = 'won' THEN 1 ELSE 0 END) AS won_90d,
       SUM(CASE WHEN closed_recently = 1 AND status = 'lost' THEN 1 ELSE 0 END) AS lost_90d,
       CASE WHEN SUM(closed_recently) = 0 THEN NULL
            ELSE CAST(SUM(CASE WHEN closed_recently = 1 AND status = 'won' THEN 1 ELSE 0 END)
                      AS {RATIO}) / SUM(closed_recently) END AS win_rate,
       AVG(CASE WHEN closed_recently = 1 AND status = 'won' THEN amount END) AS avg_deal_size"""
_SCORECARD_TAIL = """
FROM owned
GROUP BY owner_email
"""

OWNER_SCORECARD = ViewDef(
    name="v_owner_scorecard",
    comment=(
        "per owner_email, new business: open deals and amount now; won, lost, win rate and"
        " deal size over deals closed in the trailing 90 days"
    ),
    columns={
        "owner_email": "owning rep's email (deals without an owner are left out)",
        "open_deals": "open new-business deals",
        "open_amount": "their amount; 0 with no open deals, NULL when all are unknown",
        "won_90d": "deals won with closed_at in the trailing 90 days",
        "lost_90d": "deals lost with closed_at in the trailing 90 days",
        "win_rate": "won_90d / (won_90d + lost_90d); NULL when none closed",
        "avg_deal_size": "mean amount of the deals won in the trailing 90 days; NULL if none",
        "median_deal_size": (
            "median amount of the deals won in the trailing 90 days (PostgreSQL only: SQLite"
            " has no median; read pipeline_metrics there)"
        ),
    },
    templates={
        SQLITE: _SCORECARD_HEAD + _SCORECARD_TAIL,
        POSTGRESQL: _SCORECARD_HEAD
        + """,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY CASE WHEN closed_recently = 1 AND status = 'won' THEN amount END
       ) AS median_deal_size"""
        + _SCORECARD_TAIL,
    },
    dialect_notes={SQLITE: "median_deal_size"},
)

VIEWS: tuple[ViewDef, ...] = (PIPELINE_BY_STAGE, STAGE_CONVERSION, OWNER_SCORECARD)


def create_view_statements(dialect: str) -> list[str]:
    """CREATE VIEW statements (and, on PostgreSQL, their comments) for every view."""
    statements: list[str] = []
    for view in VIEWS:
        statements.append("CREATE VIEW " + view.name + " AS\n" + view.sql(dialect))
        if dialect == POSTGRESQL:
            statements.append("COMMENT ON VIEW " + view.name + " IS " + _quote(view.comment))
            for column in view.column_names(dialect):
                statements.append(
                    "COMMENT ON COLUMN "
                    + view.name
                    + "."
                    + column
                    + " IS "
                    + _quote(view.columns[column])
                )
    return statements


def drop_view_statements() -> list[str]:
    """DROP VIEW statements for every view, newest first."""
    return ["DROP VIEW IF EXISTS " + view.name for view in reversed(VIEWS)]


def _quote(text: str) -> str:
    """A SQL string literal of a constant comment (no data ever goes through here)."""
    return "'" + text.replace("'", "''") + "'"
