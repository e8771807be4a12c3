"""Which sources sync: discovery of connector modules, instances by name, env prefixes."""

from __future__ import annotations

import pytest

from pipelines_etl.config import ConfigError, parse_config
from pipelines_etl.sources import configured_sources, connector_modules, select_sources


def test_every_connector_module_is_discovered_with_its_contract() -> None:
    modules = connector_modules()
    assert set(modules) == {"salesforce", "hubspot"}
    for module in modules.values():
        assert module.ENV_PREFIX.endswith("_")
        assert all(1 <= n <= 7 for n in module.DEFAULT_STAGE_MAPPING.values())


def test_without_configuration_the_sources_are_those_with_credentials() -> None:
    env = {"HUBSPOT_ACCESS_TOKEN": "x"}
    assert [s.name for s in configured_sources(parse_config({}), env)] == ["hubspot"]
    assert configured_sources(parse_config({}), {}) == []


def test_a_second_org_reads_its_own_prefixed_variables() -> None:
    config = parse_config(
        {
            "sources": {
                "salesforce": {"type": "salesforce"},
                "salesforce_emea": {"type": "salesforce", "env_prefix": "SALESFORCE_EMEA_"},
            }
        }
    )
    env = {
        "SALESFORCE_INSTANCE_URL": "https://us.example",
        "SALESFORCE_ACCESS_TOKEN": "us-token",
        "SALESFORCE_EMEA_INSTANCE_URL": "https://emea.example",
        "SALESFORCE_EMEA_ACCESS_TOKEN": "emea-token",
        "PIPELINES_ETL_CA_BUNDLE": "/ca.pem",
    }
    us, emea = configured_sources(config, env)
    assert emea.env_for(env) == {
        "SALESFORCE_INSTANCE_URL": "https://emea.example",
        "SALESFORCE_ACCESS_TOKEN": "emea-token",
        "PIPELINES_ETL_CA_BUNDLE": "/ca.pem",
    }
    assert us.env_for(env)["SALESFORCE_INSTANCE_URL"] == "https://us.example"
    connector = emea.connect(env)
    assert (connector.source, connector.source_type) == ("salesforce_emea", "salesforce")
    assert "emea-token" not in repr(connector)


def test_unknown_type_and_unknown_name_are_configuration_errors() -> None:
    config = parse_config({"sources": {"pipedrive": {"type": "pipedrive"}}})
    with pytest.raises(ConfigError, match="no connector for 'pipedrive'"):
        configured_sources(config, {})
    hubspot = configured_sources(parse_config({}), {"HUBSPOT_ACCESS_TOKEN": "x"})
    with pytest.raises(ConfigError, match=r"configured: hubspot"):
        select_sources(hubspot, "salesforce")
