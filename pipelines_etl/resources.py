"""Dagster resources: the warehouse, and the CRM sources with their connectors.

Credentials are read from the environment at run time, not bound up front with `EnvVar`:
Salesforce has four ways to log in and only the complete set present is used, and an
optional `EnvVar` would still have to be set (see README, "Running it against your CRMs").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import dagster as dg
import sqlalchemy as sa

from connectors.base import CrmConnector
from pipelines_etl.config import CONFIG_ENV, AppConfig, load_config, warehouse_url
from pipelines_etl.sources import Source, configured_sources, select_sources
from pipelines_etl.sync import open_warehouse
from warehouse.lock import WarehouseLock


@cache
def _engine(url: str) -> sa.Engine:
    return open_warehouse(url)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: `url`, else PIPELINES_ETL_WAREHOUSE_URL, else the SQLite file."""

    url: str | None = None
    lock_wait_seconds: float = 3600.0

    def engine(self) -> sa.Engine:
        """The engine (one per process), its schema migrated."""
        return _engine(self.url or warehouse_url())

    @contextmanager
    def writer(self) -> Iterator[sa.Engine]:
        """The engine under the one-writer lock the CLI shares; waits for a running sync."""
        engine = self.engine()
        with WarehouseLock(engine, wait=self.lock_wait_seconds):
            yield engine


class CrmResource(dg.ConfigurableResource):
    """The configured CRM sources; `config_path` overrides PIPELINES_ETL_CONFIG."""

    config_path: str | None = None

    def env(self) -> dict[str, str]:
        """The environment connectors read credentials from (with `config_path` applied)."""
        env = dict(os.environ)
        if self.config_path:
            env[CONFIG_ENV] = self.config_path
        return env

    def app_config(self) -> AppConfig:
        """The validated configuration."""
        return load_config(self.env())

    def sources(self) -> list[Source]:
        """Every configured source (or those with credentials, with no configuration)."""
        return configured_sources(self.app_config(), self.env())

    def source(self, name: str) -> Source:
        """One source by name."""
        return select_sources(self.sources(), name)[0]

    def connect(self, name: str) -> CrmConnector:
        """A fresh connector for one source (its API calls count from zero)."""
        return self.source(name).connect(self.env(), self.app_config())
