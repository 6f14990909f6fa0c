"""Operations against a real gateway: /metrics after traffic, debug JSON logs without the values, kt doctor."""
from __future__ import annotations

import json
import time

import openai
import pytest
from click.testing import CliRunner

from keeptrusts.cli.main import cli
from test_metrics import parse

EMAIL = "priya.raman@northwind-logistics.io"
GHP = "ghp_DNxril3RavGD5MfvJ7NScUykT8C8UB0vnzpI"


@pytest.fixture
def gateway(fake_openai, gateway_factory):
    gw = gateway_factory(upstream=fake_openai.url, args=["--log-level", "debug", "--log-format", "json"])
    client = openai.OpenAI(base_url=gw.base_url, api_key="sk-client-key", max_retries=0, timeout=30)
    client.responses.create(model="gpt-5-codex", input=f"Add {EMAIL} to CODEOWNERS")            # pii redact
    client.responses.create(model="gpt-5-codex", input=f"Why does GITHUB_TOKEN={GHP} fail?")      # secret redact
    for _ in client.responses.create(model="gpt-5-codex", input="List the files", stream=True):  # plain
        pass
    deadline = time.monotonic() + 10   # the record of the last exchange is written as its stream ends
    while gw.log_text().count('"event": "exchange"') < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    return gw


def test_metrics_logs_and_doctor_on_a_live_gateway(gateway, fake_openai, tmp_path, monkeypatch):
    # One gateway for all three (each start costs seconds).
    check_metrics(gateway)
    check_logs(gateway)
    check_doctor(gateway, fake_openai, tmp_path, monkeypatch)


def check_metrics(gateway):
    status, body = gateway.get("/metrics")
    assert status == 200
    s = parse(body.decode())
    requests = sum(v for (name, labels), v in s.items() if name == "keeptrusts_gateway_requests_total")
    assert requests >= 3
    assert s[("keeptrusts_gateway_verdicts_total", (("verdict", "redact"),))] == 2
    assert s[("keeptrusts_gateway_findings_total", (("policy", "pii-detector"), ("type", "EMAIL_ADDRESS")))] == 1
    assert s[("keeptrusts_gateway_findings_total", (("policy", "code-sanitation"), ("type", "github_token")))] == 1
    assert s[("keeptrusts_gateway_bytes_scanned_total", (("direction", "request"),))] > 0
    assert s[("keeptrusts_gateway_config_info", (("pack", "codex-cli-gateway"), ("version", "1.0.0")))] == 1
    assert ("keeptrusts_gateway_scan_cache_hit_ratio", ()) in s
    assert any(name == "keeptrusts_gateway_request_duration_seconds_count" for name, _ in s)


def check_logs(gateway):
    """debug + json: one object per decision and per exchange, and never the redacted values."""
    log = gateway.log_text()
    assert EMAIL not in log and GHP not in log
    docs = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    exchanges = [d for d in docs if d.get("event") == "exchange"]
    decisions = [d for d in docs if d.get("event") == "decision"]
    assert len(exchanges) >= 3
    assert {e["verdict"] for e in exchanges} >= {"redact", "allow"}
    found = {f["type"] for d in decisions for f in d.get("findings", [])}
    assert {"EMAIL_ADDRESS", "github_token"} <= found
    assert all(f.get("placeholder", "<").startswith("<") for d in decisions for f in d.get("findings", []))


def check_doctor(gateway, fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("KEEPTRUSTS_UPSTREAM_URL", fake_openai.url)
    monkeypatch.setenv("KEEPTRUSTS_CERTS", str(gateway.certs))
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(gateway.home))  # the gateway's audit key and admin token
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text(f'openai_base_url = "{gateway.base_url}"\n')
    r = CliRunner().invoke(cli, ["doctor", "--policy-config", str(gateway.config), "--listen", f"127.0.0.1:{gateway.port}",
                                 "--proxy-listen", f"127.0.0.1:{gateway.proxy_port}", "--audit-db", str(gateway.audit_db),
                                 "--json"])
    doc = json.loads(r.output)
    by = {c["name"]: c for c in doc["checks"]}
    assert by["listen"]["status"] == "ok" and "Gateway answering" in by["listen"]["message"]
    assert by["proxy_port"]["status"] == "ok"
    assert by["upstream"]["status"] == "ok"
    assert by["audit"]["status"] == "ok" and "verifying" in by["audit"]["message"]
    assert by["codex"]["status"] == "ok"
