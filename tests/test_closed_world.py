"""Closed world, request side, through the real gateway process and a fake upstream that records
everything it receives: a planted secret never reaches the upstream verbatim, whatever the path
spelling, method, JSON position, encoding, query string or header; unmodelled requests are refused.

The property-based test generates the shapes nobody listed (hypothesis); the table tests pin the
paths an attacker tried on the first build (issue 14).
"""
from __future__ import annotations

import base64
import gzip
import http.client
import json
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import quote_plus

import brotli
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway_proc import Gateway, audit_rows

SECRET = "AKIAZ7QWERTY5DEMO4KX"          # an AWS access key id the default pack redacts
RAW_NEEDLES = (SECRET, SECRET.encode().hex())


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    from fake_openai import FakeOpenAI
    with FakeOpenAI() as f:
        yield f


@pytest.fixture(scope="module")
def gw(fake, tmp_path_factory):
    g = Gateway(tmp_path_factory.mktemp("cw"), fake.url).start()
    yield g
    g.stop()


def send(gw: Gateway, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def leaked(fake, since: int) -> list[str]:
    """Raw requests (path, headers, body) the upstream received after `since` that hold the secret."""
    out = []
    for r in list(fake.requests)[since:]:
        raw = r.path + json.dumps(r.headers) + r.body.decode("latin-1")
        if any(n in raw for n in RAW_NEEDLES):
            out.append(f"{r.method} {r.path}")
    return out


def post_json(gw, path, obj, headers=None, encoding=None):
    body = json.dumps(obj).encode()
    h = {"content-type": "application/json", **(headers or {})}
    if encoding:
        body = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress}[encoding](body)
        h["content-encoding"] = encoding
    return send(gw, "POST", path, body, h)


# ------------------------------------------------------------------------------ the paths of the first build

def responses_body(extra: dict | None = None, text: str = "hello") -> dict:
    body = {"model": "gpt-5-codex", "input": [{"type": "message", "role": "user",
                                               "content": [{"type": "input_text", "text": text}]}]}
    body.update(extra or {})
    return body


PLANTS = {
    "compact": ("/v1/responses/compact", responses_body(text=f"history with {SECRET}")),
    "input_tokens": ("/v1/responses/input_tokens", responses_body(text=f"count {SECRET}")),
    "conversations": ("/v1/conversations", {"items": [{"type": "message", "role": "user",
                                                        "content": [{"type": "input_text", "text": SECRET}]}]}),
    "conversation_items": ("/v1/conversations/conv_123/items", {"items": [{"type": "message", "role": "user",
                                                                            "content": f"k {SECRET}"}]}),
    "upper_case_path": ("/v1/RESPONSES", responses_body(text=SECRET)),
    "matrix_param": ("/v1/responses;x=1", responses_body(text=SECRET)),
    "double_slash": ("/v1//responses/", responses_body(text=SECRET)),
    "tool_description": ("/v1/responses", responses_body({"tools": [{"type": "function", "name": "f",
                                                                     "description": f"use key {SECRET}",
                                                                     "parameters": {"type": "object"}}]})),
    "tool_schema": ("/v1/responses", responses_body({"tools": [{"type": "function", "name": "f", "parameters": {
        "type": "object", "properties": {"k": {"type": "string", "default": SECRET}}}}]})),
    "metadata": ("/v1/responses", responses_body({"metadata": {"note": SECRET}})),
    "text_format": ("/v1/responses", responses_body({"text": {"format": {"type": "json_schema", "name": "x",
                                                                         "schema": {"description": SECRET}}}})),
    "shell_call_output": ("/v1/responses", {"model": "m", "input": [
        {"type": "shell_call_output", "call_id": "c1", "output": [{"stdout": f"AWS={SECRET}", "stderr": ""}]}]}),
    "apply_patch_call": ("/v1/responses", {"model": "m", "input": [
        {"type": "apply_patch_call", "call_id": "c2", "operation": {"type": "create_file", "path": "a.env",
                                                                   "diff": f"+KEY={SECRET}\n"}}]}),
    "input_file_text": ("/v1/responses", {"model": "m", "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_file", "filename": "creds.env",
         "file_data": "data:text/plain;base64," + base64.b64encode(f"KEY={SECRET}\n".encode()).decode()}]}]}),
    "input_file_bare_base64": ("/v1/responses", {"model": "m", "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_file", "filename": "creds.txt",
         "file_data": base64.b64encode(f"KEY={SECRET}\n".encode()).decode()}]}]}),
    "json_key": ("/v1/responses", responses_body({"metadata": {SECRET: "x"}})),
    "chat_legacy_function_call": ("/v1/chat/completions", {"model": "m", "messages": [
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": json.dumps({"k": SECRET})}}]}),
    "embeddings_list": ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", f"b {SECRET}"]}),
    "chatgpt_codex_path": ("/backend-api/codex/responses", responses_body(text=SECRET)),
}


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_planted_secret_never_reaches_the_upstream(gw, fake, name):
    path, body = PLANTS[name]
    n = len(fake.requests)
    status, resp, _ = post_json(gw, path, body)
    assert leaked(fake, n) == [], (name, status, resp[:300])
    assert status < 500, resp[:300]


def test_query_string_and_custom_headers_are_scanned(gw, fake):
    n = len(fake.requests)
    status, resp, _ = post_json(gw, f"/v1/responses?note={SECRET}", responses_body(),
                                headers={"x-debug-context": f"key {SECRET}"})
    assert status == 200, resp[:300]
    got = list(fake.requests)[n:]
    assert got and leaked(fake, n) == []
    assert "SECRET" in got[-1].path or "%3CSECRET" in got[-1].path  # redacted, not dropped
    assert "<SECRET:" in got[-1].headers["x-debug-context"]


@pytest.mark.parametrize("path", ["/v1/responses%2Fcompact", "/v1/../v1/responses", "/v1/%2e%2e/responses"])
def test_ambiguous_path_spellings_are_refused(gw, fake, path):
    n = len(fake.requests)
    status, resp, _ = post_json(gw, path, responses_body(text=SECRET))
    assert status == 400 and len(fake.requests) == n
    err = json.loads(resp)["error"]
    assert err["code"] == "invalid_path" and "kt events show evt_" in err["message"]


@pytest.mark.parametrize("method,path", [("PUT", "/v1/responses"), ("PATCH", "/v1/responses"),
                                         ("POST", "/v1/files"), ("POST", "/v1/assistants"),
                                         ("POST", "/v2/responses")])
def test_unmodelled_requests_are_refused_with_the_switch_named(gw, fake, method, path):
    n = len(fake.requests)
    status, resp, headers = send(gw, method, path, json.dumps(responses_body(text=SECRET)).encode(),
                                 {"content-type": "application/json"})
    assert status in (404, 405) and len(fake.requests) == n
    err = json.loads(resp)["error"]
    assert err["code"] == "endpoint_not_modelled" and "gateway.unknown_endpoints" in err["message"]
    assert path.split("/")[-1].lower() in err["message"].lower()
    assert headers.get("x-keeptrusts-event-id", "").startswith("evt_")


def test_bodiless_read_passes_and_a_get_body_is_not_forwarded(gw, fake):
    n = len(fake.requests)
    status, resp, _ = send(gw, "GET", "/v1/models")
    assert status == 200 and json.loads(resp)["object"] == "list"
    status, _, _ = send(gw, "GET", "/v1/models", json.dumps({"note": SECRET}).encode(),
                        {"content-type": "application/json"})
    assert leaked(fake, n) == [] and list(fake.requests)[-1].body == b""


def test_image_passes_and_an_unreadable_file_is_refused(gw, fake):
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()
    status, resp, _ = post_json(gw, "/v1/responses", {"model": "m", "input": [{"type": "message", "role": "user",
                                "content": [{"type": "input_image", "image_url": png}]}]})
    assert status == 200, resp[:300]
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7 " + SECRET.encode()).decode()
    n = len(fake.requests)
    status, resp, _ = post_json(gw, "/v1/responses", {"model": "m", "input": [{"type": "message", "role": "user",
                                "content": [{"type": "input_file", "filename": "a.pdf", "file_data": pdf}]}]})
    assert status == 409 and len(fake.requests) == n
    assert "binary_payloads" in json.loads(resp)["error"]["message"]


def test_duplicate_keys_are_forwarded_as_judged(gw, fake):
    """JSON with a key twice: the upstream must see the value the gateway judged, not the other one."""
    n = len(fake.requests)
    raw = ('{"model":"m","input":"' + SECRET + '","input":"hello"}').encode()
    status, _, _ = send(gw, "POST", "/v1/responses", raw, {"content-type": "application/json"})
    assert leaked(fake, n) == []


def test_forwarded_body_is_identity_encoded_and_answer_asked_as_identity(gw, fake):
    n = len(fake.requests)
    status, resp, _ = post_json(gw, "/v1/responses", responses_body(text=f"x {SECRET}"), encoding="br")
    assert status == 200, resp[:300]
    got = list(fake.requests)[n:][-1]
    assert "content-encoding" not in got.headers and got.headers.get("accept-encoding") == "identity"
    assert leaked(fake, n) == []


# ------------------------------------------------------------------------------ property: any position

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8))
json_tree = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.text("abcdefgh_", min_size=1, max_size=6), kids, max_size=3)),
    max_leaves=8)


@st.composite
def planted_request(draw):
    """A request body of a modelled API with the secret at a random place (value, key, query, header)."""
    api_path, base = draw(st.sampled_from([
        ("/v1/responses", lambda: responses_body()),
        ("/v1/chat/completions", lambda: {"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses/compact", lambda: responses_body()),
        ("/v1/embeddings", lambda: {"model": "e", "input": "x"}),
    ]))
    body = base()
    extra = draw(json_tree)
    where = draw(st.sampled_from(["value", "key", "query", "header", "nested_input"]))
    prefix = draw(st.sampled_from(["", "key=", "aws: ", "\u00e9 ", "x\\n"]))
    planted = prefix + SECRET
    query, headers = "", {}
    if where == "value":
        body[draw(st.sampled_from(["metadata", "user", "extra_field", "tools", "text"]))] = \
            {"a": [extra, planted]} if draw(st.booleans()) else planted
    elif where == "key":
        body["metadata"] = {planted: extra if not isinstance(extra, (dict, list)) else 1}
    elif where == "query":
        query = "?" + draw(st.sampled_from(["q", "api_key", "x"])) + "=" + quote_plus(planted)
    elif where == "header":
        headers[draw(st.sampled_from(["x-note", "x-stainless-meta", "openai-project"]))] = planted
    else:
        if "input" in body and isinstance(body["input"], list):
            body["input"].append({"type": draw(st.sampled_from(["message", "function_call_output", "reasoning",
                                                                "mystery_item", "custom_tool_call"])),
                                  "role": "user", "call_id": "c", "output": planted, "content": [planted],
                                  "input": planted, "summary": [{"text": planted}]})
        else:
            body["stop"] = [planted]
    path = draw(st.sampled_from([api_path, api_path.upper().replace("/V1", "/v1"), api_path + "/", api_path + ";p=1"]))
    encoding = draw(st.sampled_from([None, "gzip", "br", "deflate"]))
    return path + query, body, headers, encoding


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(req=planted_request())
def test_property_secret_in_any_position_never_leaves(gw, fake, req):
    path, body, headers, encoding = req
    n = len(fake.requests)
    status, resp, _ = post_json(gw, path, body, headers=headers, encoding=encoding)
    assert leaked(fake, n) == [], (path, status, resp[:200])


# ------------------------------------------------------------------------------ decompression bomb

def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_decompression_bomb_is_refused_without_expanding_and_others_are_served(fake, tmp_path):
    gw = Gateway(tmp_path, fake.url).start()
    try:
        # 1 GiB of JSON whitespace inside a ~1 MB gzip body.
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b" " * (1 << 20)
        bomb = comp.compress(b'{"model":"m","input":"') + b"".join(comp.compress(chunk) for _ in range(1024))
        bomb += comp.compress(b'"}') + comp.flush()
        before = _vm_hwm_mb(gw.proc.pid)
        other: dict = {}

        def ordinary():
            time.sleep(0.05)
            other["status"] = post_json(gw, "/v1/responses", responses_body())[0]

        t = threading.Thread(target=ordinary)
        t.start()
        status, resp, _ = send(gw, "POST", "/v1/responses", bomb,
                               {"content-type": "application/json", "content-encoding": "gzip"})
        t.join(60)
        assert status == 413 and json.loads(resp)["error"]["code"] == "request_too_large"
        assert other.get("status") == 200
        # The gateway expanded at most its limit (32 MB), never the gigabyte (the first build: 2.2 GB RSS).
        assert _vm_hwm_mb(gw.proc.pid) - before < 400
        rows = audit_rows(gw.audit_db, with_body=False)
        assert any(r["status"] == 413 for r in rows)
    finally:
        gw.stop()


# ------------------------------------------------------------------------------ WebSocket frames

WS_HEADERS = {"openai-beta": "responses_websockets=2026-02-06", "authorization": "Bearer sk-test-ws"}


def _ws_recv_until_end(ws) -> list[dict]:
    events = []
    while True:
        ev = json.loads(ws.recv(timeout=20))
        events.append(ev)
        if ev["type"] in ("response.completed", "response.failed", "response.incomplete", "error"):
            return events


@pytest.mark.parametrize("frame,why", [
    (("binary", json.dumps({"type": "response.create", "model": "m", "input": SECRET}).encode()), "binary frame"),
    (("text", '{"type": "response.create", "input": "' + SECRET + '"'), "not valid JSON"),
    (("text", json.dumps({"type": "session.update", "instructions": SECRET})), "message type"),
    (("text", json.dumps(["response.create", SECRET])), "message type"),
])
def test_websocket_frames_we_cannot_judge_are_refused_and_audited(gw, fake, frame, why):
    from websockets.sync.client import connect
    n_ws = len(fake.received("websocket"))
    with connect(gw.base_url.replace("http://", "ws://") + "/responses", additional_headers=WS_HEADERS) as ws:
        ws.send(frame[1] if frame[0] == "binary" else frame[1], text=frame[0] == "text")
        events = _ws_recv_until_end(ws)
        assert events[-1]["type"] == "response.failed"
        message = events[-1]["response"]["error"]["message"]
        assert why in message and "kt events show evt_" in message
        # The connection stays usable for a turn the gateway can judge.
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": f"x {SECRET}"}))
        assert _ws_recv_until_end(ws)[-1]["type"] == "response.completed"
    got = fake.received("websocket")[n_ws:]
    assert len(got) == 1 and SECRET not in got[0].text
    event_id = message.rsplit("kt events show ", 1)[1].split(")")[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = {r["id"]: r for r in audit_rows(gw.audit_db, with_body=False)}
        if event_id in rows:
            break
        time.sleep(0.2)
    assert rows[event_id]["verdict"] == "block" and rows[event_id]["transport"] == "websocket"


def test_websocket_on_an_unmodelled_path_is_refused(gw, fake):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    with pytest.raises(InvalidStatus) as exc:
        connect(gw.base_url.replace("http://", "ws://") + "/realtime", additional_headers=WS_HEADERS)
    assert exc.value.response.status_code == 404


# ------------------------------------------------------------------------------ ChatGPT sign-in (explicit mode)

def test_chatgpt_codex_backend_is_intercepted_and_judged_with_zstd_bodies(gw, fake, tmp_path):
    """Codex signed in with ChatGPT posts zstd bodies to chatgpt.com/backend-api/codex/responses."""
    import subprocess

    from gateway_proc import clean_env
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]
    body = tmp_path / "body.zst"
    body.write_bytes(zstd.compress(json.dumps(responses_body(text=f"deploy with {SECRET}")).encode()))
    n = len(fake.requests)
    r = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--proxy", gw.proxy_url, "--cacert", str(gw.ca_cert),
                        "https://chatgpt.com/backend-api/codex/responses", "-H", "content-type: application/json",
                        "-H", "content-encoding: zstd", "-H", "authorization: Bearer chatgpt-access-token",
                        "--data-binary", f"@{body}"], capture_output=True, text=True, env=clean_env(), timeout=60)
    out, status = r.stdout.rsplit("\n", 1)
    assert status == "200", out[:300]
    got = list(fake.requests)[n:]
    assert got and got[-1].route == "/backend-api/codex/responses" and leaked(fake, n) == []
    assert "<SECRET:" in got[-1].text
