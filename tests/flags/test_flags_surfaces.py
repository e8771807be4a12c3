"""The CLI commands and the Dagster definitions of the stale flags."""

from __future__ import annotations

import dagster as dg
from typer.testing import CliRunner

from pipelines_etl.cli import app
from pipelines_etl.definitions import defs
from pipelines_etl.defs.flags.assets import stale_deals
from pipelines_etl.defs.flags.checks import flag_safety_limit
from pipelines_etl.resources import CrmResource, WarehouseResource


def _cli_env(h, tmp_path, config: str) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    return {**h.env(), "PIPELINES_ETL_WAREHOUSE_URL": str(h.engine.url),
            "PIPELINES_ETL_CONFIG": str(path)}  # fmt: skip


def test_cli_plan_push_and_clear(fx, make_harness, tmp_path, monkeypatch) -> None:
    h = make_harness(fixture=fx.world(hubspot=False))
    h.nightly()
    env = _cli_env(h, tmp_path, "sources:\n  salesforce:\n    type: salesforce\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    plan = runner.invoke(app, ["flags", "plan"])
    assert plan.exit_code == 0, plan.output
    assert "salesforce" in plan.output and "set" in plan.output
    dry = runner.invoke(app, ["flags", "push"])
    assert dry.exit_code == 1  # default safety limit: 2 new flags > 25% of 3 open deals
    assert h.server.write_log.entries() == []
    monkeypatch.setenv("PIPELINES_ETL_CONFIG", _cli_env(
        h, tmp_path, "sources:\n  salesforce:\n    type: salesforce\n"
        "safety:\n  max_new_flags_share: 1.0\n")["PIPELINES_ETL_CONFIG"])  # fmt: skip
    pushed = runner.invoke(app, ["flags", "push", "--apply"])
    assert pushed.exit_code == 0, pushed.output
    assert h.sf_flags(fx.SF_A)[0] is True
    no_all = runner.invoke(app, ["flags", "clear"])
    assert no_all.exit_code == 1
    cleared = runner.invoke(app, ["flags", "clear", "--all", "--apply"])
    assert cleared.exit_code == 0, cleared.output
    assert h.sf_flags(fx.SF_A)[0] is False
    setup = runner.invoke(app, ["crm", "setup"])
    assert setup.exit_code == 0 and "Pipeline_Stale__c" in setup.output


def test_cli_push_refuses_one_line_when_fields_are_missing(fx, make_harness, tmp_path,
                                                           monkeypatch) -> None:  # fmt: skip
    fixture = fx.world(hubspot=False)
    del fixture["salesforce"]["opportunity_custom_fields"]
    h = make_harness(fixture=fixture)
    h.nightly()
    env = _cli_env(h, tmp_path, "sources:\n  salesforce:\n    type: salesforce\n"
                   "safety:\n  max_new_flags_share: 1.0\n")  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["flags", "push", "--apply"])
    assert result.exit_code == 1
    assert "flags push refused" in result.output and "Traceback" not in result.output
    setup = CliRunner().invoke(app, ["crm", "setup"])
    assert setup.exit_code == 1 and "admin must create" in setup.output


def test_definitions_have_the_flag_job_schedule_and_asset() -> None:
    loaded = defs()
    job = loaded.resolve_job_def("push_stale_flags")
    assert job.name == "push_stale_flags"
    schedule = next(s for s in loaded.schedules if s.name == "push_stale_flags_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.cron_schedule == "0 6 * * *"
    nightly = loaded.resolve_job_def("nightly_sync")
    keys = {k.to_user_string() for k in nightly.asset_layer.executable_asset_keys}
    assert "stale_deals" in keys and "flag_writes" not in keys


def test_stale_deals_asset_and_safety_check(fx, make_harness, tmp_path, monkeypatch) -> None:
    h = make_harness(fixture=fx.world(hubspot=False))
    h.sync()
    env = _cli_env(h, tmp_path, "sources:\n  salesforce:\n    type: salesforce\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = dg.materialize(
        [stale_deals, flag_safety_limit],
        resources={"warehouse": WarehouseResource(url=str(h.engine.url)), "crm": CrmResource()},
        selection=["stale_deals"],
    )
    assert result.success
    materialization = result.asset_materializations_for_node("stale_deals")[0]
    # The asset runs at the real now (after 2026-07-30): all three open deals are stale.
    assert materialization.metadata["flagged"].value == 3
    check = result.get_asset_check_evaluations()[0]
    assert check.passed is False  # 3 new flags > 25% of 3 open deals
    assert "safety.max_new_flags_share" in (check.description or "")
