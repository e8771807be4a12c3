"""The flag lifecycle against both sandbox CRMs: cleared, dismissed, skipped, failed, undone."""

from __future__ import annotations

from typing import Any

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from pipelines_etl.flags.clear import clear_all_flags

HS_FIELDS = {"pipeline_stale", "pipeline_stale_reason", "pipeline_stale_since"}
SF_FIELDS = {"Pipeline_Stale__c", "Pipeline_Stale_Reason__c", "Pipeline_Stale_Since__c"}


def _hs_update(h: Any, deal_id: str, **properties: str) -> None:
    h.hubspot().crm.deals.basic_api.update(deal_id, {"properties": properties})


def _new_entries(h: Any, before: int) -> list[Any]:
    return h.server.write_log.entries()[before:]


def test_a_deal_that_moved_on_gets_its_flag_cleared(fx, make_harness) -> None:
    h = make_harness()
    h.nightly()
    h.push()
    h.salesforce().Opportunity.update(fx.SF_A, {"StageName": "Negotiation/Review"})
    _hs_update(h, "9001", dealstage="decisionmakerboughtin")
    result = h.nightly()
    assert result.cleared == 2
    flags = h.flags()
    assert flags[f"salesforce:{fx.SF_A}"]["state"] == "cleared"
    assert flags["hubspot:9001"]["state"] == "cleared"
    before = len(h.server.write_log.entries())
    pushed = h.push()
    assert {n: s.clears for n, s in pushed.sources.items()} == {"salesforce": 1, "hubspot": 1}
    assert h.sf_flags(fx.SF_A) == (False, None, None)
    assert h.hs_flags("9001") == ("false", None, None)
    assert h.sf_flags(fx.SF_B)[0] is True  # untouched
    written = _new_entries(h, before)
    assert {(e.record_id, e.field) for e in written} == {(fx.SF_A, f) for f in SF_FIELDS} | {
        ("9001", f) for f in HS_FIELDS
    }
    assert h.flags()[f"salesforce:{fx.SF_A}"]["cleared_at"] is not None
    assert h.push().plan.total == 0


def test_an_admins_untick_is_respected_until_the_stage_changes(fx, make_harness) -> None:
    h = make_harness()
    h.nightly()
    h.push()
    h.salesforce().Opportunity.update(fx.SF_B, {"Pipeline_Stale__c": False})
    _hs_update(h, "9002", pipeline_stale="false")
    result = h.nightly()
    assert result.dismissed == 2
    assert h.flags()[f"salesforce:{fx.SF_B}"]["state"] == "dismissed"
    assert h.flags()["hubspot:9002"]["dismissed_stage"] == "appointmentscheduled"
    before = len(h.server.write_log.entries())
    assert h.push().plan.total == 0
    h.nightly()  # still stale (past close date), still dismissed
    assert h.push().plan.total == 0
    assert _new_entries(h, before) == []
    assert h.sf_flags(fx.SF_B)[0] is False

    h.salesforce().Opportunity.update(fx.SF_B, {"StageName": "Qualification"})
    _hs_update(h, "9002", dealstage="qualifiedtobuy")
    h.nightly()
    assert h.flags()[f"salesforce:{fx.SF_B}"]["state"] == "proposed"
    assert h.flags()["hubspot:9002"]["state"] == "proposed"
    pushed = h.push()
    assert pushed.ok and h.sf_flags(fx.SF_B)[0] is True
    assert h.hs_flags("9002")[0] == "true"


def test_a_deal_modified_after_detection_is_skipped_until_next_run(fx, make_harness) -> None:
    h = make_harness()
    h.nightly()
    h.salesforce().Opportunity.update(fx.SF_A, {"Amount": 2500})
    _hs_update(h, "9001", hubspot_owner_id="101", amount="2500")
    before = len(h.server.write_log.entries())
    pushed = h.push()
    assert {n: (s.written, s.skipped) for n, s in pushed.sources.items()} == {
        "salesforce": (1, 1),
        "hubspot": (1, 1),
    }
    assert {e.record_id for e in _new_entries(h, before)} == {fx.SF_B, "9002"}
    skipped = [w for w in h.writes() if w["result"] == "skipped"]
    assert {w["deal_key"] for w in skipped} == {f"salesforce:{fx.SF_A}", "hubspot:9001"}
    assert all(w["error"] == "changed since detection: amount" for w in skipped)
    assert h.sf_flags(fx.SF_A) == (False, None, None)
    h.nightly()
    again = h.push()
    assert {n: s.written for n, s in again.sources.items()} == {"salesforce": 1, "hubspot": 1}
    assert h.sf_flags(fx.SF_A)[0] is True and h.hs_flags("9001")[0] == "true"


def test_a_failing_record_does_not_fail_its_batch_and_is_given_up_after_three_runs(
    fx, make_harness, monkeypatch
) -> None:
    h = make_harness()
    h.nightly()
    sf, hs = h.salesforce(), h.hubspot()

    def deleting(cls: type, delete: Any) -> None:
        original = cls.read_deals

        def read_then_delete(self: Any, ids: Any) -> Any:
            rows = original(self, ids)
            delete()  # deleted between the re-read and the write
            monkeypatch.setattr(cls, "read_deals", original)
            return rows

        monkeypatch.setattr(cls, "read_deals", read_then_delete)

    deleting(SalesforceConnector, lambda: sf.Opportunity.delete(fx.SF_A))
    deleting(HubSpotConnector, lambda: hs.crm.deals.basic_api.archive("9001"))
    first = h.push()
    assert {n: (s.written, s.failed) for n, s in first.sources.items()} == {
        "salesforce": (1, 1),
        "hubspot": (1, 1),
    }
    assert h.sf_flags(fx.SF_B)[0] is True and h.hs_flags("9002")[0] == "true"
    failed = {w["deal_key"]: w for w in h.writes() if w["result"] == "failed"}
    assert "ENTITY_IS_DELETED" in failed[f"salesforce:{fx.SF_A}"]["error"]
    assert "OBJECT_NOT_FOUND" in failed["hubspot:9001"]["error"]
    assert h.flags()[f"salesforce:{fx.SF_A}"]["attempts"] == 1

    second = h.push()  # retried: the re-read no longer finds them
    assert {s.failed for s in second.sources.values()} == {1}
    assert h.flags()["hubspot:9001"]["gave_up_at"] is None
    third = h.push()
    assert {n: s.gave_up for n, s in third.sources.items()} == {
        "salesforce": [f"salesforce:{fx.SF_A}"],
        "hubspot": ["hubspot:9001"],
    }
    assert h.flags()["hubspot:9001"]["attempts"] == 3
    fourth = h.push()
    assert fourth.plan.total == 0
    assert {n: s.given_up for n, s in fourth.sources.items()} == {
        "salesforce": [f"salesforce:{fx.SF_A}"],
        "hubspot": ["hubspot:9001"],
    }


def test_no_field_outside_the_flag_fields_is_ever_written(fx, make_harness) -> None:
    h = make_harness()
    h.nightly()
    h.push()
    first = len(h.server.write_log.entries())
    h.salesforce().Opportunity.update(fx.SF_A, {"StageName": "Negotiation/Review"})
    _hs_update(h, "9001", dealstage="decisionmakerboughtin")
    admin = len(h.server.write_log.entries())
    h.nightly()
    h.push()
    log = h.server.write_log.entries()
    ours = log[:first] + log[admin:]
    assert len(ours) == 12 + 6  # four flags set, then two cleared
    allowed = SF_FIELDS | HS_FIELDS
    assert ours and all(e.field in allowed for e in ours)
    for e in h.server.write_log.entries():
        if e.field not in allowed:  # only the test's own admin edits
            assert e.field in {"StageName", "dealstage"}


def test_clear_all_removes_every_flag_the_toolkit_set(fx, make_harness) -> None:
    h = make_harness()
    h.nightly()
    h.push()
    before = len(h.server.write_log.entries())
    dry = clear_all_flags(h.engine, sources=h.sources(), app_config=h.config, env=h.env(),
                          apply=False)  # fmt: skip
    assert {n: s.clears for n, s in dry.sources.items()} == {"salesforce": 2, "hubspot": 2}
    assert _new_entries(h, before) == []
    done = clear_all_flags(h.engine, sources=h.sources(), app_config=h.config, env=h.env(),
                           apply=True)  # fmt: skip
    assert done.ok
    assert h.sf_flags(fx.SF_A) == (False, None, None)
    assert h.hs_flags("9002") == ("false", None, None)
    assert {r["state"] for r in h.flags().values()} == {"cleared"}
    assert {e.record_id for e in _new_entries(h, before)} == {fx.SF_A, fx.SF_B, "9001", "9002"}
