"""docs/redaction.md stays true: its option block loads, its kt scan commands run."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from keeptrusts.chain import Chain
from keeptrusts.config import parse_config
from keeptrusts.cli.main import cli

DOC = (Path(__file__).resolve().parents[1] / "docs" / "redaction.md").read_text()


def test_documented_options_are_accepted_and_build_the_policies():
    block = re.search(r"```yaml\n(policy:\n.*?)```", DOC, re.S).group(1)
    doc = {"pack": {"name": "doc", "version": "1.0.0", "enabled": True},
           "policies": {"chain": ["pii-detector", "code-sanitation"]}, **yaml.safe_load(block)}
    cfg = parse_config(yaml.safe_dump(doc))
    chain = Chain(cfg)
    assert [p.kind for p in chain.policies] == ["pii-detector", "code-sanitation"]


def test_documented_scan_commands_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text('password = "Tr0ub4dor&3"\n')
    (tmp_path / ".env").write_text("API_SECRET=q8Zr2LmX4vTn7BpW1cYk9HdJ\n")
    (tmp_path / "config.py").write_text('k = "AKIAZ7VQ3XJ5L2PQRS4T"\n')
    (tmp_path / "dump.log").write_text("mail olivia.okafor@gmail.com\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "codex-cli.yaml").write_text(
        (Path(__file__).resolve().parents[1] / "policies" / "codex-cli.yaml").read_text())
    commands = re.findall(r"^(?:cat (\S+) \| )?kt scan ([^#\n]*?)\s*(?:#.*)?$", DOC, re.M)
    assert len(commands) >= 5
    for stdin_file, args in commands:
        stdin = (tmp_path / stdin_file).read_text() if stdin_file else None
        r = CliRunner().invoke(cli, ["scan", *shlex.split(args)], input=stdin,
                               env={"KEEPTRUSTS_HOME": str(tmp_path / "home")})
        assert r.exit_code == 1 and "Traceback" not in r.output, (args, r.output)   # each input has a finding
