"""`kt scan PATH|-`: what the gateway would redact, for files, directories and stdin."""
from __future__ import annotations

import json

from click.testing import CliRunner

from keeptrusts.cli.main import cli

LEAKY = 'import os\nDB = "postgres://app:S3cr3t!Pa55@db.internal/x"\n# Author: Ingrid Lindqvist <ingrid@fastmail.fm>\n'
CLEAN = 'import uuid\nID = "123e4567-e89b-12d3-a456-426614174000"\nHOST = "127.0.0.1"\n'


def run(*args, input=None, env=None):
    return CliRunner().invoke(cli, ["scan", *args], input=input, env={"KEEPTRUSTS_HOME": "/nonexistent-kt", **(env or {})})


def test_stdin_lists_findings_with_line_and_column_and_exits_1():
    r = run("-", input=LEAKY)
    assert r.exit_code == 1, r.output
    lines = [l for l in r.output.splitlines() if l.startswith("<stdin>")]
    assert lines[0].startswith("<stdin>:2:22: redact password_in_url (code-sanitation) <SECRET:password_in_url:")
    assert any(":3:11: redact PERSON (pii-detector)" in l for l in lines)
    assert any(":3:29: redact EMAIL_ADDRESS" in l for l in lines)
    assert "S3cr3t" not in r.output and "Lindqvist" not in r.output


def test_clean_input_exits_0():
    r = run("-", input=CLEAN)
    assert r.exit_code == 0 and "0 finding(s)" in r.output


def test_json_for_a_directory(tmp_path):
    (tmp_path / "app.py").write_text(LEAKY)
    (tmp_path / "ok.py").write_text(CLEAN)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "dep.js").write_text(LEAKY)       # vendored code is skipped
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" + LEAKY.encode())  # binary is skipped
    r = run(str(tmp_path), "--json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert list(doc["results"]) == [str(tmp_path / "app.py")]
    assert doc["summary"] == {"files_scanned": 2, "findings": 3,
                              "by_type": {"password_in_url": 1, "PERSON": 1, "EMAIL_ADDRESS": 1}}
    first = doc["results"][str(tmp_path / "app.py")][0]
    assert {"type", "policy", "category", "action", "line", "column", "placeholder"} <= set(first)


def test_redacted_prints_what_goes_upstream():
    r = run("-", "--redacted", input=LEAKY)
    assert "S3cr3t" not in r.output and "ingrid@" not in r.output
    assert r.output.startswith('import os\nDB = "postgres://app:<SECRET:password_in_url:')


def test_policy_config_options_apply(tmp_path):
    cfg = tmp_path / "policy-config.yaml"
    cfg.write_text("pack: {name: p, version: 1.0.0, enabled: true}\npolicies: {chain: [pii-detector, code-sanitation]}\n"
                   "policy:\n  pii-detector:\n    exclude_entities: [PERSON]\n  code-sanitation:\n    block_on_match: true\n")
    r = run("-", "-c", str(cfg), "--json", input=LEAKY)
    found = {(f["type"], f["action"]) for f in json.loads(r.output)["results"]["<stdin>"]}
    assert found == {("password_in_url", "block"), ("EMAIL_ADDRESS", "redact")}


def test_user_errors_are_one_line():
    r = run("/no/such/path")
    assert r.exit_code == 1 and "no such file or directory" in r.output and "Traceback" not in r.output
    r = run("-", "-c", "/no/such/config.yaml", input="x")
    assert r.exit_code == 1 and "no such policy config" in r.output


def test_same_placeholder_as_the_gateway_when_a_key_exists(tmp_path):
    env = {"KEEPTRUSTS_HOME": str(tmp_path)}
    (tmp_path / "redaction.key").write_text("ab" * 32)
    a = run("-", "--redacted", input=LEAKY, env=env).output
    b = run("-", "--redacted", input=LEAKY, env=env).output
    assert a == b
