"""The schema has every contract table, documented; migrations build exactly it, idempotently."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import current_revision, head_revision, upgrade
from warehouse.schema import metadata

# interfaces.md "Warehouse tables analysts query", plus the tables the brief adds.
CONTRACT_TABLES = {
    "deals",
    "deal_stage_history",
    "deal_snapshots",
    "owners",
    "accounts",
    "stage_mappings",
    "pipeline_metrics",
    "stale_deal_flags",
    "flag_writes",
    "sync_runs",
    "quarantine",
}
OTHER_TABLES = {
    "owner_email_overrides",
    "stage_catalog",
    "currency_rates",
    "sync_cursors",
    "raw_deals",
    "raw_stage_history",
    "quotas",
}

# canonical-model.md "Deal fields".
DEAL_FIELDS = (
    *("deal_key", "source", "source_type", "source_id", "name", "pipeline", "source_stage"),
    *("stage_number", "stage", "status", "motion", "amount", "currency", "amount_reporting"),
    *("probability", "forecast_category", "owner_id", "owner_name", "owner_email"),
    *("account_id", "account_name", "lead_source", "lead_channel", "deal_type", "created_at"),
    *("close_date", "closed_at", "closed_at_source", "stage_entered_at", "last_activity_at"),
    *("last_modified_at", "needs_attention", "is_deleted", "synced_at"),
)


def _diffs(engine: Engine, target: sa.MetaData = metadata) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target)


def test_every_table_of_the_contract_is_there() -> None:
    assert set(metadata.tables) == CONTRACT_TABLES | OTHER_TABLES


def test_deals_has_every_canonical_field_and_the_flag_fields() -> None:
    columns = set(metadata.tables["deals"].c.keys())
    missing = [name for name in DEAL_FIELDS if name not in columns]
    assert missing == []
    assert {"flag_stale", "flag_reason", "flag_since", "quarantine_reason"} <= columns


def test_every_table_and_column_has_a_comment() -> None:
    undocumented = [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if not (column.comment or "").strip()
    ]
    assert undocumented == []
    assert [t.name for t in metadata.sorted_tables if not (t.comment or "").strip()] == []


def test_primary_keys_as_specified() -> None:
    def pk(name: str) -> list[str]:
        return [column.name for column in metadata.tables[name].primary_key.columns]

    assert pk("deals") == ["deal_key"]
    assert pk("deal_stage_history") == ["deal_key", "entered_at"]
    assert pk("deal_snapshots") == ["snapshot_date", "deal_key"]
    assert pk("sync_cursors") == ["source", "stream"]
    assert pk("raw_deals") == ["source", "source_id"]


def test_migration_builds_exactly_the_metadata_and_is_idempotent(engine: Engine) -> None:
    # The fixture already ran upgrade() once; a second run must change nothing.
    assert current_revision(engine) == head_revision() == "0004"
    upgrade(engine)
    assert current_revision(engine) == "0004"
    assert _diffs(engine) == []
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables) | {"alembic_version"}


def test_comparison_would_see_a_difference(engine: Engine) -> None:
    # Control: the comparison used above does notice a column the database lacks.
    changed = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["deals"].append_column(sa.Column("extra", sa.Integer, comment="x"))
    changed.tables["deals"].c.name.comment = "changed"
    diffs = _diffs(engine, changed)
    assert [(d[0], d[3].name) for d in diffs if d[0] == "add_column"] == [("add_column", "extra")]
    if engine.dialect.name == "postgresql":  # comments exist on PostgreSQL only
        modified = [d[0][:4] for d in diffs if isinstance(d, list)]
        assert modified == [("modify_comment", None, "deals", "name")]


def test_postgres_columns_carry_their_comments(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite has no column comments
    comments = {c["name"]: c["comment"] for c in sa.inspect(engine).get_columns("deals")}
    assert comments["amount"] == "amount in the deal's own currency"
    assert comments["synced_at"] == "when this row was last written (bookkeeping)"


def test_upgrade_on_a_fresh_file_creates_it(tmp_path) -> None:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'nested' / 'wh.db'}")
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert (tmp_path / "nested" / "wh.db").exists()
    finally:
        engine.dispose()


def test_history_pending_mark_migration_goes_down_and_up(engine: Engine) -> None:
    # 0003 drops raw_stage_history's pending mark; an existing row survives both ways.
    from alembic import command

    from warehouse.migrate import alembic_config

    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO raw_stage_history (source, source_id, history_key, payload, "
                "extracted_at, run_id) VALUES ('sf', 'd1', 'h1', '{}', :at, 'r1')"
            ),
            {"at": "2026-01-01 00:00:00.000000+00:00"},
        )
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("raw_stage_history")}
    assert {"needs_normalize", "normalized_at"} <= columns
    upgrade(engine)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("raw_stage_history")}
    assert "needs_normalize" not in columns
    assert _diffs(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT history_key FROM raw_stage_history")).all() == [("h1",)]
