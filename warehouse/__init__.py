"""The warehouse: schema, types, migrations, engine, upserts, raw payloads, cursors, lock, runs.

SQLAlchemy Core and Alembic only; no Dagster. Import the submodule you need.
"""
