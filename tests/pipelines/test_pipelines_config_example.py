"""The documented example configuration is valid, so users can start from it."""

from __future__ import annotations

from pathlib import Path

from pipelines_etl.config import load_config

EXAMPLE = Path(__file__).parents[2] / "docs" / "configuration.example.yaml"


def test_example_configuration_loads() -> None:
    config = load_config({"PIPELINES_ETL_CONFIG": str(EXAMPLE)})
    assert set(config.sources) == {"salesforce", "salesforce_emea", "hubspot"}
    assert config.sources["salesforce"].stage_mappings[0].source_stage == "Discovery Call"
    assert config.quotas_file == EXAMPLE.parent / "quotas.csv"
