"""Dagster definitions, one small folder per domain; loaded by `pipelines_etl.definitions`."""
