"""The sandbox server: env, TLS, auth, admin endpoints, `serve()` as a process, bad fixtures."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hubspot.crm.deals.exceptions import UnauthorizedException

from connectors.sandbox.api import FixtureError
from connectors.sandbox.serve import export_lines, load_fixture
from connectors.sandbox.server import SandboxServer, split_fixture

REPO = Path(__file__).resolve().parents[2]


def _admin(
    server: SandboxServer, method: str, path: str, body: dict | None = None
) -> tuple[int, object]:
    context = ssl.create_default_context(cafile=server.ca_bundle)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_env_points_at_the_server(sandbox: SandboxServer) -> None:
    env = sandbox.env()
    assert env["HUBSPOT_BASE_URL"] == sandbox.url
    assert sandbox.url.startswith("https://127.0.0.1:")
    assert env["HUBSPOT_ACCESS_TOKEN"].startswith("pat-sandbox-")
    assert not env["HUBSPOT_ACCESS_TOKEN"].startswith("pat-na1-")
    assert env["PIPELINES_ETL_CA_BUNDLE"] == sandbox.ca_bundle
    assert "BEGIN CERTIFICATE" in Path(sandbox.ca_bundle).read_text()


def test_tls_is_verified_against_the_bundle_only(sandbox: SandboxServer) -> None:
    system = ssl.create_default_context()  # the system CAs do not know the sandbox CA
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(sandbox.url + "/__sandbox__/faults", context=system, timeout=10)
    assert _admin(sandbox, "GET", "/__sandbox__/faults")[0] == 200


@pytest.mark.parametrize("token", ["", "pat-na1-wrong"])
def test_missing_or_wrong_token_gets_the_real_401(sandbox, hubspot_client, token: str) -> None:
    client = hubspot_client(sandbox, token=token)
    with pytest.raises(UnauthorizedException) as caught:
        client.crm.deals.basic_api.get_page(limit=1)
    body = json.loads(caught.value.body)
    assert caught.value.status == 401
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["status"] == "error"


def test_admin_endpoints_show_writes_and_change_faults(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    client.crm.deals.batch_api.update({"inputs": [{"id": "9001", "properties": {"dealname": "X"}}]})
    status, writes = _admin(world_sandbox, "GET", "/__sandbox__/writes?crm=hubspot")
    assert status == 200
    assert [(w["record_id"], w["field"], w["old"], w["new"]) for w in writes] == [
        ("9001", "dealname", "Acme pilot", "X")
    ]
    assert _admin(world_sandbox, "GET", "/__sandbox__/writes?crm=salesforce")[1] == []
    assert _admin(world_sandbox, "POST", "/__sandbox__/faults", {"spec": "500@99"})[0] == 200
    status, reply = _admin(world_sandbox, "POST", "/__sandbox__/faults", {"spec": "boom=1"})
    assert status == 400
    assert "boom" in reply["error"]
    status, faults = _admin(world_sandbox, "GET", "/__sandbox__/faults")
    assert faults == {"counts": {}, "requests": 1}


def test_unknown_path_is_404(sandbox: SandboxServer) -> None:
    assert _admin(sandbox, "GET", "/nothing/here")[0] == 404


def test_bad_fixture_sections_are_refused_with_their_path() -> None:
    with pytest.raises(FixtureError) as caught:
        split_fixture({"hubspot": {}, "zoho": {}})
    assert caught.value.path == "zoho"
    with pytest.raises(FixtureError) as caught:
        SandboxServer(fixture={"hubspot": []}, apis=["hubspot"])
    assert caught.value.path == "hubspot"


def test_absent_section_is_an_empty_world(hubspot_client) -> None:
    with SandboxServer(fixture={}, apis=["hubspot"]) as server:
        page = hubspot_client(server).crm.deals.basic_api.get_page(limit=10)
        assert page.results == []
        pipelines = hubspot_client(server).crm.pipelines.pipelines_api.get_all(object_type="deals")
        assert [p.id for p in pipelines.results] == ["default"]


def test_load_fixture_refuses_bad_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FixtureError) as caught:
        load_fixture(bad)
    assert caught.value.path == str(bad)


def test_export_lines_quote_for_the_shell() -> None:
    assert export_lines({"A": "x y", "B": "plain"}) == ["export A='x y'", "export B=plain"]


def _serve_process(*args: str) -> subprocess.Popen[str]:
    code = (
        "import sys; from pathlib import Path; from connectors.sandbox.serve import serve; "
        "a = sys.argv[1:]; serve(port=0, deals=int(a[0]) if a[0] != '-' else None, "
        "data=Path(a[1]) if a[1] != '-' else None, seed=3, faults=None)"
    )
    return subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", code, *args],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_serve_prints_exports_then_ready_and_stops_on_sigterm(hubspot_client) -> None:
    process = _serve_process("20", "-")
    try:
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
            if line.strip() == "ready":
                break
        assert lines[-1] == "ready"
        exports = dict(line.removeprefix("export ").split("=", 1) for line in lines[:-1])
        assert exports["HUBSPOT_BASE_URL"].startswith("https://127.0.0.1:")
        assert exports["HUBSPOT_ACCESS_TOKEN"].startswith("pat-sandbox-")
        assert Path(exports["PIPELINES_ETL_CA_BUNDLE"]).exists()
        from hubspot import HubSpot

        client = HubSpot(
            access_token=exports["HUBSPOT_ACCESS_TOKEN"],
            host=exports["HUBSPOT_BASE_URL"],
            ssl_ca_cert=exports["PIPELINES_ETL_CA_BUNDLE"],
        )
        assert len(client.crm.deals.get_all()) > 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_refuses_a_bad_fixture_before_ready(tmp_path: Path, world) -> None:
    world["deals"][3]["properties"]["amount"] = "lots"
    data = tmp_path / "world.json"
    data.write_text(json.dumps({"hubspot": world}))
    process = _serve_process("-", str(data))
    out, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "ready" not in out
    assert "hubspot.deals[3].properties.amount" in err
