"""Configuration: defaults, validation messages, file loading, source selection."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipelines_etl.config import AppConfig, ConfigError, load_config, parse_config, warehouse_url


def test_no_file_gives_every_default() -> None:
    config = load_config({})
    assert config == AppConfig()
    assert config.reporting_currency == "USD"
    assert config.safety.max_new_flags_share == 0.25
    assert config.safety.max_new_flags == 1000
    assert config.staleness.no_activity_days == 30
    assert config.staleness.past_close_date_days == 7


def test_rates_are_exact_decimals_and_upper_cased() -> None:
    config = parse_config({"rates": {"eur": "1.08"}})
    assert config.rates == {"EUR": Decimal("1.08")}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"safety": {"max_new_flags": -1}}, "safety.max_new_flags = -1"),
        ({"rates": {"EUR": 0}}, "rate for EUR must be positive"),
        (
            {"sources": {"sf": {"type": "salesforce", "default_currency": "dollars"}}},
            "sources.sf.default_currency = 'dollars'",
        ),
        (
            {
                "sources": {
                    "sf": {
                        "type": "salesforce",
                        "stage_mappings": [{"source_stage": "Foo", "stage": 9}],
                    }
                }
            },
            "sources.sf.stage_mappings.0.stage = 9",
        ),
        ({"staleness": {"no_activty_days": 3}}, "staleness.no_activty_days"),
    ],
)
def test_invalid_values_name_the_key_and_value(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    assert expected in str(raised.value)


def test_file_is_loaded_and_relative_quotas_resolve_next_to_it(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.yaml"
    path.write_text("reporting_currency: EUR\nquotas_file: quotas.csv\n")
    config = load_config({"PIPELINES_ETL_CONFIG": str(path)})
    assert config.reporting_currency == "EUR"
    assert config.quotas_file == tmp_path / "quotas.csv"


def test_missing_and_malformed_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config({"PIPELINES_ETL_CONFIG": str(tmp_path / "absent.yaml")})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config({"PIPELINES_ETL_CONFIG": str(bad)})


def test_warehouse_url_defaults_to_sqlite_under_data() -> None:
    assert warehouse_url({}) == "sqlite:///./data/warehouse.db"
    assert warehouse_url({"PIPELINES_ETL_WAREHOUSE_URL": "postgresql://x/y"}) == "postgresql://x/y"
