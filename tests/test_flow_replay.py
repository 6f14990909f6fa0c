"""Recorded Codex CLI 0.169.0 sessions (tests/flows/*.mitm) replayed offline through the addon.

The flows hold exactly what Codex sent and what the (fake) model answered in the e2e scenario
(tests/e2e/scenario.py): a tool output full of planted secrets and PII, an apply_patch, an allowed
command, then a denied `curl | sh`. Replaying them needs no Node and no network, so a change in the
wire handling shows up in the fast suite. Re-record with scripts/record-codex-flows.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mitmproxy import io

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "tests" / "flows"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import scenario  # noqa: E402

MITMDUMP = Path(sys.executable).with_name("mitmdump")
DENIED = "attacker.invalid"


def replay(name: str, tmp: Path) -> tuple[list, list[dict]]:
    out, db = tmp / "out.mitm", tmp / "audit.db"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(KEEPTRUSTS_HOME=str(tmp / "home"), KEEPTRUSTS_CERTS=str(tmp / "certs"))
    p = subprocess.run([str(MITMDUMP), "-nr", str(FLOWS / f"{name}.mitm"), "-s", str(ROOT / "addons" / "keeptrusts.py"),
                        "--set", f"keeptrusts_config={ROOT / 'policies' / 'codex-cli.yaml'}",
                        "--set", f"keeptrusts_audit_db={db}", "-w", str(out), "-q"],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp)
    assert p.returncode == 0 and "Traceback" not in p.stderr + p.stdout, p.stderr + p.stdout
    with open(out, "rb") as f:
        flows = list(io.FlowReader(f).stream())
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("select * from events order by seq")]
    con.close()
    for r in rows:
        r["policies"] = json.loads(r["policies"] or "[]")
    return flows, rows


@pytest.fixture(scope="module", params=["codex-ws", "codex-proxy"])
def ws_replay(request, tmp_path_factory):
    """The WebSocket sessions: reverse mode, and explicit HTTPS_PROXY mode (host api.openai.com)."""
    flows, rows = replay(request.param, tmp_path_factory.mktemp(request.param))
    return flows, rows, request.param


@pytest.fixture(scope="module")
def sse_replay(tmp_path_factory):
    return replay("codex-sse", tmp_path_factory.mktemp("replay-sse"))


def _sent_upstream(flows) -> str:
    """What would have left the machine: request bodies and client WebSocket messages, after the addon."""
    parts = []
    for f in flows:
        parts.append(f.request.get_text(strict=False) or "")
        if f.websocket:
            parts += [m.text for m in f.websocket.messages if m.from_client and not m.dropped]
    return "\n".join(parts)


def _reached_client(flows) -> str:
    """Everything the client received, minus the block message itself (which names the command by design:
    "Blocked by keeptrusts agent-firewall: <rule>: <command>")."""
    return re.sub(r"Blocked by keeptrusts [^\"]*", "", _raw_reached_client(flows))


def _raw_reached_client(flows) -> str:
    parts = []
    for f in flows:
        if f.websocket:
            parts += [m.text for m in f.websocket.messages if not m.from_client and not m.dropped]
        elif f.response is not None:
            parts.append(f.response.get_text(strict=False) or "")
    return "\n".join(parts)


def test_recorded_flows_are_what_the_scenario_says():
    raw = (FLOWS / "codex-ws.mitm").read_bytes()
    assert scenario.SECRETS["github_token"].encode() in raw  # the planted values really are in the recording
    assert b"Bearer sk-test-keeptrusts-dummy-0000" in raw and raw.count(b"Bearer ") == raw.count(b"Bearer sk-test-keeptrusts-dummy")


def test_replay_redacts_every_planted_value_before_upstream(ws_replay, sse_replay):
    for flows in (ws_replay[0], sse_replay[0]):
        _assert_redacted(_sent_upstream(flows))


def _assert_redacted(sent: str) -> None:
    assert [v for v in scenario.planted() if v in sent] == []
    for key in ("AWS_ACCESS_KEY_ID=<SECRET:", "GITHUB_TOKEN=<SECRET:", "ADMIN_EMAIL=<PII:EMAIL_ADDRESS:"):
        assert key in sent


def test_ws_replay_audits_every_response_create(ws_replay):
    flows, rows, name = ws_replay
    [flow] = flows
    assert {r["mode"] for r in rows} == {"explicit" if name == "codex-proxy" else "reverse"}
    creates = [m for m in flow.websocket.messages if m.from_client and '"response.create"' in m.text]
    assert len(rows) == len(creates) == 6  # warm-up + five turns
    assert {r["transport"] for r in rows} == {"websocket"}
    assert any(r["verdict"] == "redact" for r in rows)
    assert all(r["input_tokens"] for r in rows if r["verdict"] != "block")


def test_ws_replay_blocks_the_denied_command(ws_replay):
    flows, rows, _ = ws_replay
    [blocked] = [r for r in rows if r["verdict"] == "block"]
    assert any(p["policy"] == "agent-firewall" and p["verdict"] == "block" for p in blocked["policies"])
    held = [m for m in flows[0].websocket.messages if not m.from_client and m.dropped and DENIED in m.text]
    assert held  # the tool call's events were held back, not released


def test_ws_replay_no_message_to_codex_carries_the_denied_command(ws_replay):
    assert DENIED not in _reached_client(ws_replay[0])


def test_sse_replay_audits_every_request(sse_replay):
    flows, rows = sse_replay
    posts = [f for f in flows if f.request.method == "POST"]
    assert len(posts) == 5 and len([r for r in rows if r["transport"] in ("http", "sse")]) == 5
    assert [r["status"] for r in rows if r["transport"] == "websocket"] == [426]  # the refused upgrade
    assert sum(any(p["verdict"] == "redact" for p in r["policies"]) for r in rows) >= 4


def test_sse_replay_blocks_the_denied_command_and_records_usage(sse_replay):
    flows, rows = sse_replay
    assert any(r["verdict"] == "block" for r in rows)
    assert all(r["input_tokens"] for r in rows if r["transport"] in ("http", "sse") and r["verdict"] != "block")
    assert DENIED not in _reached_client(flows)
