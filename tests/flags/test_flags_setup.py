"""`crm setup` against sandboxes whose CRMs lack the flag fields; the push refuses meanwhile."""

from __future__ import annotations

import pytest

from connectors.hubspot_flags import flag_property_spec, missing_scopes
from connectors.hubspot_transport import HubSpotApiError
from pipelines_etl.flags.setup import FlagFieldsMissing, _error_text, check_setup


def test_hubspot_setup_creates_the_properties_only_with_apply(fx, make_harness) -> None:
    fixture = fx.world(salesforce=False)
    del fixture["hubspot"]["deal_properties"]
    h = make_harness(fixture=fixture)
    h.nightly()  # the sync does not depend on the flag properties
    report = check_setup(h.sources(), app_config=h.config, env=h.env())
    assert [(f.name, f.status) for f in report.fields] == [
        ("pipeline_stale", "missing"),
        ("pipeline_stale_reason", "missing"),
        ("pipeline_stale_since", "missing"),
    ]
    assert not report.ready("hubspot") and h.server.write_log.entries() == []
    with pytest.raises(FlagFieldsMissing, match="crm setup"):
        h.push(apply=True)
    assert h.writes() == []

    created = check_setup(h.sources(), app_config=h.config, env=h.env(), apply=True)
    assert {f.status for f in created.fields} == {"created"} and created.ready("hubspot")
    api = h.hubspot().crm.properties.core_api
    names = ("pipeline_stale", "pipeline_stale_reason", "pipeline_stale_since")
    kinds = {
        n: (api.get_by_name("deals", n).type, api.get_by_name("deals", n).field_type) for n in names
    }
    assert kinds == {
        "pipeline_stale": ("bool", "booleancheckbox"),
        "pipeline_stale_reason": ("string", "text"),
        "pipeline_stale_since": ("date", "date"),
    }
    again = check_setup(h.sources(), app_config=h.config, env=h.env(), apply=True)
    assert {f.status for f in again.fields} == {"ok"}
    assert len([e for e in h.server.write_log.entries() if e.object == "properties"]) >= 3
    h.nightly()
    assert h.push().ok and h.hs_flags("9001")[0] == "true"


def test_salesforce_setup_reports_what_to_create_and_push_refuses(fx, make_harness) -> None:
    fixture = fx.world(hubspot=False)
    del fixture["salesforce"]["opportunity_custom_fields"]
    h = make_harness(fixture=fixture)
    result = h.nightly()
    assert result.flagged == 2  # detection needs no CRM field
    report = check_setup(h.sources(), app_config=h.config, env=h.env(), apply=True)
    assert {f.status for f in report.fields} == {"missing"}
    assert len(report.instructions) == 1
    line = report.instructions[0]
    for name in ("Pipeline_Stale__c", "Pipeline_Stale_Reason__c", "Pipeline_Stale_Since__c"):
        assert f"Opportunity.{name}" in line
    assert "Checkbox" in line and "Text(255)" in line and "Date" in line
    with pytest.raises(FlagFieldsMissing, match="Pipeline_Stale__c"):
        h.push(apply=True)
    assert h.server.write_log.entries() == [] and h.writes() == []


def test_salesforce_read_only_field_is_not_ready(fx, make_harness) -> None:
    fixture = fx.world(hubspot=False)
    fields = [dict(f) for f in fx.SF_FLAG_FIELDS]
    fields[2]["type"] = "string"  # since must be a date
    fixture["salesforce"]["opportunity_custom_fields"] = fields
    h = make_harness(fixture=fixture)
    report = check_setup(h.sources(), app_config=h.config, env=h.env())
    statuses = {f.name: f.status for f in report.fields}
    assert statuses == {
        "Pipeline_Stale__c": "ok",
        "Pipeline_Stale_Reason__c": "ok",
        "Pipeline_Stale_Since__c": "wrong_type",
    }
    assert {f.length for f in report.fields if f.meaning == "reason"} == {255}


def test_missing_scopes_are_named() -> None:
    body = {
        "status": "error",
        "category": "MISSING_SCOPES",
        "errors": [{"context": {"requiredGranularScopes": ["crm.schemas.deals.write"]}}],
    }
    assert missing_scopes(body) == ["crm.schemas.deals.write"]
    assert missing_scopes({"category": "VALIDATION_ERROR"}) == []
    error = HubSpotApiError("forbidden", status=403, category="MISSING_SCOPES", body=body)
    assert "crm.schemas.deals.write" in _error_text(error)


def test_property_specs_have_the_right_types() -> None:
    flag = flag_property_spec("flag_stale", "x_stale")
    assert (flag["name"], flag["type"], flag["fieldType"]) == ("x_stale", "bool", "booleancheckbox")
    assert [o["value"] for o in flag["options"]] == ["true", "false"]
    assert flag_property_spec("flag_since", "s")["type"] == "date"
    with pytest.raises(KeyError):
        flag_property_spec("owner", "hubspot_owner_id")
