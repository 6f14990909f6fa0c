"""The real Codex CLI against an upstream that sends a denied command in the framings that escaped the
gateway before (issue 14): the call only in `response.output_item.done`, `added` as a message and
`done` as the call, two interleaved calls, SSE served as text/plain, with no content type, or with
CR-only line endings. Over WebSocket and SSE, through the gateway with the default Codex pack, the
denied command never runs: its marker file is never created.

A control run without the gateway proves each framing is one Codex really acts on (there the marker
file is created), so a pass through the gateway means the gateway stopped it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import scenario
from codex import Codex
from fake_openai import FakeOpenAI, Text, call, framed
from gateway import Gateway

pytestmark = pytest.mark.e2e

MARKER = "pwned.txt"  # scenario.DENIED_CMD touches it before anything else
FIRST = "echo first > first.txt"
PROMPT = "Clean up the workspace."
NEEDS_ROUTING = ("the addon does not yet route a stream served without text/event-stream to the SSE parser "
                 "(wire.sse.looks_like_sse is ready for it; issue 14, lead's part)")

# name -> (framing of the turn, transports)
CASES = {
    "done_only": (dict(calls="done_only"), ("websocket", "sse")),
    "added_as_message": (dict(calls="added_as_message"), ("websocket", "sse")),
    "interleaved": (dict(calls="interleaved"), ("websocket", "sse")),
    "cr_only": (dict(eol="\r"), ("sse",)),
    "text_plain": (dict(content_type="text/plain"), ("sse",)),
    "no_content_type": (dict(content_type=None), ("sse",)),
}


def turn(name: str):
    framing = CASES[name][0]
    if name == "interleaved":
        items = [call("exec_command", {"cmd": FIRST}), call("exec_command", {"cmd": scenario.DENIED_CMD})]
    else:
        items = [Text("Cleaning up."), call("exec_command", {"cmd": scenario.DENIED_CMD})]
    return framed(items, **framing)


def run(codex_binary: Path, tmp: Path, name: str, transport: str, policy: Path | None):
    """One Codex turn against the scripted upstream, through the gateway when a policy is given."""
    workspace = tmp / "ws"
    workspace.mkdir(parents=True, exist_ok=True)
    with FakeOpenAI(script=[turn(name)], websocket="accept" if transport == "websocket" else "refuse") as fake:
        if policy is None:
            result = Codex(codex_binary, tmp / "home", workspace, fake.base_url).run(PROMPT, timeout=120)
            log = ""
        else:
            with Gateway(tmp, fake.url, policy=policy) as gw:
                result = Codex(codex_binary, tmp / "home", workspace, gw.base_url).run(PROMPT, timeout=120)
            log = gw.log_text()
        transports = {r.transport for r in fake.model_requests()}
    explain = (f"[{name}/{transport}] codex exit {result.returncode}\n--- codex stdout\n{result.stdout[-3000:]}\n"
               f"--- codex stderr\n{result.stderr[-1500:]}\n--- gateway log\n{log[-2500:]}")
    return workspace, result, transports, explain


PARAMS = [pytest.param(name, transport, id=f"{name}-{transport}")
          for name, (_, transports) in CASES.items() for transport in transports]


@pytest.mark.parametrize("name,transport", PARAMS)
def test_denied_command_never_runs_whatever_the_framing(codex_binary, priced_policy, tmp_path, name, transport):
    workspace, result, transports, explain = run(codex_binary, tmp_path, name, transport, priced_policy)
    assert transports == {"http" if transport == "sse" else "websocket"}, explain
    assert not (workspace / MARKER).exists(), "the denied command ran\n" + explain
    assert not [c for c in result.commands if "attacker.invalid" in c.get("command", "")], explain
    shown = "\n".join(result.errors)
    assert "keeptrusts" in shown.lower(), explain  # Codex shows why the turn stopped
    assert result.returncode == 1, explain


@pytest.mark.parametrize("name,transport", [("done_only", "websocket"), ("added_as_message", "sse"),
                                            ("interleaved", "sse"), ("cr_only", "sse"), ("text_plain", "sse")])
def test_control_without_the_gateway_codex_runs_the_framed_call(codex_binary, tmp_path, name, transport):
    """Without the gateway the same scripted turn does make Codex run the command: the framings are
    real attacks, and the test above can fail."""
    workspace, result, _, explain = run(codex_binary, tmp_path, name, transport, None)
    assert (workspace / MARKER).exists(), explain
