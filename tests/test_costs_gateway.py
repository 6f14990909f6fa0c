"""Cost per exchange through the real gateway, for each transport, against hand-computed prices."""
from __future__ import annotations

import json

import openai
import pytest
from fake_openai import Text
from fake_openai.script import Turn
from gateway_proc import wait_rows
from websockets.sync.client import connect

from keeptrusts.cli.main import cli


@pytest.fixture
def gw(fake_openai, gateway_factory):
    return gateway_factory(upstream=fake_openai.url)


def client(gw):
    return openai.OpenAI(base_url=gw.base_url, api_key="sk-test", max_retries=0, default_headers={"X-User-ID": "eve"})


def turn(inp, cached, out, reasoning=0):
    return Turn(items=[Text("done")], input_tokens=inp, cached_tokens=cached, output_tokens=out,
                reasoning_tokens=reasoning)


def test_costs_for_chat_sse_responses_sse_and_websocket(gw, fake_openai):
    fake_openai.script = [turn(1200, 1024, 300), turn(52000, 48000, 900, 512), turn(3000, 0, 1000, 800)]
    stream = client(gw).chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}],
                                                stream=True, stream_options={"include_usage": True})
    list(stream)
    list(client(gw).responses.create(model="gpt-5-codex", input="fix the test", stream=True))
    ws_url = gw.base_url.replace("http://", "ws://") + "/responses"
    with connect(ws_url, additional_headers={"openai-beta": "responses_websockets=2026-02-06",
                                             "authorization": "Bearer sk-test", "x-user-id": "eve"}) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "o4-mini", "input": "hi"}))
        while json.loads(ws.recv(timeout=20))["type"] not in ("response.completed", "response.failed", "error"):
            pass
    rows = wait_rows(gw.audit_db, 3)[-3:]
    assert rows[2]["transport"] == "websocket"
    assert [r["path"] for r in rows] == ["/v1/chat/completions", "/v1/responses", "/v1/responses"]
    expected = [(176 * 0.40 + 1024 * 0.10 + 300 * 1.60) / 1e6,            # gpt-4.1-mini
                (4000 * 1.25 + 48000 * 0.125 + 900 * 10.00) / 1e6,        # gpt-5-codex
                (3000 * 1.10 + 1000 * 4.40) / 1e6]                        # o4-mini
    assert [r["cost_usd"] for r in rows] == pytest.approx(expected, rel=1e-9)
    assert [(r["input_tokens"], r["cached_input_tokens"], r["output_tokens"], r["reasoning_tokens"]) for r in rows] == [
        (1200, 1024, 300, 0), (52000, 48000, 900, 512), (3000, 0, 1000, 800)]
    from click.testing import CliRunner
    out = CliRunner().invoke(cli, ["costs", "--db", str(gw.audit_db), "--json"]).output
    eve = {r["key"]: r for r in json.loads(out)["rows"]}["eve"]
    assert eve["cost_usd"] == pytest.approx(sum(expected)) and eve["requests"] == 3
