"""Strict config loading and `kt policy lint`, in the reference's format."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeptrusts.cli.main import cli
from keeptrusts.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[1]
GOOD = """pack:
  name: production
  version: 0.2.0
  enabled: true
policies:
  chain: [prompt-injection, pii-detector, audit-logger]
policy:
  pii-detector:
    action: redact
"""


def lint(tmp_path, text, *args):
    f = tmp_path / "policy-config.yaml"
    f.write_text(text)
    return CliRunner().invoke(cli, ["policy", "lint", "--file", str(f), *args])


def test_lint_ok_summary(tmp_path):
    r = lint(tmp_path, GOOD)
    assert r.exit_code == 0, r.output
    assert "is valid" in r.output and "Pack: production (v0.2.0)" in r.output
    assert "Chain: prompt-injection -> pii-detector -> audit-logger" in r.output
    assert "Policies validated: 3" in r.output


def test_lint_reports_kind_key_and_type_errors_with_positions(tmp_path):
    bad = GOOD.replace("[prompt-injection,", "[prompt-injections,").replace("action: redact", "actoin: redact") \
        + "providers:\n  targets:\n    - {id: a, provider: openai}\n    - {id: a, provider: openai}\n"
    r = lint(tmp_path, bad)
    assert r.exit_code == 2
    out = r.output
    assert "error[E001]: Unknown policy kind 'prompt-injections'" in out
    assert "--> policies.chain[0]" in out and "help: Did you mean 'prompt-injection'?" in out
    assert "error[E002]" in out and "policy.pii-detector.actoin" in out and "Did you mean 'action'?" in out
    assert 'duplicate target id "a"' in out
    assert "policy-config.yaml:6:" in out  # file:line:col of the chain entry


def test_lint_json(tmp_path):
    r = lint(tmp_path, GOOD.replace("redact", "obliterate"), "--json")
    doc = json.loads(r.output)
    assert r.exit_code == 2 and doc["valid"] is False
    assert doc["errors"][0]["path"] == "policy.pii-detector.action"
    ok = json.loads(lint(tmp_path, GOOD, "--json").output)
    assert ok == {**ok, "valid": True, "chain": ["prompt-injection", "pii-detector", "audit-logger"], "policy_count": 3}


@pytest.mark.parametrize("text,fragment", [
    ("pack: [", "YAML syntax error"),
    ("", "empty"),
    ("policies: {chain: []}\n", "Missing required key 'pack'"),
    ("pack: {name: x, version: 1.0.0, enabled: yes-please}\npolicies: {chain: []}\n", "expected a boolean"),
    ("pack: {name: x, version: 1.0.0, enabled: true}\npack: {name: y, version: 1.0.0, enabled: true}\npolicies: {chain: []}\n",
     "Duplicate key 'pack'"),
    ("pack: {name: x, version: 1.0.0, enabled: true}\npolicies: {chain: [pii-detector]}\nextra: 1\n", "Unknown key 'extra'"),
    ("policy: {name: pii-detector, version: 1.0.0, enabled: true}\n", "cannot be used as a single-policy document"),
])
def test_broken_configs_are_refused_clearly(text, fragment):
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "x.yaml")
    assert fragment in exc.value.render()


def test_aliases_and_single_policy_document():
    cfg = parse_config(GOOD.replace("pii-detector, audit", "code-sanitizer, audit"))
    assert cfg.chain == ["prompt-injection", "code-sanitation", "audit-logger"]
    single = parse_config("policy: {name: prompt-injection, version: 1.0.0, enabled: true}\n"
                          "detection: {attack_patterns: ['ignore.*previous']}\n")
    assert single.chain == ["prompt-injection"]


def test_codex_guide_config_loads():
    """The exact config of the Keeptrusts Codex guide (chain without policy blocks) must work."""
    cfg = parse_config("""pack:
  name: codex-cli-gateway
  version: 1.0.0
  enabled: true
policies:
  chain:
    - pii-detector
    - code-sanitation
    - prompt-injection
    - safety-filter
    - quality-scorer
    - audit-logger
providers:
  strategy: single
  targets:
    - id: openai-codex
      provider: openai
      model: o4-mini
      secret_key_ref:
        env: OPENAI_API_KEY
""")
    assert len(cfg.chain) == 6 and {w.code for w in cfg.warnings} == {"W003"}


def test_every_shipped_pack_lints_clean():
    for pack in sorted((ROOT / "policies").glob("*.yaml")):
        r = CliRunner().invoke(cli, ["policy", "lint", "--file", str(pack)])
        assert r.exit_code == 0, f"{pack.name}: {r.output}"


def test_gateway_refuses_to_start_on_broken_config(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("pack: {name: x}\n")
    r = CliRunner().invoke(cli, ["gateway", "run", "--policy-config", str(f)])
    assert r.exit_code != 0 and "Missing required key" in r.output


def test_gateway_refuses_remote_listen_without_flag(tmp_path):
    r = CliRunner().invoke(cli, ["gateway", "run", "--policy-config", str(ROOT / "policies/codex-cli.yaml"),
                                 "--listen", "0.0.0.0:41002"])
    assert r.exit_code != 0 and "not a loopback address" in r.output


def test_live_reload_and_invalid_change_keeps_old(fake_openai, gateway_factory, tmp_path):
    cfg = tmp_path / "live.yaml"
    cfg.write_text(GOOD)
    gw = gateway_factory(upstream=fake_openai.url, config=cfg)
    assert gw.health()["chain"] == ["prompt-injection", "pii-detector", "audit-logger"]
    # A tightening edit applies live (a weakening one waits for `kt policy apply`: test_trust_boundaries).
    cfg.write_text(GOOD.replace("version: 0.2.0", "version: 0.3.0").replace("pii-detector, ", "pii-detector, code-sanitation, "))
    deadline = time.monotonic() + 90  # building code-sanitation's rule database takes seconds on a busy machine
    while gw.health()["chain"] != ["prompt-injection", "pii-detector", "code-sanitation", "audit-logger"] \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gw.health()["config"] == "production@0.3.0"
    cfg.write_text("this: is: not: yaml")
    time.sleep(2.5)
    h = gw.health()
    # Still enforcing the last good config, and saying that the file on disk is not what runs.
    assert h["config"] == "production@0.3.0" and h["status"] == "degraded"
    assert "change was rejected" in h["reason"] and "production@0.3.0" in h["reason"]
    assert "config reload failed" in gw.log_text()
    status, body = gw.get("/keeptrusts/config")
    assert json.loads(body)["pack"]["version"] == "0.3.0"
