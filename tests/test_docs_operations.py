"""Every `kt` command shown in docs/operations.md runs (except `kt gateway run`, tested with a live gateway)."""
from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeptrusts.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "operations.md"


def doc_commands() -> list[str]:
    cmds = []
    for line in DOC.read_text().splitlines():
        m = re.match(r"^ {4}(kt .+)$", line)
        if m and not m.group(1).startswith("kt gateway run"):
            text = m.group(1).split("  #", 1)[0]   # drop the trailing comment
            cmds += [c.strip() for c in text.split("&&")]
    return cmds


def test_the_doc_shows_the_commands_it_promises():
    cmds = doc_commands()
    for needed in ("kt init --template", "kt policy test --json", "kt policy lint", "kt doctor --json"):
        assert any(needed.split()[1] in c and needed.split()[-1] in c for c in cmds), needed


@pytest.mark.parametrize("command", doc_commands())
def test_doc_command_runs(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(tmp_path / "state"))
    for var in [v for v in os.environ if v.upper().endswith("_PROXY")]:
        monkeypatch.delenv(var)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0                       # a policy-config.yaml here
    if "my-gateway" in command and not command.startswith("kt init"):
        assert runner.invoke(cli, ["init", "--template", "strict", "--dir", "my-gateway"]).exit_code == 0
    args = shlex.split(command)[1:]
    if args[0] == "doctor":
        args += ["--offline", "--timeout", "0.5"] if "--offline" not in args else []
    r = runner.invoke(cli, args)
    if args[0] == "doctor":
        # Doctor may find real problems on this machine (exit 1); it must run and report.
        assert r.exit_code in (0, 1), r.output
        assert "Keeptrusts Gateway Diagnostics" in r.output or r.output.lstrip().startswith("{")
    else:
        assert r.exit_code == 0, f"{command}\n{r.output}"
