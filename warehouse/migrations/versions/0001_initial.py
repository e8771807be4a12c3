"""Initial warehouse schema: every table of interfaces.md.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 12:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warehouse.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table and index."""
    op.create_table('accounts',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('account_id', sa.Text(), nullable=False, comment="the CRM's company id"),
    sa.Column('name', sa.Text(), nullable=True, comment='company name'),
    sa.Column('industry', sa.Text(), nullable=True, comment='industry as the CRM has it'),
    sa.Column('country', sa.Text(), nullable=True, comment='country as the CRM has it'),
    sa.Column('synced_at', warehouse.types.UtcDateTime(), nullable=True, comment='when written (bookkeeping)'),
    sa.PrimaryKeyConstraint('source', 'account_id', name=op.f('pk_accounts')),
    comment='one row per customer company'
    )
    op.create_table('currency_rates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False, comment='row id'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('currency', sa.Text(), nullable=False, comment='ISO 4217 code'),
    sa.Column('rate', warehouse.types.ExactDecimal(28, 12), nullable=False, comment='units of currency one unit of the corporate currency buys'),
    sa.Column('is_corporate', sa.Boolean(), nullable=False, comment="the org's corporate currency"),
    sa.Column('start_date', sa.Date(), nullable=True, comment='first day of a dated rate; NULL: current rate'),
    sa.Column('next_start_date', sa.Date(), nullable=True, comment='first day of the next dated rate'),
    sa.Column('origin', sa.Text(), nullable=False, comment='crm or config'),
    sa.Column('synced_at', warehouse.types.UtcDateTime(), nullable=True, comment='when written (bookkeeping)'),
    sa.CheckConstraint("origin IN ('crm', 'config')", name=op.f('ck_currency_rates_origin')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_currency_rates')),
    comment='conversion rates per CRM instance (replaced whole per source)'
    )
    op.create_index(op.f('ix_currency_rates_source_currency_start_date'), 'currency_rates', ['source', 'currency', 'start_date'], unique=False)
    op.create_table('deal_snapshots',
    sa.Column('snapshot_date', sa.Date(), nullable=False, comment='day of the snapshot (UTC)'),
    sa.Column('deal_key', sa.Text(), nullable=False, comment='source:source_id of the deal'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('pipeline', sa.Text(), nullable=True, comment='source pipeline id'),
    sa.Column('motion', sa.Text(), nullable=True, comment='new_business or retention'),
    sa.Column('status', sa.Text(), nullable=False, comment='open, won or lost that day'),
    sa.Column('stage_number', sa.SmallInteger(), nullable=True, comment='canonical stage that day'),
    sa.Column('stage', sa.Text(), nullable=True, comment='canonical stage key that day'),
    sa.Column('amount', warehouse.types.Money(), nullable=True, comment="amount in the deal's currency that day"),
    sa.Column('currency', sa.Text(), nullable=True, comment='ISO 4217 code of amount'),
    sa.Column('amount_reporting', warehouse.types.Money(), nullable=True, comment='amount in the reporting currency that day'),
    sa.Column('probability', warehouse.types.Probability(), nullable=True, comment='win probability 0-1 that day'),
    sa.Column('close_date', sa.Date(), nullable=True, comment='close date as the rep kept it that day'),
    sa.Column('forecast_category', sa.Text(), nullable=True, comment='forecast category that day'),
    sa.Column('owner_email', sa.Text(), nullable=True, comment="owning rep's email that day"),
    sa.Column('is_deleted', sa.Boolean(), server_default=sa.false(), nullable=False, comment='deleted in the CRM by that day'),
    sa.Column('taken_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the snapshot was taken'),
    sa.PrimaryKeyConstraint('snapshot_date', 'deal_key', name=op.f('pk_deal_snapshots')),
    comment='one row per deal per snapshot date (daily), for forecast accuracy'
    )
    op.create_index(op.f('ix_deal_snapshots_deal_key'), 'deal_snapshots', ['deal_key'], unique=False)
    op.create_table('deal_stage_history',
    sa.Column('deal_key', sa.Text(), nullable=False, comment='source:source_id of the deal'),
    sa.Column('entered_at', warehouse.types.UtcDateTime(), nullable=False, comment='when the stay began (UTC)'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('stage_number', sa.SmallInteger(), nullable=False, comment='canonical stage 1-7'),
    sa.Column('stage', sa.Text(), nullable=False, comment='canonical stage key'),
    sa.Column('source_stage', sa.Text(), nullable=True, comment='source stage the stay began with'),
    sa.Column('exited_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the stay ended; NULL while there'),
    sa.Column('exit_reason', sa.Text(), nullable=True, comment='advanced, regressed, won, lost or deleted; NULL while there'),
    sa.Column('duration_days', sa.Float(), nullable=True, comment='fractional days (seconds / 86400); NULL while there'),
    sa.Column('synced_at', warehouse.types.UtcDateTime(), nullable=True, comment='when written (bookkeeping)'),
    sa.CheckConstraint("exit_reason IN ('advanced', 'regressed', 'won', 'lost', 'deleted')", name=op.f('ck_deal_stage_history_exit_reason')),
    sa.CheckConstraint('stage_number BETWEEN 1 AND 7', name=op.f('ck_deal_stage_history_stage_number_range')),
    sa.PrimaryKeyConstraint('deal_key', 'entered_at', name=op.f('pk_deal_stage_history')),
    comment='one row per stay of a deal in an open canonical stage'
    )
    op.create_index(op.f('ix_deal_stage_history_source'), 'deal_stage_history', ['source'], unique=False)
    op.create_index(op.f('ix_deal_stage_history_stage_number_exited_at'), 'deal_stage_history', ['stage_number', 'exited_at'], unique=False)
    op.create_table('deals',
    sa.Column('deal_key', sa.Text(), nullable=False, comment='source:source_id'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('source_type', sa.Text(), nullable=False, comment='salesforce or hubspot'),
    sa.Column('source_id', sa.Text(), nullable=False, comment="the CRM's own id of the deal"),
    sa.Column('name', sa.Text(), nullable=True, comment='deal name'),
    sa.Column('pipeline', sa.Text(), nullable=True, comment='source pipeline id (Salesforce: record type or default)'),
    sa.Column('source_stage', sa.Text(), nullable=True, comment="the CRM's stage value as it is"),
    sa.Column('stage_number', sa.SmallInteger(), nullable=True, comment='canonical stage 1-7; NULL when unknown'),
    sa.Column('stage', sa.Text(), nullable=True, comment='canonical stage key, e.g. proposal'),
    sa.Column('status', sa.Text(), nullable=False, comment='open, won or lost'),
    sa.Column('motion', sa.Text(), nullable=False, comment='new_business or retention'),
    sa.Column('amount', warehouse.types.Money(), nullable=True, comment="amount in the deal's own currency"),
    sa.Column('currency', sa.Text(), nullable=True, comment='ISO 4217 code of amount'),
    sa.Column('amount_reporting', warehouse.types.Money(), nullable=True, comment='amount in the reporting currency; NULL when no rate is known'),
    sa.Column('probability', warehouse.types.Probability(), nullable=True, comment='win probability 0-1, four decimals'),
    sa.Column('forecast_category', sa.Text(), nullable=True, comment='pipeline, best_case, commit, closed or omitted'),
    sa.Column('owner_id', sa.Text(), nullable=True, comment="the CRM's id of the owning rep"),
    sa.Column('owner_name', sa.Text(), nullable=True, comment="owning rep's name"),
    sa.Column('owner_email', sa.Text(), nullable=True, comment="owning rep's email, lower case, identifies a person"),
    sa.Column('account_id', sa.Text(), nullable=True, comment="the CRM's id of the customer company"),
    sa.Column('account_name', sa.Text(), nullable=True, comment='customer company name'),
    sa.Column('lead_source', sa.Text(), nullable=True, comment='lead source as the CRM has it'),
    sa.Column('lead_channel', sa.Text(), nullable=True, comment='inbound, outbound or unknown'),
    sa.Column('deal_type', sa.Text(), nullable=True, comment='deal type as the CRM has it'),
    sa.Column('created_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the deal was created (UTC)'),
    sa.Column('close_date', sa.Date(), nullable=True, comment='expected (open) or actual (closed) close date'),
    sa.Column('closed_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the deal moved into a closed stage (UTC)'),
    sa.Column('closed_at_source', sa.Text(), nullable=True, comment='history or close_date: where closed_at came from'),
    sa.Column('stage_entered_at', warehouse.types.UtcDateTime(), nullable=True, comment='when it entered its current canonical stage'),
    sa.Column('last_activity_at', warehouse.types.UtcDateTime(), nullable=True, comment='last logged sales activity (UTC)'),
    sa.Column('last_modified_at', warehouse.types.UtcDateTime(), nullable=True, comment="the CRM's modification stamp (UTC)"),
    sa.Column('needs_attention', sa.Boolean(), server_default=sa.false(), nullable=False, comment='a later version of this deal is in quarantine'),
    sa.Column('is_deleted', sa.Boolean(), server_default=sa.false(), nullable=False, comment='deleted, archived or merged away in the CRM'),
    sa.Column('flag_stale', sa.Boolean(), nullable=True, comment='stale flag field as the CRM has it now'),
    sa.Column('flag_reason', sa.Text(), nullable=True, comment='stale reason field as the CRM has it now'),
    sa.Column('flag_since', sa.Date(), nullable=True, comment='stale since field as the CRM has it now'),
    sa.Column('quarantine_reason', sa.Text(), nullable=True, comment='why the latest version is in quarantine'),
    sa.Column('synced_at', warehouse.types.UtcDateTime(), nullable=False, comment='when this row was last written (bookkeeping)'),
    sa.CheckConstraint("motion IN ('new_business', 'retention')", name=op.f('ck_deals_motion')),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f('ck_deals_status')),
    sa.CheckConstraint('stage_number BETWEEN 1 AND 7', name=op.f('ck_deals_stage_number_range')),
    sa.PrimaryKeyConstraint('deal_key', name=op.f('pk_deals')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_deals_source_source_id')),
    comment='one row per deal per CRM instance (canonical model)'
    )
    op.create_index(op.f('ix_deals_account_id'), 'deals', ['account_id'], unique=False)
    op.create_index(op.f('ix_deals_close_date'), 'deals', ['close_date'], unique=False)
    op.create_index(op.f('ix_deals_closed_at'), 'deals', ['closed_at'], unique=False)
    op.create_index(op.f('ix_deals_owner_email'), 'deals', ['owner_email'], unique=False)
    op.create_index(op.f('ix_deals_status_stage_number'), 'deals', ['status', 'stage_number'], unique=False)
    op.create_table('flag_writes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False, comment='row id'),
    sa.Column('run_id', sa.Text(), nullable=False, comment='push run that wrote it'),
    sa.Column('deal_key', sa.Text(), nullable=False, comment='source:source_id of the deal'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('field', sa.Text(), nullable=False, comment='CRM field written'),
    sa.Column('old_value', sa.Text(), nullable=True, comment='value before the write, as text'),
    sa.Column('new_value', sa.Text(), nullable=True, comment='value written, as text'),
    sa.Column('written_at', warehouse.types.UtcDateTime(), nullable=False, comment='when written (UTC)'),
    sa.Column('result', sa.Text(), nullable=False, comment='succeeded, failed or skipped'),
    sa.Column('error', sa.Text(), nullable=True, comment="the CRM's error when it failed"),
    sa.Column('retriable', sa.Boolean(), nullable=True, comment='a failed write is retried next run'),
    sa.Column('modified_before', warehouse.types.UtcDateTime(), nullable=True, comment="the deal's CRM modification stamp just before the write (re-read)"),
    sa.CheckConstraint("result IN ('succeeded', 'failed', 'skipped')", name=op.f('ck_flag_writes_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_writes')),
    comment='one row per field written to a CRM, with old and new value and result'
    )
    op.create_index(op.f('ix_flag_writes_deal_key_written_at'), 'flag_writes', ['deal_key', 'written_at'], unique=False)
    op.create_index(op.f('ix_flag_writes_run_id'), 'flag_writes', ['run_id'], unique=False)
    op.create_table('owner_email_overrides',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('owner_id', sa.Text(), nullable=False, comment="the CRM's user id"),
    sa.Column('email', sa.Text(), nullable=False, comment='email that identifies this person'),
    sa.Column('note', sa.Text(), nullable=True, comment='why the override exists'),
    sa.PrimaryKeyConstraint('source', 'owner_id', name=op.f('pk_owner_email_overrides')),
    comment='exceptions to matching reps across CRMs by email'
    )
    op.create_table('owners',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('owner_id', sa.Text(), nullable=False, comment="the CRM's user id"),
    sa.Column('name', sa.Text(), nullable=True, comment="user's name"),
    sa.Column('email', sa.Text(), nullable=True, comment="user's email, lower case"),
    sa.Column('is_active', sa.Boolean(), nullable=True, comment='the user is active in the CRM'),
    sa.Column('synced_at', warehouse.types.UtcDateTime(), nullable=True, comment='when written (bookkeeping)'),
    sa.PrimaryKeyConstraint('source', 'owner_id', name=op.f('pk_owners')),
    comment='one row per CRM user who may own deals'
    )
    op.create_index(op.f('ix_owners_email'), 'owners', ['email'], unique=False)
    op.create_table('pipeline_metrics',
    sa.Column('run_id', sa.Text(), nullable=False, comment='run that computed the value'),
    sa.Column('motion', sa.Text(), server_default='new_business', nullable=False, comment='new_business or retention'),
    sa.Column('scope', sa.Text(), nullable=False, comment='all, source, owner, pipeline, ...'),
    sa.Column('scope_key', sa.Text(), server_default='', nullable=False, comment='which source, owner or pipeline; empty for scope all'),
    sa.Column('metric', sa.Text(), nullable=False, comment='metric name (metrics.md)'),
    sa.Column('key', sa.Text(), server_default='', nullable=False, comment='sub-key, e.g. a stage, 1->2 or a month; empty when none'),
    sa.Column('computed_at', warehouse.types.UtcDateTime(), nullable=False, comment='when computed (UTC)'),
    sa.Column('as_of', warehouse.types.UtcDateTime(), nullable=False, comment='as-of time T of the figure'),
    sa.Column('value', warehouse.types.ExactDecimal(accept_float=True), nullable=True, comment='numeric value; NULL when undefined'),
    sa.Column('value_text', sa.Text(), nullable=True, comment='text value, for metrics that are not numbers'),
    sa.Column('unit', sa.Text(), nullable=True, comment='currency code, days, ratio, count or per_day'),
    sa.PrimaryKeyConstraint('run_id', 'motion', 'scope', 'scope_key', 'metric', 'key', name=op.f('pk_pipeline_metrics')),
    comment='metric value per run, scope and metric name'
    )
    op.create_index(op.f('ix_pipeline_metrics_computed_at'), 'pipeline_metrics', ['computed_at'], unique=False)
    op.create_index(op.f('ix_pipeline_metrics_metric_as_of'), 'pipeline_metrics', ['metric', 'as_of'], unique=False)
    op.create_table('quarantine',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('kind', sa.Text(), nullable=False, comment='record kind, e.g. deal or stage_history'),
    sa.Column('source_id', sa.Text(), nullable=False, comment="the CRM's own id of the record"),
    sa.Column('reason', sa.Text(), nullable=False, comment='why it could not be loaded'),
    sa.Column('raw_payload', sa.Text(), nullable=True, comment='the record as the CRM sent it (JSON text)'),
    sa.Column('first_seen_at', warehouse.types.UtcDateTime(), nullable=False, comment='first time quarantined'),
    sa.Column('last_seen_at', warehouse.types.UtcDateTime(), nullable=False, comment='latest time quarantined'),
    sa.Column('resolved_at', warehouse.types.UtcDateTime(), nullable=True, comment='when it loaded after all; NULL while open'),
    sa.Column('run_id', sa.Text(), nullable=True, comment='latest run that quarantined it'),
    sa.PrimaryKeyConstraint('source', 'kind', 'source_id', name=op.f('pk_quarantine')),
    comment='one row per raw record that could not be loaded, with the reason'
    )
    op.create_index(op.f('ix_quarantine_resolved_at'), 'quarantine', ['resolved_at'], unique=False)
    op.create_table('quotas',
    sa.Column('owner_email', sa.Text(), nullable=False, comment='rep (or team) the quota is for'),
    sa.Column('period_start', sa.Date(), nullable=False, comment='first day of the period'),
    sa.Column('period_end', sa.Date(), nullable=False, comment='last day of the period'),
    sa.Column('amount', warehouse.types.Money(), nullable=False, comment='quota in the reporting currency'),
    sa.Column('loaded_at', warehouse.types.UtcDateTime(), nullable=True, comment='when loaded (bookkeeping)'),
    sa.PrimaryKeyConstraint('owner_email', 'period_start', name=op.f('pk_quotas')),
    comment='sales quotas per owner and period (user input)'
    )
    op.create_table('raw_deals',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('source_id', sa.Text(), nullable=False, comment="the CRM's own id of the deal"),
    sa.Column('payload', sa.Text(), nullable=False, comment='the record as the CRM sent it (JSON)'),
    sa.Column('last_modified_at', warehouse.types.UtcDateTime(), nullable=True, comment="the CRM's modification stamp"),
    sa.Column('extracted_at', warehouse.types.UtcDateTime(), nullable=False, comment='when extracted'),
    sa.Column('run_id', sa.Text(), nullable=True, comment='run that extracted it'),
    sa.Column('needs_normalize', sa.Boolean(), server_default=sa.true(), nullable=False, comment='changed since last normalized (or quarantined: retried every run)'),
    sa.Column('normalized_at', warehouse.types.UtcDateTime(), nullable=True, comment='when last normalized'),
    sa.PrimaryKeyConstraint('source', 'source_id', name=op.f('pk_raw_deals')),
    comment='deal payloads as they came from the CRM'
    )
    op.create_index(op.f('ix_raw_deals_source_needs_normalize'), 'raw_deals', ['source', 'needs_normalize'], unique=False)
    op.create_table('raw_stage_history',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('source_id', sa.Text(), nullable=False, comment="the CRM's id of the deal"),
    sa.Column('history_key', sa.Text(), nullable=False, comment='id of the history entry'),
    sa.Column('payload', sa.Text(), nullable=False, comment='the entry as the CRM sent it (JSON)'),
    sa.Column('extracted_at', warehouse.types.UtcDateTime(), nullable=False, comment='when extracted'),
    sa.Column('run_id', sa.Text(), nullable=True, comment='run that extracted it'),
    sa.Column('needs_normalize', sa.Boolean(), server_default=sa.true(), nullable=False, comment="changed since the deal's history was last normalized"),
    sa.Column('normalized_at', warehouse.types.UtcDateTime(), nullable=True, comment='when last normalized'),
    sa.PrimaryKeyConstraint('source', 'source_id', 'history_key', name=op.f('pk_raw_stage_history')),
    comment='stage-history payloads as they came from the CRM'
    )
    op.create_index(op.f('ix_raw_stage_history_source_needs_normalize'), 'raw_stage_history', ['source', 'needs_normalize'], unique=False)
    op.create_table('stage_catalog',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('pipeline', sa.Text(), nullable=False, comment='source pipeline id'),
    sa.Column('stage_id', sa.Text(), nullable=False, comment='the value deals carry as stage'),
    sa.Column('pipeline_label', sa.Text(), nullable=True, comment='pipeline name'),
    sa.Column('label', sa.Text(), nullable=True, comment='stage name'),
    sa.Column('is_closed', sa.Boolean(), nullable=False, comment='the CRM marks the stage closed'),
    sa.Column('is_won', sa.Boolean(), nullable=False, comment='the CRM marks the stage won'),
    sa.Column('probability', warehouse.types.Probability(), nullable=True, comment="the stage's default probability 0-1"),
    sa.Column('display_order', sa.Integer(), nullable=True, comment='order of the stage in its pipeline'),
    sa.Column('is_active', sa.Boolean(), nullable=True, comment='the stage is active in the CRM'),
    sa.Column('synced_at', warehouse.types.UtcDateTime(), nullable=True, comment='when written (bookkeeping)'),
    sa.PrimaryKeyConstraint('source', 'pipeline', 'stage_id', name=op.f('pk_stage_catalog')),
    comment="the CRMs' stage catalogs, one row per pipeline and stage"
    )
    op.create_table('stage_mappings',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('pipeline', sa.Text(), nullable=False, comment='source pipeline id'),
    sa.Column('source_stage', sa.Text(), nullable=False, comment="the CRM's stage value"),
    sa.Column('stage_number', sa.SmallInteger(), nullable=True, comment='canonical stage 1-7 it maps to'),
    sa.Column('stage', sa.Text(), nullable=True, comment='canonical stage key it maps to'),
    sa.Column('origin', sa.Text(), nullable=False, comment='default or config'),
    sa.Column('applied_at', warehouse.types.UtcDateTime(), nullable=True, comment='when last applied'),
    sa.CheckConstraint("origin IN ('default', 'config', 'closed', 'unmapped')", name=op.f('ck_stage_mappings_origin')),
    sa.CheckConstraint('stage_number BETWEEN 1 AND 7', name=op.f('ck_stage_mappings_stage_number_range')),
    sa.PrimaryKeyConstraint('source', 'pipeline', 'source_stage', name=op.f('pk_stage_mappings')),
    comment='source stage to canonical stage, as applied'
    )
    op.create_table('stale_deal_flags',
    sa.Column('deal_key', sa.Text(), nullable=False, comment='source:source_id of the deal'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('source_id', sa.Text(), nullable=False, comment="the CRM's own id of the deal"),
    sa.Column('rules', sa.Text(), nullable=True, comment='rules that flag it, comma separated'),
    sa.Column('reason', sa.Text(), nullable=True, comment='reason text to write, as a person reads it'),
    sa.Column('state', sa.Text(), nullable=False, comment='proposed, pushed, cleared or dismissed'),
    sa.Column('flagged_since', sa.Date(), nullable=True, comment='first day of the current unbroken run of flags'),
    sa.Column('detected_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the flag was last computed'),
    sa.Column('source_stage_at_detection', sa.Text(), nullable=True, comment='source stage at detection'),
    sa.Column('stage_number_at_detection', sa.SmallInteger(), nullable=True, comment='canonical stage at detection'),
    sa.Column('amount_at_detection', warehouse.types.Money(), nullable=True, comment='amount at detection'),
    sa.Column('close_date_at_detection', sa.Date(), nullable=True, comment='close date at detection'),
    sa.Column('owner_id_at_detection', sa.Text(), nullable=True, comment='owner id at detection'),
    sa.Column('crm_flag_stale_at_detection', sa.Boolean(), nullable=True, comment='CRM flag field at detection'),
    sa.Column('crm_flag_reason_at_detection', sa.Text(), nullable=True, comment='CRM reason field at detection'),
    sa.Column('crm_flag_since_at_detection', sa.Date(), nullable=True, comment='CRM since field at detection'),
    sa.Column('pushed_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the flag was last written to the CRM'),
    sa.Column('crm_flag_stale', sa.Boolean(), nullable=True, comment='flag value the toolkit last wrote to the CRM'),
    sa.Column('crm_flag_reason', sa.Text(), nullable=True, comment='reason the toolkit last wrote to the CRM'),
    sa.Column('crm_flag_since', sa.Date(), nullable=True, comment='since date the toolkit last wrote to the CRM'),
    sa.Column('dismissed_stage', sa.Text(), nullable=True, comment='source stage when the untick was seen'),
    sa.Column('cleared_at', warehouse.types.UtcDateTime(), nullable=True, comment='when the flag was cleared'),
    sa.Column('dismissed_at', warehouse.types.UtcDateTime(), nullable=True, comment="when an admin's untick was seen"),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False, comment='failed write attempts in a row'),
    sa.Column('last_error', sa.Text(), nullable=True, comment="the CRM's error of the last failed write"),
    sa.Column('gave_up_at', warehouse.types.UtcDateTime(), nullable=True, comment='when retries stopped (error retrying cannot fix)'),
    sa.Column('updated_at', warehouse.types.UtcDateTime(), nullable=True, comment='when written (bookkeeping)'),
    sa.CheckConstraint("state IN ('proposed', 'pushed', 'cleared', 'dismissed')", name=op.f('ck_stale_deal_flags_state')),
    sa.PrimaryKeyConstraint('deal_key', name=op.f('pk_stale_deal_flags')),
    comment='one row per deal flagged stale (or cleared, dismissed), with rule, reason, state'
    )
    op.create_index(op.f('ix_stale_deal_flags_source_state'), 'stale_deal_flags', ['source', 'state'], unique=False)
    op.create_table('sync_cursors',
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('stream', sa.Text(), nullable=False, comment='stream, e.g. deals or stage_history'),
    sa.Column('value', sa.Text(), nullable=False, comment='cursor value (inclusive)'),
    sa.Column('updated_at', warehouse.types.UtcDateTime(), nullable=False, comment='when it was committed'),
    sa.PrimaryKeyConstraint('source', 'stream', name=op.f('pk_sync_cursors')),
    comment='incremental-sync cursor per source and stream'
    )
    op.create_table('sync_runs',
    sa.Column('run_id', sa.Text(), nullable=False, comment='run id (Dagster run or CLI uuid)'),
    sa.Column('source', sa.Text(), nullable=False, comment='configured CRM instance name'),
    sa.Column('started_at', warehouse.types.UtcDateTime(), nullable=False, comment='when the run began (UTC)'),
    sa.Column('ended_at', warehouse.types.UtcDateTime(), nullable=True, comment='when it ended; NULL while running'),
    sa.Column('status', sa.Text(), nullable=False, comment='running, succeeded or failed'),
    sa.Column('mode', sa.Text(), nullable=False, comment='full or incremental'),
    sa.Column('rows_read', sa.Integer(), nullable=True, comment='raw records read from the CRM'),
    sa.Column('inserted', sa.Integer(), nullable=True, comment='deals inserted'),
    sa.Column('updated', sa.Integer(), nullable=True, comment='deals updated'),
    sa.Column('unchanged', sa.Integer(), nullable=True, comment='deals read again without a change'),
    sa.Column('deleted', sa.Integer(), nullable=True, comment='deals marked deleted'),
    sa.Column('quarantined', sa.Integer(), nullable=True, comment='records sent to quarantine'),
    sa.Column('api_calls', sa.Integer(), nullable=True, comment='CRM API calls made'),
    sa.Column('cursor_before', sa.Text(), nullable=True, comment='deal cursor when the run began'),
    sa.Column('cursor_after', sa.Text(), nullable=True, comment='deal cursor committed by the run'),
    sa.Column('message', sa.Text(), nullable=True, comment='summary or error message (no secrets)'),
    sa.CheckConstraint("mode IN ('full', 'incremental')", name=op.f('ck_sync_runs_mode')),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name=op.f('ck_sync_runs_status')),
    sa.PrimaryKeyConstraint('run_id', 'source', name=op.f('pk_sync_runs')),
    comment='one row per sync run per source, with counts, cursor and status'
    )
    op.create_index(op.f('ix_sync_runs_source_started_at'), 'sync_runs', ['source', 'started_at'], unique=False)


def downgrade() -> None:
    """Drop every table."""
    op.drop_index(op.f('ix_sync_runs_source_started_at'), table_name='sync_runs')
    op.drop_table('sync_runs')
    op.drop_table('sync_cursors')
    op.drop_index(op.f('ix_stale_deal_flags_source_state'), table_name='stale_deal_flags')
    op.drop_table('stale_deal_flags')
    op.drop_table('stage_mappings')
    op.drop_table('stage_catalog')
    op.drop_index(op.f('ix_raw_stage_history_source_needs_normalize'), table_name='raw_stage_history')
    op.drop_table('raw_stage_history')
    op.drop_index(op.f('ix_raw_deals_source_needs_normalize'), table_name='raw_deals')
    op.drop_table('raw_deals')
    op.drop_table('quotas')
    op.drop_index(op.f('ix_quarantine_resolved_at'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_index(op.f('ix_pipeline_metrics_metric_as_of'), table_name='pipeline_metrics')
    op.drop_index(op.f('ix_pipeline_metrics_computed_at'), table_name='pipeline_metrics')
    op.drop_table('pipeline_metrics')
    op.drop_index(op.f('ix_owners_email'), table_name='owners')
    op.drop_table('owners')
    op.drop_table('owner_email_overrides')
    op.drop_index(op.f('ix_flag_writes_run_id'), table_name='flag_writes')
    op.drop_index(op.f('ix_flag_writes_deal_key_written_at'), table_name='flag_writes')
    op.drop_table('flag_writes')
    op.drop_index(op.f('ix_deals_status_stage_number'), table_name='deals')
    op.drop_index(op.f('ix_deals_owner_email'), table_name='deals')
    op.drop_index(op.f('ix_deals_closed_at'), table_name='deals')
    op.drop_index(op.f('ix_deals_close_date'), table_name='deals')
    op.drop_index(op.f('ix_deals_account_id'), table_name='deals')
    op.drop_table('deals')
    op.drop_index(op.f('ix_deal_stage_history_stage_number_exited_at'), table_name='deal_stage_history')
    op.drop_index(op.f('ix_deal_stage_history_source'), table_name='deal_stage_history')
    op.drop_table('deal_stage_history')
    op.drop_index(op.f('ix_deal_snapshots_deal_key'), table_name='deal_snapshots')
    op.drop_table('deal_snapshots')
    op.drop_index(op.f('ix_currency_rates_source_currency_start_date'), table_name='currency_rates')
    op.drop_table('currency_rates')
    op.drop_table('accounts')
