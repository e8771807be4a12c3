"""Exceptions that are a user's to fix (configuration, credentials, quota, a busy warehouse):
the CLI prints them as one line, never a traceback."""

from __future__ import annotations

from connectors.base import QuotaExhausted, TruncatedResponse
from connectors.sandbox.api import FixtureError
from pipelines_etl.config import ConfigError
from pipelines_etl.steps.reconcile import ReconcileRefused
from warehouse.lock import WarehouseBusy

USER_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    FixtureError,
    QuotaExhausted,
    ReconcileRefused,
    TruncatedResponse,
    WarehouseBusy,
)
