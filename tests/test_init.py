"""kt init: a scaffold that lints and whose golden tests pass, from every shipped pack."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from keeptrusts.cli.init import templates
from keeptrusts.cli.main import cli


def kt(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("template", sorted(templates()))
def test_scaffold_lints_and_its_tests_pass(tmp_path, template):
    r = kt("init", "--template", template, "--dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "policy-config.yaml").read_text().startswith(f"# Created by `kt init --template {template}`")
    assert list((tmp_path / "tests").glob("*.json"))
    lint = kt("policy", "lint", "--file", str(tmp_path / "policy-config.yaml"))
    assert lint.exit_code == 0, lint.output
    test = kt("policy", "test", "--pack-dir", str(tmp_path), "--json")
    doc = json.loads(test.output)
    assert test.exit_code == 0 and doc["ok"] and doc["results"]


def test_default_template_is_codex_cli_and_writes_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = kt("init")
    assert r.exit_code == 0
    assert "codex-cli-gateway" in (tmp_path / "policy-config.yaml").read_text()
    assert "kt policy test" in r.output
    assert kt("policy", "test").exit_code == 0


def test_never_overwrites_without_force(tmp_path):
    (tmp_path / "policy-config.yaml").write_text("mine: true\n")
    r = kt("init", "--dir", str(tmp_path))
    assert r.exit_code == 1 and "already exists: pass --force" in r.output
    assert (tmp_path / "policy-config.yaml").read_text() == "mine: true\n"
    assert kt("init", "--dir", str(tmp_path), "--force").exit_code == 0
    assert "codex-cli-gateway" in (tmp_path / "policy-config.yaml").read_text()


def test_unknown_template_lists_the_available_ones(tmp_path):
    r = kt("init", "--template", "stricter", "--dir", str(tmp_path))
    assert r.exit_code == 1
    assert "Unknown template 'stricter'" in r.output and "strict" in r.output and "audit-only" in r.output
    assert not (tmp_path / "policy-config.yaml").exists()


def test_list_templates(tmp_path):
    rows = json.loads(kt("init", "--list", "--json").output)
    assert {"codex-cli", "strict", "audit-only"} <= {r["name"] for r in rows}
    assert all(r["description"] for r in rows)
    assert "strict" in kt("init", "--list").output
