"""Every warehouse table, as one SQLAlchemy `MetaData` (the source of the data dictionary).

Table and column names are a contract (interfaces.md); every column carries a comment.
Columns marked `info={"bookkeeping": True}` record when or by which run a row was written;
they are not part of the row's content, so an upsert that changes only them is "unchanged".
There are no foreign keys on purpose: loads arrive in any order and quarantined deals still
have history, so integrity is checked by the pipeline's asset checks instead.
"""

from __future__ import annotations

import sqlalchemy as sa

from warehouse.types import ExactDecimal, Money, Probability, UtcDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

BOOKKEEPING = {"bookkeeping": True}

STATUSES = ("open", "won", "lost")
MOTIONS = ("new_business", "retention")
EXIT_REASONS = ("advanced", "regressed", "won", "lost", "deleted")
FLAG_STATES = ("proposed", "pushed", "cleared", "dismissed")
RUN_STATUSES = ("running", "succeeded", "failed")
RUN_MODES = ("full", "incremental")
MAPPING_ORIGINS = ("default", "config", "closed", "unmapped")
RATE_ORIGINS = ("crm", "config")
WRITE_RESULTS = ("succeeded", "failed", "skipped")


def _one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    """A CHECK that `column` holds one of `values` (or NULL)."""
    return sa.CheckConstraint(sa.column(column).in_(values), name=name)


deals = sa.Table(
    "deals",
    metadata,
    sa.Column("deal_key", sa.Text, primary_key=True, comment="source:source_id"),
    sa.Column("source", sa.Text, nullable=False, comment="configured CRM instance name"),
    sa.Column("source_type", sa.Text, nullable=False, comment="salesforce or hubspot"),
    sa.Column("source_id", sa.Text, nullable=False, comment="the CRM's own id of the deal"),
    sa.Column("name", sa.Text, comment="deal name"),
    sa.Column(
        "pipeline", sa.Text, comment="source pipeline id (Salesforce: record type or default)"
    ),
    sa.Column("source_stage", sa.Text, comment="the CRM's stage value as it is"),
    sa.Column("stage_number", sa.SmallInteger, comment="canonical stage 1-7; NULL when unknown"),
    sa.Column("stage", sa.Text, comment="canonical stage key, e.g. proposal"),
    sa.Column("status", sa.Text, nullable=False, comment="open, won or lost"),
    sa.Column("motion", sa.Text, nullable=False, comment="new_business or retention"),
    sa.Column("amount", Money(), comment="amount in the deal's own currency"),
    sa.Column("currency", sa.Text, comment="ISO 4217 code of amount"),
    sa.Column(
        "amount_reporting",
        Money(),
        comment="amount in the reporting currency; NULL when no rate is known",
    ),
    sa.Column("probability", Probability(), comment="win probability 0-1, four decimals"),
    sa.Column(
        "forecast_category", sa.Text, comment="pipeline, best_case, commit, closed or omitted"
    ),
    sa.Column("owner_id", sa.Text, comment="the CRM's id of the owning rep"),
    sa.Column("owner_name", sa.Text, comment="owning rep's name"),
    sa.Column(
        "owner_email", sa.Text, comment="owning rep's email, lower case, identifies a person"
    ),
    sa.Column("account_id", sa.Text, comment="the CRM's id of the customer company"),
    sa.Column("account_name", sa.Text, comment="customer company name"),
    sa.Column("lead_source", sa.Text, comment="lead source as the CRM has it"),
    sa.Column("lead_channel", sa.Text, comment="inbound, outbound or unknown"),
    sa.Column("deal_type", sa.Text, comment="deal type as the CRM has it"),
    sa.Column("created_at", UtcDateTime(), comment="when the deal was created (UTC)"),
    sa.Column("close_date", sa.Date, comment="expected (open) or actual (closed) close date"),
    sa.Column("closed_at", UtcDateTime(), comment="when the deal moved into a closed stage (UTC)"),
    sa.Column(
        "closed_at_source", sa.Text, comment="history or close_date: where closed_at came from"
    ),
    sa.Column(
        "stage_entered_at", UtcDateTime(), comment="when it entered its current canonical stage"
    ),
    sa.Column("last_activity_at", UtcDateTime(), comment="last logged sales activity (UTC)"),
    sa.Column("last_modified_at", UtcDateTime(), comment="the CRM's modification stamp (UTC)"),
    sa.Column(
        "needs_attention",
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        comment="a later version of this deal is in quarantine",
    ),
    sa.Column(
        "is_deleted",
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        comment="deleted, archived or merged away in the CRM",
    ),
    sa.Column("flag_stale", sa.Boolean, comment="stale flag field as the CRM has it now"),
    sa.Column("flag_reason", sa.Text, comment="stale reason field as the CRM has it now"),
    sa.Column("flag_since", sa.Date, comment="stale since field as the CRM has it now"),
    sa.Column("quarantine_reason", sa.Text, comment="why the latest version is in quarantine"),
    sa.Column(
        "synced_at",
        UtcDateTime(),
        nullable=False,
        info=BOOKKEEPING,
        comment="when this row was last written (bookkeeping)",
    ),
    sa.UniqueConstraint("source", "source_id"),
    sa.CheckConstraint("stage_number BETWEEN 1 AND 7", name="stage_number_range"),
    _one_of("status", STATUSES, "status"),
    _one_of("motion", MOTIONS, "motion"),
    sa.Index(None, "status", "stage_number"),
    sa.Index(None, "owner_email"),
    sa.Index(None, "close_date"),
    sa.Index(None, "closed_at"),
    sa.Index(None, "account_id"),
    comment="one row per deal per CRM instance (canonical model)",
)

deal_stage_history = sa.Table(
    "deal_stage_history",
    metadata,
    sa.Column("deal_key", sa.Text, primary_key=True, comment="source:source_id of the deal"),
    sa.Column("entered_at", UtcDateTime(), primary_key=True, comment="when the stay began (UTC)"),
    sa.Column("source", sa.Text, nullable=False, comment="configured CRM instance name"),
    sa.Column("stage_number", sa.SmallInteger, nullable=False, comment="canonical stage 1-7"),
    sa.Column("stage", sa.Text, nullable=False, comment="canonical stage key"),
    sa.Column("source_stage", sa.Text, comment="source stage the stay began with"),
    sa.Column("exited_at", UtcDateTime(), comment="when the stay ended; NULL while there"),
    sa.Column(
        "exit_reason",
        sa.Text,
        comment="advanced, regressed, won, lost or deleted; NULL while there",
    ),
    sa.Column(
        "duration_days", sa.Float, comment="fractional days (seconds / 86400); NULL while there"
    ),
    sa.Column("synced_at", UtcDateTime(), info=BOOKKEEPING, comment="when written (bookkeeping)"),
    sa.CheckConstraint("stage_number BETWEEN 1 AND 7", name="stage_number_range"),
    _one_of("exit_reason", EXIT_REASONS, "exit_reason"),
    sa.Index(None, "stage_number", "exited_at"),
    comment="one row per stay of a deal in an open canonical stage",
)

deal_snapshots = sa.Table(
    "deal_snapshots",
    metadata,
    sa.Column("snapshot_date", sa.Date, primary_key=True, comment="day of the snapshot (UTC)"),
    sa.Column("deal_key", sa.Text, primary_key=True, comment="source:source_id of the deal"),
    sa.Column("source", sa.Text, nullable=False, comment="configured CRM instance name"),
    sa.Column("pipeline", sa.Text, comment="source pipeline id"),
    sa.Column("motion", sa.Text, comment="new_business or retention"),
    sa.Column("status", sa.Text, nullable=False, comment="open, won or lost that day"),
    sa.Column("stage_number", sa.SmallInteger, comment="canonical stage that day"),
    sa.Column("stage", sa.Text, comment="canonical stage key that day"),
    sa.Column("amount", Money(), comment="amount in the deal's currency that day"),
    sa.Column("currency", sa.Text, comment="ISO 4217 code of amount"),
    sa.Column("amount_reporting", Money(), comment="amount in the reporting currency that day"),
    sa.Column("probability", Probability(), comment="win probability 0-1 that day"),
    sa.Column("close_date", sa.Date, comment="close date as the rep kept it that day"),
    sa.Column("forecast_category", sa.Text, comment="forecast category that day"),
    sa.Column("owner_email", sa.Text, comment="owning rep's email that day"),
    sa.Column(
        "is_deleted",
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        comment="deleted in the CRM by that day",
    ),
    sa.Column("taken_at", UtcDateTime(), info=BOOKKEEPING, comment="when the snapshot was taken"),
    sa.Index(None, "deal_key"),
    comment="one row per deal per snapshot date (daily), for forecast accuracy",
)

owners = sa.Table(
    "owners",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("owner_id", sa.Text, primary_key=True, comment="the CRM's user id"),
    sa.Column("name", sa.Text, comment="user's name"),
    sa.Column("email", sa.Text, comment="user's email, lower case"),
    sa.Column("is_active", sa.Boolean, comment="the user is active in the CRM"),
    sa.Column("synced_at", UtcDateTime(), info=BOOKKEEPING, comment="when written (bookkeeping)"),
    sa.Index(None, "email"),
    comment="one row per CRM user who may own deals",
)

owner_email_overrides = sa.Table(
    "owner_email_overrides",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("owner_id", sa.Text, primary_key=True, comment="the CRM's user id"),
    sa.Column("email", sa.Text, nullable=False, comment="email that identifies this person"),
    sa.Column("note", sa.Text, comment="why the override exists"),
    comment="exceptions to matching reps across CRMs by email",
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("account_id", sa.Text, primary_key=True, comment="the CRM's company id"),
    sa.Column("name", sa.Text, comment="company name"),
    sa.Column("industry", sa.Text, comment="industry as the CRM has it"),
    sa.Column("country", sa.Text, comment="country as the CRM has it"),
    sa.Column("synced_at", UtcDateTime(), info=BOOKKEEPING, comment="when written (bookkeeping)"),
    comment="one row per customer company",
)

stage_catalog = sa.Table(
    "stage_catalog",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("pipeline", sa.Text, primary_key=True, comment="source pipeline id"),
    sa.Column("stage_id", sa.Text, primary_key=True, comment="the value deals carry as stage"),
    sa.Column("pipeline_label", sa.Text, comment="pipeline name"),
    sa.Column("label", sa.Text, comment="stage name"),
    sa.Column("is_closed", sa.Boolean, nullable=False, comment="the CRM marks the stage closed"),
    sa.Column("is_won", sa.Boolean, nullable=False, comment="the CRM marks the stage won"),
    sa.Column("probability", Probability(), comment="the stage's default probability 0-1"),
    sa.Column("display_order", sa.Integer, comment="order of the stage in its pipeline"),
    sa.Column("is_active", sa.Boolean, comment="the stage is active in the CRM"),
    sa.Column("synced_at", UtcDateTime(), info=BOOKKEEPING, comment="when written (bookkeeping)"),
    comment="the CRMs' stage catalogs, one row per pipeline and stage",
)

stage_mappings = sa.Table(
    "stage_mappings",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("pipeline", sa.Text, primary_key=True, comment="source pipeline id"),
    sa.Column("source_stage", sa.Text, primary_key=True, comment="the CRM's stage value"),
    sa.Column("stage_number", sa.SmallInteger, comment="canonical stage 1-7 it maps to"),
    sa.Column("stage", sa.Text, comment="canonical stage key it maps to"),
    sa.Column("origin", sa.Text, nullable=False, comment="default or config"),
    sa.Column("applied_at", UtcDateTime(), info=BOOKKEEPING, comment="when last applied"),
    sa.CheckConstraint("stage_number BETWEEN 1 AND 7", name="stage_number_range"),
    _one_of("origin", MAPPING_ORIGINS, "origin"),
    comment="source stage to canonical stage, as applied",
)

currency_rates = sa.Table(
    "currency_rates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True, comment="row id"),
    sa.Column("source", sa.Text, nullable=False, comment="configured CRM instance name"),
    sa.Column("currency", sa.Text, nullable=False, comment="ISO 4217 code"),
    sa.Column(
        "rate",
        ExactDecimal(28, 12),
        nullable=False,
        comment="units of currency one unit of the corporate currency buys",
    ),
    sa.Column("is_corporate", sa.Boolean, nullable=False, comment="the org's corporate currency"),
    sa.Column("start_date", sa.Date, comment="first day of a dated rate; NULL: current rate"),
    sa.Column("next_start_date", sa.Date, comment="first day of the next dated rate"),
    sa.Column("origin", sa.Text, nullable=False, comment="crm or config"),
    sa.Column("synced_at", UtcDateTime(), info=BOOKKEEPING, comment="when written (bookkeeping)"),
    _one_of("origin", RATE_ORIGINS, "origin"),
    sa.Index(None, "source", "currency", "start_date"),
    comment="conversion rates per CRM instance (replaced whole per source)",
)

pipeline_metrics = sa.Table(
    "pipeline_metrics",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True, comment="run that computed the value"),
    sa.Column(
        "motion",
        sa.Text,
        primary_key=True,
        server_default="new_business",
        comment="new_business or retention",
    ),
    sa.Column("scope", sa.Text, primary_key=True, comment="all, source, owner, pipeline, ..."),
    sa.Column(
        "scope_key",
        sa.Text,
        primary_key=True,
        server_default="",
        comment="which source, owner or pipeline; empty for scope all",
    ),
    sa.Column("metric", sa.Text, primary_key=True, comment="metric name (metrics.md)"),
    sa.Column(
        "key",
        sa.Text,
        primary_key=True,
        server_default="",
        comment="sub-key, e.g. a stage, 1->2 or a month; empty when none",
    ),
    sa.Column("computed_at", UtcDateTime(), nullable=False, comment="when computed (UTC)"),
    sa.Column("as_of", UtcDateTime(), nullable=False, comment="as-of time T of the figure"),
    sa.Column(
        "value",
        ExactDecimal(accept_float=True),
        comment="numeric value; NULL when undefined",
    ),
    sa.Column("value_text", sa.Text, comment="text value, for metrics that are not numbers"),
    sa.Column("unit", sa.Text, comment="currency code, days, ratio, count or per_day"),
    sa.Index(None, "metric", "as_of"),
    sa.Index(None, "computed_at"),
    comment="metric value per run, scope and metric name",
)

stale_deal_flags = sa.Table(
    "stale_deal_flags",
    metadata,
    sa.Column("deal_key", sa.Text, primary_key=True, comment="source:source_id of the deal"),
    sa.Column("source", sa.Text, nullable=False, comment="configured CRM instance name"),
    sa.Column("source_id", sa.Text, nullable=False, comment="the CRM's own id of the deal"),
    sa.Column("rules", sa.Text, comment="rules that flag it, comma separated"),
    sa.Column("reason", sa.Text, comment="reason text to write, as a person reads it"),
    sa.Column("state", sa.Text, nullable=False, comment="proposed, pushed, cleared or dismissed"),
    sa.Column("flagged_since", sa.Date, comment="first day of the current unbroken run of flags"),
    sa.Column("detected_at", UtcDateTime(), comment="when the flag was last computed"),
    sa.Column("source_stage_at_detection", sa.Text, comment="source stage at detection"),
    sa.Column("stage_number_at_detection", sa.SmallInteger, comment="canonical stage at detection"),
    sa.Column("amount_at_detection", Money(), comment="amount at detection"),
    sa.Column("close_date_at_detection", sa.Date, comment="close date at detection"),
    sa.Column("owner_id_at_detection", sa.Text, comment="owner id at detection"),
    sa.Column("crm_flag_stale_at_detection", sa.Boolean, comment="CRM flag field at detection"),
    sa.Column("crm_flag_reason_at_detection", sa.Text, comment="CRM reason field at detection"),
    sa.Column("crm_flag_since_at_detection", sa.Date, comment="CRM since field at detection"),
    sa.Column("pushed_at", UtcDateTime(), comment="when the flag was last written to the CRM"),
    sa.Column("crm_flag_stale", sa.Boolean, comment="flag value the toolkit last wrote to the CRM"),
    sa.Column("crm_flag_reason", sa.Text, comment="reason the toolkit last wrote to the CRM"),
    sa.Column("crm_flag_since", sa.Date, comment="since date the toolkit last wrote to the CRM"),
    sa.Column("dismissed_stage", sa.Text, comment="source stage when the untick was seen"),
    sa.Column("cleared_at", UtcDateTime(), comment="when the flag was cleared"),
    sa.Column("dismissed_at", UtcDateTime(), comment="when an admin's untick was seen"),
    sa.Column(
        "attempts",
        sa.Integer,
        nullable=False,
        server_default="0",
        comment="failed write attempts in a row",
    ),
    sa.Column("last_error", sa.Text, comment="the CRM's error of the last failed write"),
    sa.Column(
        "gave_up_at", UtcDateTime(), comment="when retries stopped (error retrying cannot fix)"
    ),
    sa.Column("updated_at", UtcDateTime(), info=BOOKKEEPING, comment="when written (bookkeeping)"),
    _one_of("state", FLAG_STATES, "state"),
    sa.Index(None, "source", "state"),
    comment="one row per deal flagged stale (or cleared, dismissed), with rule, reason, state",
)

flag_writes = sa.Table(
    "flag_writes",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
        comment="row id",
    ),
    sa.Column("run_id", sa.Text, nullable=False, comment="push run that wrote it"),
    sa.Column("deal_key", sa.Text, nullable=False, comment="source:source_id of the deal"),
    sa.Column("source", sa.Text, nullable=False, comment="configured CRM instance name"),
    sa.Column("field", sa.Text, nullable=False, comment="CRM field written"),
    sa.Column("old_value", sa.Text, comment="value before the write, as text"),
    sa.Column("new_value", sa.Text, comment="value written, as text"),
    sa.Column("written_at", UtcDateTime(), nullable=False, comment="when written (UTC)"),
    sa.Column("result", sa.Text, nullable=False, comment="succeeded, failed or skipped"),
    sa.Column("error", sa.Text, comment="the CRM's error when it failed"),
    sa.Column("retriable", sa.Boolean, comment="a failed write is retried next run"),
    sa.Column(
        "modified_before",
        UtcDateTime(),
        comment="the deal's CRM modification stamp just before the write (re-read)",
    ),
    _one_of("result", WRITE_RESULTS, "result"),
    sa.Index(None, "deal_key", "written_at"),
    sa.Index(None, "run_id"),
    comment="one row per field written to a CRM, with old and new value and result",
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True, comment="run id (Dagster run or CLI uuid)"),
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("started_at", UtcDateTime(), nullable=False, comment="when the run began (UTC)"),
    sa.Column("ended_at", UtcDateTime(), comment="when it ended; NULL while running"),
    sa.Column("status", sa.Text, nullable=False, comment="running, succeeded or failed"),
    sa.Column("mode", sa.Text, nullable=False, comment="full or incremental"),
    sa.Column("rows_read", sa.Integer, comment="raw records read from the CRM"),
    sa.Column("inserted", sa.Integer, comment="deals inserted"),
    sa.Column("updated", sa.Integer, comment="deals updated"),
    sa.Column("unchanged", sa.Integer, comment="deals read again without a change"),
    sa.Column("deleted", sa.Integer, comment="deals marked deleted"),
    sa.Column("quarantined", sa.Integer, comment="records sent to quarantine"),
    sa.Column("api_calls", sa.Integer, comment="CRM API calls made"),
    sa.Column("cursor_before", sa.Text, comment="deal cursor when the run began"),
    sa.Column("cursor_after", sa.Text, comment="deal cursor committed by the run"),
    sa.Column("message", sa.Text, comment="summary or error message (no secrets)"),
    _one_of("status", RUN_STATUSES, "status"),
    _one_of("mode", RUN_MODES, "mode"),
    sa.Index(None, "source", "started_at"),
    comment="one row per sync run per source, with counts, cursor and status",
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("stream", sa.Text, primary_key=True, comment="stream, e.g. deals or stage_history"),
    sa.Column("value", sa.Text, nullable=False, comment="cursor value (inclusive)"),
    sa.Column("updated_at", UtcDateTime(), nullable=False, comment="when it was committed"),
    comment="incremental-sync cursor per source and stream",
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("kind", sa.Text, primary_key=True, comment="record kind, e.g. deal or stage_history"),
    sa.Column("source_id", sa.Text, primary_key=True, comment="the CRM's own id of the record"),
    sa.Column("reason", sa.Text, nullable=False, comment="why it could not be loaded"),
    sa.Column("raw_payload", sa.Text, comment="the record as the CRM sent it (JSON text)"),
    sa.Column("first_seen_at", UtcDateTime(), nullable=False, comment="first time quarantined"),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False, comment="latest time quarantined"),
    sa.Column("resolved_at", UtcDateTime(), comment="when it loaded after all; NULL while open"),
    sa.Column("run_id", sa.Text, comment="latest run that quarantined it"),
    sa.Index(None, "resolved_at"),
    comment="one row per raw record that could not be loaded, with the reason",
)

raw_deals = sa.Table(
    "raw_deals",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("source_id", sa.Text, primary_key=True, comment="the CRM's own id of the deal"),
    sa.Column("payload", sa.Text, nullable=False, comment="the record as the CRM sent it (JSON)"),
    sa.Column("last_modified_at", UtcDateTime(), comment="the CRM's modification stamp"),
    sa.Column(
        "extracted_at", UtcDateTime(), nullable=False, info=BOOKKEEPING, comment="when extracted"
    ),
    sa.Column("run_id", sa.Text, info=BOOKKEEPING, comment="run that extracted it"),
    sa.Column(
        "needs_normalize",
        sa.Boolean,
        nullable=False,
        server_default=sa.true(),
        info=BOOKKEEPING,
        comment="changed since last normalized (or quarantined: retried every run)",
    ),
    sa.Column("normalized_at", UtcDateTime(), info=BOOKKEEPING, comment="when last normalized"),
    sa.Index(None, "source", "needs_normalize"),
    comment="deal payloads as they came from the CRM",
)

raw_stage_history = sa.Table(
    "raw_stage_history",
    metadata,
    sa.Column("source", sa.Text, primary_key=True, comment="configured CRM instance name"),
    sa.Column("source_id", sa.Text, primary_key=True, comment="the CRM's id of the deal"),
    sa.Column("history_key", sa.Text, primary_key=True, comment="id of the history entry"),
    sa.Column("payload", sa.Text, nullable=False, comment="the entry as the CRM sent it (JSON)"),
    sa.Column(
        "extracted_at", UtcDateTime(), nullable=False, info=BOOKKEEPING, comment="when extracted"
    ),
    sa.Column("run_id", sa.Text, info=BOOKKEEPING, comment="run that extracted it"),
    comment="stage-history payloads as they came from the CRM",
)

quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("owner_email", sa.Text, primary_key=True, comment="rep (or team) the quota is for"),
    sa.Column("period_start", sa.Date, primary_key=True, comment="first day of the period"),
    sa.Column("period_end", sa.Date, nullable=False, comment="last day of the period"),
    sa.Column("amount", Money(), nullable=False, comment="quota in the reporting currency"),
    sa.Column("loaded_at", UtcDateTime(), info=BOOKKEEPING, comment="when loaded (bookkeeping)"),
    comment="sales quotas per owner and period (user input)",
)
