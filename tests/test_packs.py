"""The shipped policy packs: each lints clean, passes its golden tests, and means what its name says."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeptrusts.cli.main import cli
from keeptrusts.config import load_config
from keeptrusts.policytest import discover, run

POLICIES = Path(__file__).resolve().parents[1] / "policies"
PACKS = sorted(p.stem for p in POLICIES.glob("*.yaml"))


def test_the_three_documented_packs_ship():
    assert {"codex-cli", "audit-only", "strict"} <= set(PACKS)


@pytest.mark.parametrize("pack", PACKS)
def test_pack_lints_clean_without_warnings(pack):
    r = CliRunner().invoke(cli, ["policy", "lint", "--file", str(POLICIES / f"{pack}.yaml"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["valid"] and doc["warnings"] == []


@pytest.mark.parametrize("pack", PACKS)
def test_pack_golden_tests_pass(pack):
    r = CliRunner().invoke(cli, ["policy", "test", "--file", str(POLICIES / f"{pack}.yaml"), "--json"])
    doc = json.loads(r.output)
    failures = {x["name"]: x["failures"] for x in doc["results"] if x["status"] == "fail"}
    assert r.exit_code == 0 and doc["ok"], failures


@pytest.mark.parametrize("pack", PACKS)
def test_pack_has_golden_cases_for_allow_and_for_enforcement(pack):
    cases = discover(load_config(POLICIES / f"{pack}.yaml"))
    verdicts = {c.expected["verdict"] for c in cases}
    assert len(cases) >= 4 and "allow" in verdicts and verdicts - {"allow"}


@pytest.mark.parametrize("pack", PACKS)
def test_pack_is_documented_in_the_policies_readme(pack):
    readme = (POLICIES / "README.md").read_text()
    assert f"`{pack}.yaml`" in readme


def test_strict_blocks_secrets_requires_identity_and_limits_egress():
    cfg = load_config(POLICIES / "strict.yaml")
    assert cfg.policy_options["code-sanitation"]["block_on_match"] is True
    assert cfg.gateway["require_identity"] is True
    assert cfg.gateway["egress_allowlist"] == ["api.openai.com"]
    assert cfg.gateway.get("fail_mode", "block") == "block"
    assert "code-sanitation" in cfg.chain and "agent-firewall" in cfg.chain


def test_audit_only_never_blocks_or_rewrites():
    cfg = load_config(POLICIES / "audit-only.yaml")
    options = json.dumps(cfg.policy_options)
    assert '"block"' not in options and '"redact"' not in options and '"escalate"' not in options
    assert cfg.gateway.get("fail_mode") == "allow"
    assert cfg.chain[-1] == "audit-logger" and cfg.policy_options["audit-logger"]["log_all_access"] is True
    results = run(cfg)
    assert all(r.verdict not in ("block", "redact", "escalate") for r in results)


def test_codex_cli_pack_has_all_seven_policies_audit_last():
    cfg = load_config(POLICIES / "codex-cli.yaml")
    assert len(cfg.chain) == 7 and cfg.chain[-1] == "audit-logger"


def test_audit_only_warns_for_every_type_the_redacting_policies_know():
    # Any type without an explicit action falls back to the policy's default: it must be warn.
    from keeptrusts.policies import REGISTRY

    cfg = load_config(POLICIES / "audit-only.yaml")
    for kind in ("code-sanitation", "pii-detector"):
        policy = REGISTRY[kind](cfg.policy_options[kind])
        assert policy.default_action() == "warn", kind
        assert set((cfg.policy_options[kind].get("actions") or {}).values()) <= {"warn"}


def test_quality_flags_carry_their_score_in_the_details():
    results = {r.case.name: r for r in run(load_config(POLICIES / "codex-cli.yaml"))}
    for name in ("flags-truncated-answer", "flags-code-that-does-not-parse"):
        scores = results[name].to_dict()["details"]["quality_scores"]
        assert 0 <= scores["quality-scorer"] < 0.7
