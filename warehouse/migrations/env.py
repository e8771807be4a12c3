"""Alembic environment: runs the warehouse migrations against the connection it is given.

`warehouse.migrate.upgrade(engine)` passes the connection in `config.attributes`. Run from
the `alembic` command line instead, it connects to the config's `sqlalchemy.url` through
`create_warehouse_engine`.
"""

from __future__ import annotations

from alembic import context

from warehouse.engine import create_warehouse_engine
from warehouse.schema import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit the migration SQL for `sqlalchemy.url` without connecting."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate on the given connection, or on a new engine for `sqlalchemy.url`."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set for the migrations")
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
