"""The gateway core through the real mitmproxy process, driven by the openai SDK and curl.

The fake upstream records what it received, so each test asserts what actually left the
machine; the audit assertions read the real SQLite file.
"""
from __future__ import annotations

import json
import subprocess

import openai
import pytest
from fake_openai import Text, call, custom
from gateway_proc import audit_rows, clean_env, wait_rows

AWS_KEY = "AKIAZ7QWERTY5DEMO4KX"


@pytest.fixture
def gw(fake_openai, gateway_factory):
    return gateway_factory(upstream=fake_openai.url)


def client(gw, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="sk-test-not-a-real-key", max_retries=0, **kw)


def test_chat_json_passes_and_is_audited(gw, fake_openai):
    fake_openai.script = ["Hello there"]
    r = client(gw).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}])
    assert r.choices[0].message.content == "Hello there"
    assert fake_openai.requests[-1].json["messages"][0]["content"] == "Say hello"
    row = wait_rows(gw.audit_db, 1)[0]
    assert row["path"] == "/v1/chat/completions" and row["model"] == "gpt-4o-mini"
    assert row["verdict"] == "allow" and row["status"] == 200
    assert row["input_tokens"] > 0 and row["mode"] == "reverse"
    assert "sk-test-not-a-real-key" not in json.dumps(row)


def test_secret_is_redacted_before_it_leaves(gw, fake_openai):
    fake_openai.script = ["ok"]
    client(gw).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": f"deploy with aws_access_key_id = {AWS_KEY}"}])
    sent = fake_openai.requests[-1].json["messages"][0]["content"]
    assert AWS_KEY not in sent and "<SECRET:" in sent
    assert not fake_openai.leaked(AWS_KEY)
    row = wait_rows(gw.audit_db, 1)[0]
    assert row["verdict"] == "redact"
    assert AWS_KEY not in json.dumps(row)


def test_same_secret_same_placeholder_every_turn(gw, fake_openai):
    fake_openai.script = ["a", "b"]
    c = client(gw)
    for _ in range(2):
        c.responses.create(model="gpt-5", input=f"key {AWS_KEY}")
    first, second = (r.json["input"] for r in fake_openai.requests[-2:])
    assert first == second and AWS_KEY not in first


def test_responses_stream_text_and_tool_call(gw, fake_openai):
    fake_openai.script = [[Text("Listing files"), call("exec_command", {"cmd": "ls -la"})]]
    events = list(client(gw).responses.create(model="gpt-5", input="list files", stream=True))
    types = [e.type for e in events]
    assert "response.output_text.delta" in types and types[-1] == "response.completed"
    done = [e for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"]
    assert json.loads(done[0].item.arguments) == {"cmd": "ls -la"}
    row = wait_rows(gw.audit_db, 1)[0]
    assert row["transport"] == "sse" and row["output"]["tool_calls"][0]["name"] == "exec_command"
    assert row["output_tokens"] > 0


def test_chat_stream_with_tool_call_deltas(gw, fake_openai):
    fake_openai.script = [[call("read_file", {"path": "src/app.py"})]]
    chunks = list(client(gw).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "read it"}], stream=True,
        stream_options={"include_usage": True}))
    args = "".join(tc.function.arguments or "" for ch in chunks for c in ch.choices
                   for tc in (c.delta.tool_calls or []))
    assert json.loads(args) == {"path": "src/app.py"}
    row = wait_rows(gw.audit_db, 1)[0]
    assert row["output"]["tool_calls"][0]["name"] == "read_file" and row["input_tokens"] > 0


def test_async_client_streaming(gw, fake_openai):
    import asyncio

    fake_openai.script = ["streamed answer", "plain answer"]

    async def run():
        async with openai.AsyncOpenAI(base_url=gw.base_url, api_key="sk-test", max_retries=0) as ac:
            stream = await ac.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                      stream=True)
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            plain = await ac.responses.create(model="gpt-5", input="hi")
            return streamed, plain.output_text

    assert asyncio.run(run()) == ("streamed answer", "plain answer")


def test_placeholder_restored_in_tool_call(gw, fake_openai):
    """The model echoes a placeholder; the client gets the original back, upstream never sees it."""
    def step(received):
        body = received.json
        sent = json.dumps(body)
        ph = sent[sent.index("<SECRET:"): sent.index(">", sent.index("<SECRET:")) + 1]
        return [custom("apply_patch", f"*** Begin Patch\n*** Update File: .env\n-AWS_KEY={ph}\n+AWS_KEY=rotated\n*** End Patch\n")]
    fake_openai.script = [step]
    events = list(client(gw).responses.create(model="gpt-5", input=f"rotate AWS_KEY={AWS_KEY}", stream=True))
    done = [e for e in events if e.type == "response.output_item.done" and e.item.type == "custom_tool_call"][0]
    assert f"-AWS_KEY={AWS_KEY}" in done.item.input
    assert not fake_openai.leaked(AWS_KEY)


def test_malformed_json_gets_422_and_audit_row(gw, fake_openai):
    r = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", f"{gw.base_url}/chat/completions",
                        "-H", "content-type: application/json", "-d", "{not json"], capture_output=True, text=True,
                       env=clean_env())
    body, status = r.stdout.rsplit("\n", 1)
    assert status == "422"
    assert json.loads(body)["error"]["type"] == "validation_error"
    assert fake_openai.requests == []
    assert wait_rows(gw.audit_db, 1)[0]["status"] == 422


@pytest.mark.parametrize("payload,ctype,expect", [
    (b'{"model":"x","messages":"nope"}', "application/json", 422),
    (b"\xff\xfe not utf8", "application/json", 422),
    (b"model=x", "application/x-www-form-urlencoded", 422),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 422),
])
def test_bad_input_is_refused_and_gateway_keeps_serving(gw, fake_openai, payload, ctype, expect):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{gw.base_url}/chat/completions",
                        "-H", f"content-type: {ctype}", "--data-binary", "@-"], input=payload, capture_output=True,
                       env=clean_env())
    assert r.stdout.decode() == str(expect)
    assert fake_openai.requests == []
    fake_openai.script = ["still here"]
    ok = client(gw).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert ok.choices[0].message.content == "still here"


def test_body_over_limit_is_refused(gw, fake_openai, tmp_path):
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "a" * (33 * 1024 * 1024)}]}))
    r = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", f"{gw.base_url}/chat/completions",
                        "-H", "content-type: application/json", "--data-binary", f"@{big}"], capture_output=True,
                       text=True, env=clean_env())
    body, status = r.stdout.rsplit("\n", 1)
    assert status == "413" and "max_body_mb" in json.loads(body)["error"]["message"]
    assert fake_openai.requests == []


def test_gzip_body_is_scanned_after_decoding(gw, fake_openai):
    import gzip
    fake_openai.script = ["ok"]
    raw = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": f"key {AWS_KEY}"}]}).encode()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{gw.base_url}/chat/completions",
                        "-H", "content-type: application/json", "-H", "content-encoding: gzip",
                        "--data-binary", "@-"], input=gzip.compress(raw), capture_output=True, env=clean_env())
    assert r.stdout.decode() == "200"
    assert not fake_openai.leaked(AWS_KEY)


def test_upstream_down_gives_502_envelope(gateway_factory):
    from gateway_proc import free_port
    gw = gateway_factory(upstream=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(openai.APIStatusError) as exc:
        client(gw).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert exc.value.status_code == 502
    assert exc.value.body["type"] == "upstream_error"
    rows = wait_rows(gw.audit_db, 1)
    assert rows[0]["status"] == 502 and rows[0]["error"]


def test_health_and_config_endpoints(gw):
    h = gw.health()
    assert h["status"] == "healthy" and h["chain"][0] == "pii-detector" and h["policies_loaded"] == 7
    status, body = gw.get("/keeptrusts/config")
    cfg = json.loads(body)
    assert status == 200 and cfg["pack"]["name"] == "codex-cli-gateway"
    assert "audit-logger" in cfg["policies"]["chain"]


def test_embeddings_and_models_pass(gw, fake_openai):
    c = client(gw)
    c.embeddings.create(model="text-embedding-3-small", input=f"token {AWS_KEY}")
    assert not fake_openai.leaked(AWS_KEY)
    assert c.models.list().data
    rows = wait_rows(gw.audit_db, 2)
    assert {r["path"] for r in rows} == {"/v1/embeddings", "/v1/models"}


def test_mitmdump_script_runs_the_same_addon(fake_openai, tmp_path):
    """`mitmdump -s addons/keeptrusts.py --set keeptrusts_config=FILE --mode reverse:URL@PORT` behaves the same."""
    import sys
    from pathlib import Path

    from gateway_proc import ROOT, free_port
    port = free_port()
    mitmdump = Path(sys.executable).with_name("mitmdump")
    env = clean_env(KEEPTRUSTS_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([str(mitmdump), "-q", "-s", str(ROOT / "addons" / "keeptrusts.py"),
                             "--set", f"keeptrusts_config={ROOT / 'policies' / 'codex-cli.yaml'}",
                             "--set", f"keeptrusts_audit_db={tmp_path / 'audit.db'}",
                             "--mode", f"reverse:{fake_openai.url}@127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    try:
        import time
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0)
        fake_openai.script = ["from mitmdump"]
        deadline = time.monotonic() + 60
        while True:
            try:
                r = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"k {AWS_KEY}"}])
                break
            except openai.APIConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert r.choices[0].message.content == "from mitmdump"
        assert not fake_openai.leaked(AWS_KEY)
        assert wait_rows(tmp_path / "audit.db", 1)[0]["verdict"] == "redact"
    finally:
        proc.terminate()
        proc.wait(15)


def test_quality_score_header_on_json_answers(gw, fake_openai):
    import httpx
    fake_openai.script = ["Here is the fix:\n```python\ndef add(a, b):\n    return a + b\n```\n"]
    r = httpx.post(f"{gw.base_url}/chat/completions", json={"model": "gpt-4o", "messages": [
        {"role": "user", "content": "write add"}]}, headers={"authorization": "Bearer sk-test"}, timeout=30)
    assert r.status_code == 200
    score = float(r.headers["x-keeptrusts-quality"])
    assert 0.0 <= score <= 1.0
    assert wait_rows(gw.audit_db, 1)[0]["quality"] == pytest.approx(score, abs=1e-3)
