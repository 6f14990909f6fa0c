"""The Responses WebSocket (Codex's first transport) through the real gateway.

Each `response.create` message is judged like a POST /v1/responses body; server events pass
through the same stream judge as SSE (tool calls held until complete).
"""
from __future__ import annotations

import json

import pytest
from fake_openai import Text, call
from gateway_proc import wait_rows
from websockets.sync.client import connect

AWS_KEY = "AKIAZ7QWERTY5DEMO4KX"
BETA = {"openai-beta": "responses_websockets=2026-02-06", "authorization": "Bearer sk-test-ws"}


def ws_turn(ws, body: dict) -> list[dict]:
    ws.send(json.dumps({"type": "response.create", **body}))
    events = []
    while True:
        ev = json.loads(ws.recv(timeout=20))
        events.append(ev)
        if ev["type"] in ("response.completed", "response.failed", "response.incomplete", "error"):
            return events


def block_secrets_config(tmp_path):
    cfg = tmp_path / "block.yaml"
    cfg.write_text("""pack: {name: block-secrets, version: 1.0.0, enabled: true}
policies: {chain: [code-sanitation, audit-logger]}
policy:
  code-sanitation: {block_on_match: true}
""")
    return cfg


@pytest.fixture
def gw(fake_openai, gateway_factory):
    return gateway_factory(upstream=fake_openai.url)


def ws_url(gw) -> str:
    return gw.base_url.replace("http://", "ws://") + "/responses"


def test_warmup_then_turns_with_redaction(gw, fake_openai):
    fake_openai.script = [[Text("I see the key"), call("exec_command", {"cmd": "git status"})]]
    with connect(ws_url(gw), additional_headers=BETA) as ws:
        warm = ws_turn(ws, {"model": "gpt-5", "generate": False, "input": []})
        assert warm[-1]["type"] == "response.completed"
        events = ws_turn(ws, {"model": "gpt-5", "previous_response_id": warm[-1]["response"]["id"],
                              "input": [{"type": "message", "role": "user",
                                         "content": [{"type": "input_text", "text": f"use {AWS_KEY}"}]}]})
    types = [e["type"] for e in events]
    assert types[-1] == "response.completed" and "response.output_text.delta" in types
    tool = [e for e in events if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"]
    assert json.loads(tool[0]["item"]["arguments"]) == {"cmd": "git status"}
    # The tool call's events arrive together and in order, after it was judged.
    idx = [i for i, e in enumerate(events) if e.get("output_index") == tool[0]["output_index"]]
    assert idx == list(range(idx[0], idx[0] + len(idx)))
    ws_msgs = fake_openai.received("websocket")
    assert len(ws_msgs) == 2 and not fake_openai.leaked(AWS_KEY)
    rows = wait_rows(gw.audit_db, 2)
    assert all(r["transport"] == "websocket" for r in rows)
    assert rows[-1]["verdict"] == "redact" and rows[-1]["output_tokens"] > 0


def test_blocked_request_gets_response_failed(fake_openai, gateway_factory, tmp_path):
    gw = gateway_factory(upstream=fake_openai.url, config=block_secrets_config(tmp_path))
    with connect(ws_url(gw), additional_headers=BETA) as ws:
        events = ws_turn(ws, {"model": "gpt-5", "input": f"deploy with {AWS_KEY}"})
        assert events[-1]["type"] == "response.failed"
        assert "Blocked by keeptrusts code-sanitation" in events[-1]["response"]["error"]["message"]
        # The connection stays usable for the next turn.
        fake_openai.script = ["fine"]
        assert ws_turn(ws, {"model": "gpt-5", "input": "hello"})[-1]["type"] == "response.completed"
    assert not fake_openai.leaked(AWS_KEY)
    rows = wait_rows(gw.audit_db, 2)
    assert rows[0]["verdict"] == "block" and AWS_KEY not in json.dumps(rows[0])


def test_refused_upgrade_passes_426_through(fake_openai_factory, gateway_factory):
    fake = fake_openai_factory(websocket="refuse")
    gw = gateway_factory(upstream=fake.url)
    from websockets.exceptions import InvalidStatus
    with pytest.raises(InvalidStatus) as exc:
        connect(ws_url(gw), additional_headers=BETA)
    assert exc.value.response.status_code == 426


def test_blocked_streaming_responses_request_ends_with_response_failed(fake_openai, gateway_factory, tmp_path):
    """Over HTTP+SSE too, a blocked Codex turn is a response.failed (Codex retries an HTTP 409 five times)."""
    import openai
    gw = gateway_factory(upstream=fake_openai.url, config=block_secrets_config(tmp_path))
    c = openai.OpenAI(base_url=gw.base_url, api_key="sk-test", max_retries=0)
    events = list(c.responses.create(model="gpt-5", input=f"deploy with {AWS_KEY}", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "invalid_prompt"
    assert "Blocked by keeptrusts code-sanitation" in events[-1].response.error.message
    with pytest.raises(openai.APIStatusError) as exc:  # non-streaming clients get the 409 envelope
        c.responses.create(model="gpt-5", input=f"deploy with {AWS_KEY}")
    assert exc.value.status_code == 409 and exc.value.body["type"] == "policy_violation"
    assert fake_openai.requests == []
    rows = wait_rows(gw.audit_db, 2)
    assert [r["verdict"] for r in rows] == ["block", "block"] and rows[0]["status"] == 409
