"""The real Codex CLI and the agent-firewall's apply_patch judge (issue 17).

Codex 0.169's own apply_patch parser trims every marker line, so a patch whose `*** Begin Patch` /
`*** Add File:` lines are indented is applied. The control run (Codex straight at the fake upstream)
shows Codex really writes such a patch outside its workspace; through the gateway the same tool call
is blocked, Codex shows the block and no file is written. The same for `cd .. && apply_patch <<'EOF'`
sent through the shell tool, which Codex also applies itself.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from codex import Codex
from fake_openai import FakeOpenAI, call, custom
from gateway import Gateway

pytestmark = pytest.mark.e2e


def _patch(target: Path) -> str:
    # Indented markers, as in the issue; the path is absolute and outside the workspace.
    return (f"  *** Begin Patch\n    *** Add File: {target}\n+written by the model\n  *** End Patch\n")


def _script(target: Path, form: str) -> list:
    if form == "indented":
        return [[custom("apply_patch", _patch(target))], "Done."]
    # `cd .. && apply_patch <<'EOF'` through the shell tool: Codex intercepts it and applies the
    # patch itself, relative to the directory the cd names (codex-rs/apply-patch/src/invocation.rs).
    rel = target.relative_to(target.parents[1])
    cmd = f"cd .. && apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: {rel}\n+written by the model\n*** End Patch\nEOF"
    return [[call("exec_command", {"cmd": cmd})], "Done."]


@pytest.mark.parametrize("form", ["indented", "cd-heredoc"])
def test_control_codex_applies_the_patch_outside_its_workspace(codex_binary, tmp_path, form):
    target = tmp_path / "outside" / "control.txt"
    with FakeOpenAI(script=_script(target, form), websocket="refuse") as fake:
        codex = Codex(codex_binary, tmp_path / "home", tmp_path / "ws", fake.base_url)
        run = codex.run("Write the file.", sandbox="danger-full-access")
    # Without the gateway nothing stops it: this is the form the firewall must parse as Codex does.
    assert target.read_text() == "written by the model\n", run.stdout[-3000:] + run.stderr[-2000:]


@pytest.mark.parametrize("form, websocket", [("indented", "accept"), ("indented", "refuse"), ("cd-heredoc", "accept")])
def test_gateway_blocks_the_patch_and_nothing_is_written(codex_binary, priced_policy, tmp_path, form, websocket):
    target = tmp_path / "outside" / "pwned.txt"
    with FakeOpenAI(script=_script(target, form), websocket=websocket) as fake:
        with Gateway(tmp_path, fake.url, policy=priced_policy) as gw:
            codex = Codex(codex_binary, tmp_path / "home", tmp_path / "ws", gw.base_url)
            run = codex.run("Write the file.", sandbox="danger-full-access")
        log = gw.log_text()
    assert not target.exists(), run.stdout[-3000:] + log[-3000:]
    assert not (tmp_path / "outside").exists()
    shown = "\n".join(run.errors)
    assert "Blocked by keeptrusts agent-firewall: patch-outside-workspace: writes " + str(target) in shown, \
        run.stdout[-3000:] + log[-3000:]
    assert run.returncode == 1
    assert not run.items("file_change")
