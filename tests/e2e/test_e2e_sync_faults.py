"""End to end under faults: lag, truncated pages, a spent daily quota, expired tokens, a busy
warehouse; and the real CLI's exit codes and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from connectors.hubspot_windows import to_epoch_ms
from connectors.sandbox.server import _truncated
from pipelines_etl.cli import app
from warehouse.lock import WarehouseBusy, WarehouseLock
from warehouse.schema import raw_deals

pytestmark = pytest.mark.e2e

SF_OPEN = "006Aa0000000001IAA"


def _hubspot_world(world: Callable[..., dict[str, Any]], extra: int) -> dict[str, Any]:
    data = world(salesforce=False)
    for i in range(extra):
        data["hubspot"]["deals"].append(
            {"id": str(20_000 + i), "properties": {"dealname": f"D{i}", "amount": "1",
                                                   "dealstage": "appointmentscheduled",
                                                   "createdate": "2026-05-01T00:00:00Z"}}
        )  # fmt: skip
    return data


def test_hubspot_lag_hides_a_change_that_the_next_sync_picks_up(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    h = harness(backend, fixture=world(salesforce=False), apis=["hubspot"])
    assert h.sync().ok
    crm.hubspot(h.server).crm.deals.batch_api.update(
        {"inputs": [{"id": "9001", "properties": {"amount": "4321"}}]}
    )
    h.server.set_faults("lag=1")
    assert h.sync().ok
    assert h.server.fault_counts.get("lag", 0) >= 1
    assert h.deals()["hubspot:9001"]["amount"] == Decimal("1200")  # hidden by the index lag
    h.server.set_faults(None)
    assert h.sync().ok
    assert h.deals()["hubspot:9001"]["amount"] == Decimal("4321")


def test_truncated_page_fails_the_run_and_keeps_the_cursor_behind_unloaded_data(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    h = harness(backend, fixture=_hubspot_world(world, 450), apis=["hubspot"])
    assert h.sync().ok
    client = crm.hubspot(h.server)
    changed = [str(20_000 + i) for i in range(450)]
    for start in range(0, 450, 100):
        client.crm.deals.batch_api.update(
            {
                "inputs": [
                    {"id": i, "properties": {"amount": "777"}} for i in changed[start : start + 100]
                ]
            }
        )
    api = h.server.apis["hubspot"]
    original = api.handle

    def cut_second_search_page(request: Any) -> Any:
        response = original(request)
        body = request.json() if request.path.endswith("/search") else None
        if isinstance(body, dict) and str(body.get("after")) == "200":
            return _truncated(response)  # exactly what the `truncate` fault sends
        return response

    api.handle = cut_second_search_page
    cursor_before = h.runs("hubspot")[-1]["cursor_after"]
    outcome = h.sync()
    assert not outcome.ok
    run = h.runs("hubspot")[-1]
    assert run["status"] == "failed"
    assert "TruncatedResponse" in run["message"] and "search deals" in run["message"]
    # The cursor moved at most to what was loaded: every deal at or after it is unloaded or
    # was loaded whole; no deal newer than the cursor was skipped.
    cursor_ms = to_epoch_ms(run["cursor_after"])
    assert cursor_ms is not None and cursor_ms >= to_epoch_ms(cursor_before)
    with h.engine.connect() as conn:
        raw = {r.source_id: json.loads(r.payload) for r in conn.execute(sa.select(raw_deals))}
    state = api.state
    unloaded = [i for i in changed if raw[i]["properties"]["amount"] != "777"]
    assert 0 < len(unloaded) < 450
    assert all(state.deals[i].modified_ms >= cursor_ms for i in unloaded)

    api.handle = original
    assert h.sync().ok
    loaded = h.deals()
    assert {loaded[f"hubspot:{i}"]["amount"] for i in changed} == {Decimal("777")}


def test_spent_daily_quota_stops_both_crms_with_the_cursor_unchanged(
    harness: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    h = harness("sqlite", fixture=world())
    assert h.sync().ok
    before = {s: h.runs(s)[-1]["cursor_after"] for s in ("salesforce", "hubspot")}
    crm.salesforce(h.server).Opportunity.update(SF_OPEN, {"Amount": 2})
    h.server.set_faults("quota=1")
    outcome = h.sync()
    assert not outcome.ok
    for source, words in (
        ("salesforce", "daily API request limit"),
        ("hubspot", "daily API limit"),
    ):
        run = h.runs(source)[-1]
        assert run["status"] == "failed", source
        assert "QuotaExhausted" in run["message"] and words in run["message"], run["message"]
        assert run["cursor_after"] == before[source]
    assert h.deals()[f"salesforce:{SF_OPEN}"]["amount"] == Decimal("1200.5")


def test_expired_token_is_renewed_with_client_credentials_but_not_a_direct_token(
    harness: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    h = harness("sqlite", fixture=world(hubspot=False), apis=["salesforce"])
    h.server.set_faults(f"expire@{h.server.faults.requests + 6}")
    outcome = h.sync()
    assert outcome.ok, outcome.sources[0].message
    assert h.server.fault_counts["expire"] == 1
    assert len(h.deals()) == 5

    crm.salesforce(h.server).Opportunity.update(SF_OPEN, {"Amount": 3})
    direct = h.env(SALESFORCE_CLIENT_ID=None, SALESFORCE_CLIENT_SECRET=None)
    h.server.set_faults(f"expire@{h.server.faults.requests + 3}")
    outcome = h.sync(env=direct)
    assert not outcome.ok
    message = h.runs("salesforce")[-1]["message"]
    assert "SALESFORCE_ACCESS_TOKEN has expired" in message
    assert "cannot be refreshed" in message
    assert h.deals()[f"salesforce:{SF_OPEN}"]["amount"] == Decimal("1200.5")


def test_second_sync_while_the_lock_is_held_says_the_warehouse_is_busy(
    harness: Callable[..., Any], world: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    h = harness("sqlite", fixture=world())
    with WarehouseLock(h.engine, wait=0):
        with pytest.raises(WarehouseBusy):
            h.sync()
        result = CliRunner().invoke(app, ["sync"], env=_cli_env(h, tmp_path))
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
    assert "busy" in result.output.lower() or "holds" in result.output.lower()
    assert h.deals() == {}


def _cli_env(h: Any, tmp_path: Path, config: dict[str, Any] | None = None) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config if config is not None else {"rates": {"GBP": "1.25"}}))
    return {**h.env(), "PIPELINES_ETL_WAREHOUSE_URL": h.url, "PIPELINES_ETL_CONFIG": str(path)}


def test_cli_sync_exit_codes_and_one_line_user_errors(
    backend: str,
    harness: Callable[..., Any],
    world: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    h = harness(backend, fixture=world())
    runner = CliRunner()
    result = runner.invoke(app, ["sync"], env=_cli_env(h, tmp_path))
    assert result.exit_code == 0, result.output
    assert len(h.deals()) == 10
    assert h.deals()["hubspot:9002"]["amount_reporting"] == Decimal("6374.9875")

    bad = runner.invoke(app, ["sync"], env=_cli_env(h, tmp_path, {"rates": {"GBP": -1}}))
    assert bad.exit_code == 1
    lines = [line for line in bad.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), bad.output
    assert "rates" in lines[0] and "positive" in lines[0]

    unknown = runner.invoke(app, ["sync", "--source", "nope"], env=_cli_env(h, tmp_path))
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    assert "--source nope" in unknown.output

    h.server.set_faults("quota=1")
    spent = runner.invoke(app, ["sync"], env=_cli_env(h, tmp_path))
    assert spent.exit_code == 1 and "Traceback" not in spent.output
