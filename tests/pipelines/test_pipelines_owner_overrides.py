"""One person across CRMs: owner emails overridden from the table and from configuration."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from pipelines_etl.config import parse_config
from pipelines_etl.steps.normalize import owner_email_overrides
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.schema import owner_email_overrides as overrides_table


def test_table_rows_apply_per_source_and_configuration_wins(tmp_path: Path) -> None:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(overrides_table),
            [
                {"source": "hubspot", "owner_id": "101", "email": "ann@corp.example"},
                {"source": "hubspot", "owner_id": "102", "email": "ben@corp.example"},
                {"source": "salesforce", "owner_id": "005A", "email": "cy@corp.example"},
            ],
        )
    config = parse_config({"owner_emails": {"hubspot:102": "benjamin@corp.example"}})
    with engine.connect() as conn:
        found = owner_email_overrides(conn, source="hubspot", app_config=config)
    assert found == {"101": "ann@corp.example", "102": "benjamin@corp.example"}
