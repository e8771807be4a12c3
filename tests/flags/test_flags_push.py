"""Pushing stale flags to both sandbox CRMs: right values, dry run, no repeat writes, safety."""

from __future__ import annotations

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from pipelines_etl.flags import SafetyLimitExceeded

SF_FIELDS = {"Pipeline_Stale__c", "Pipeline_Stale_Reason__c", "Pipeline_Stale_Since__c"}
HS_FIELDS = {"pipeline_stale", "pipeline_stale_reason", "pipeline_stale_since"}


def test_detection_flags_the_hand_computed_deals(fx, make_harness) -> None:
    h = make_harness()
    result = h.nightly()
    flags = h.flags()
    assert {k: (r["state"], r["reason"], r["flagged_since"]) for k, r in flags.items()} == {
        f"salesforce:{fx.SF_A}": ("proposed", fx.REASON_SF_A, fx.TODAY),
        f"salesforce:{fx.SF_B}": ("proposed", fx.REASON_PAST, fx.TODAY),
        "hubspot:9001": ("proposed", fx.REASON_HS_1, fx.TODAY),
        "hubspot:9002": ("proposed", fx.REASON_PAST, fx.TODAY),
    }
    assert (result.flagged, result.new, result.cleared) == (4, 4, 0)


def test_dry_run_writes_nothing_and_apply_writes_only_flag_fields(fx, make_harness) -> None:
    h = make_harness()
    h.nightly()
    dry = h.push(apply=False)
    assert {n: (s.sets, s.updates, s.clears) for n, s in dry.sources.items()} == {
        "salesforce": (2, 0, 0),
        "hubspot": (2, 0, 0),
    }
    assert h.server.write_log.entries() == [] and h.writes() == []

    done = h.push(apply=True)
    assert done.ok and {n: s.written for n, s in done.sources.items()} == {
        "salesforce": 2,
        "hubspot": 2,
    }
    assert h.sf_flags(fx.SF_A) == (True, fx.REASON_SF_A, "2026-06-30")
    assert h.sf_flags(fx.SF_B) == (True, fx.REASON_PAST, "2026-06-30")
    assert h.sf_flags(fx.SF_C) == (False, None, None)
    assert h.hs_flags("9001") == ("true", fx.REASON_HS_1, "2026-06-30")  # date at midnight UTC
    assert h.hs_flags("9003") == (None, None, None)
    log = h.server.write_log.entries()
    assert len(log) == 12
    assert {e.field for e in log if e.crm == "salesforce"} == SF_FIELDS
    assert {e.field for e in log if e.crm == "hubspot"} == HS_FIELDS
    assert {e.record_id for e in log} == {fx.SF_A, fx.SF_B, "9001", "9002"}
    writes = h.writes()
    assert len(writes) == 12 and {w["result"] for w in writes} == {"succeeded"}
    reason_row = next(w for w in writes if w["field"] == "Pipeline_Stale_Reason__c"
                      and w["deal_key"] == f"salesforce:{fx.SF_A}")  # fmt: skip
    assert (reason_row["old_value"], reason_row["new_value"]) == (None, fx.REASON_SF_A)
    assert {r["state"] for r in h.flags().values()} == {"pushed"}


def test_second_push_makes_no_api_call(fx, make_harness, monkeypatch) -> None:
    h = make_harness()
    h.nightly()
    h.push()
    calls: list[str] = []
    for cls in (SalesforceConnector, HubSpotConnector):
        for name in ("push_flags", "read_deals"):
            original = getattr(cls, name)

            def spy(self, *args, _o=original, _n=name, **kwargs):
                calls.append(_n)
                return _o(self, *args, **kwargs)

            monkeypatch.setattr(cls, name, spy)
    before = len(h.server.write_log.entries())
    again = h.push()
    assert again.plan.total == 0 and calls == []
    h.nightly()  # the sync reads our flags back; the same values are due: still nothing
    third = h.push()
    assert third.plan.total == 0 and calls == []
    assert len(h.server.write_log.entries()) == before


def test_reason_is_cut_to_the_salesforce_field_length(fx, make_harness) -> None:
    fixture = fx.world(hubspot=False)
    fields = [dict(f) for f in fx.SF_FLAG_FIELDS]
    fields[1]["length"] = 30
    fixture["salesforce"]["opportunity_custom_fields"] = fields
    h = make_harness(fixture=fixture)
    h.nightly()
    h.push()
    assert h.sf_flags(fx.SF_A)[1] == fx.REASON_SF_A[:29] + "…"


def test_safety_limit_stops_a_flood(fx, make_harness) -> None:
    h = make_harness()
    h.config_data = {}  # defaults: 25% of open deals, at most 1,000
    h.nightly()
    dry = h.push(apply=False)
    assert len(dry.safety) == 2  # salesforce: 2 new > 25% of 3 open; hubspot likewise
    with pytest.raises(SafetyLimitExceeded) as raised:
        h.push(apply=True)
    message = str(raised.value)
    assert "safety.max_new_flags_share" in message and "safety.max_new_flags" in message
    assert "salesforce: 2 new flags exceed the safety limit of 0" in message
    assert h.server.write_log.entries() == [] and h.writes() == []

    h.config_data = {"safety": {"max_new_flags_share": 1.0, "max_new_flags": 1}}
    with pytest.raises(SafetyLimitExceeded, match="at most 1"):
        h.push(apply=True)
    h.config_data = {"safety": {"max_new_flags_share": 1.0, "max_new_flags": 2}}
    assert h.push(apply=True).ok
    assert len(h.server.write_log.entries()) == 12
