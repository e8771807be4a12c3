"""Which CRM instances to sync, and their connectors, from configuration and environment.

Connector modules are discovered by their `SOURCE_TYPE` (see `connectors.base`), so a new
CRM is one new module in `connectors/` and nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import connectors
from connectors.base import CrmConnector
from pipelines_etl.config import AppConfig, ConfigError, SourceConfig

SHARED_ENV = ("PIPELINES_ETL_CA_BUNDLE",)


@cache
def connector_modules() -> dict[str, ModuleType]:
    """Connector modules by source type, found in the `connectors` package."""
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(connectors.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"connectors.{info.name}")
        source_type = getattr(module, "SOURCE_TYPE", None)
        if isinstance(source_type, str) and hasattr(module, "connector_from_env"):
            found[source_type] = module
    return found


@dataclass(frozen=True)
class Source:
    """One configured CRM instance."""

    name: str
    config: SourceConfig
    module: ModuleType

    @property
    def source_type(self) -> str:
        """The CRM kind, e.g. "salesforce"."""
        return self.config.type

    def env_for(self, env: Mapping[str, str]) -> dict[str, str]:
        """The environment as the connector expects it: an instance prefix mapped onto its own."""
        own = self.module.ENV_PREFIX
        prefix = self.config.env_prefix or own
        mapped = {key: value for key, value in env.items() if key in SHARED_ENV}
        for key, value in env.items():
            if key.startswith(prefix):
                mapped[own + key[len(prefix) :]] = value
        return mapped

    def flag_fields(self, config: AppConfig) -> dict[str, str]:
        """Flag meaning -> this CRM's field name: the connector's defaults, then configuration."""
        configured = config.flag_fields.get(self.source_type, {})
        return {**self.module.DEFAULT_FLAG_FIELDS, **configured}

    def connect(self, env: Mapping[str, str], config: AppConfig | None = None) -> CrmConnector:
        """The connector for this instance (no network until it is used).

        With `config`, it reads and writes the configured flag field names; source `options`
        win over everything. Missing or invalid credentials are a ConfigError naming the source.
        """
        options = {**({"flag_fields": self.flag_fields(config)} if config else {})}
        options.update(self.config.options)
        try:
            return self.module.connector_from_env(
                source=self.name, env=self.env_for(env), options=options
            )
        except ValueError as error:
            raise ConfigError(f"source {self.name}: {error}") from None


def configured_sources(config: AppConfig, env: Mapping[str, str]) -> list[Source]:
    """The sources of the configuration, or, with none configured, those with credentials set."""
    modules = connector_modules()
    if config.sources:
        sources = []
        for name, source_config in config.sources.items():
            module = modules.get(source_config.type)
            if module is None:
                raise ConfigError(f"sources.{name}.type: no connector for {source_config.type!r}")
            sources.append(Source(name, source_config, module))
        return sources
    return [
        Source(source_type, SourceConfig(type=source_type), module)  # type: ignore[arg-type]
        for source_type, module in sorted(modules.items())
        if module.credentials_present(env)
    ]


def select_sources(sources: list[Source], name: str | None) -> list[Source]:
    """The one source called `name` (all when None), or a clear error listing the names."""
    if name is None:
        return sources
    chosen = [source for source in sources if source.name == name]
    if not chosen:
        known = ", ".join(source.name for source in sources) or "none"
        raise ConfigError(f"--source {name}: no such source (configured: {known})")
    return chosen
