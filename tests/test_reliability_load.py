"""50 concurrent streaming sessions (40 SSE with full history, 10 WebSocket) for a bounded time, with
the config file replaced by garbage halfway: zero lost or cross-wired exchanges, every exchange
audited exactly once, the planted secret never leaves, the old config keeps running.
"""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import threading
import time
import uuid

import pytest
from fake_openai import FakeOpenAI, text
from gateway_proc import DEFAULT_PACK, KT, Gateway, audit_rows, clean_env
from websockets.sync.client import connect

SSE_SESSIONS, WS_SESSIONS = 40, 10
DURATION = 10.0                      # seconds of traffic
SECRET = "AKIAZ7QWERTY5LOAD4KX"      # a well-formed AWS key id: the default chain redacts it
NONCE = re.compile(r"nonce-[0-9a-f]{12}")


def echo(received) -> object:
    """The fake model answers with the nonce of the newest user turn, so a cross-wired answer shows."""
    nonces = NONCE.findall(received.text)
    return text(f"ack {nonces[-1] if nonces else 'none'}")


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked: list[str] = []
        self.failures: list[str] = []

    def ok(self, nonce):
        with self.lock:
            self.acked.append(nonce)

    def fail(self, what):
        with self.lock:
            self.failures.append(what)


def sse_session(port: int, deadline: float, tally: Tally) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    history: list[dict] = []
    while time.monotonic() < deadline:
        nonce = f"nonce-{uuid.uuid4().hex[:12]}"
        history.append({"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": f"{nonce}: deploy with aws_access_key_id = {SECRET}"}]})
        try:
            conn.request("POST", "/v1/responses", json.dumps({"model": "gpt-5.5", "input": history, "stream": True}),
                         {"content-type": "application/json", "authorization": "Bearer sk-test-not-a-real-key"})
            r = conn.getresponse()
            body = r.read().decode()
        except Exception as exc:  # noqa: BLE001 - counted, then the session goes on
            tally.fail(f"sse {type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        deltas = "".join(json.loads(line[6:]).get("delta", "") for line in body.splitlines()
                         if line.startswith("data: {") and "output_text.delta" in line)
        if r.status != 200 or "response.completed" not in body or deltas != f"ack {nonce}":
            tally.fail(f"sse status={r.status} deltas={deltas!r} want ack {nonce}")
        else:
            tally.ok(nonce)
        history.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": deltas}]})
    conn.close()


def ws_session(port: int, deadline: float, tally: Tally) -> None:
    try:
        ws = connect(f"ws://127.0.0.1:{port}/v1/responses", open_timeout=30,
                     additional_headers={"authorization": "Bearer sk-test-not-a-real-key"})
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"ws connect {exc}")
        return
    prev = None
    with ws:
        while time.monotonic() < deadline:
            nonce = f"nonce-{uuid.uuid4().hex[:12]}"
            msg = {"type": "response.create", "model": "gpt-5.5", "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": f"{nonce}: key {SECRET}"}]}]}
            if prev:
                msg["previous_response_id"] = prev
            ws.send(json.dumps(msg))
            deltas, done = "", None
            try:
                while done is None:
                    ev = json.loads(ws.recv(timeout=60))
                    if ev.get("type") == "response.output_text.delta":
                        deltas += ev["delta"]
                    elif ev.get("type") in ("response.completed", "response.failed", "error"):
                        done = ev
            except Exception as exc:  # noqa: BLE001
                tally.fail(f"ws {type(exc).__name__}: {exc}")
                return
            if done.get("type") != "response.completed" or deltas != f"ack {nonce}":
                tally.fail(f"ws {done.get('type')} deltas={deltas!r} want ack {nonce}")
            else:
                tally.ok(nonce)
                prev = done["response"]["id"]


def test_fifty_concurrent_streaming_sessions_lose_nothing(tmp_path):
    config = tmp_path / "policy-config.yaml"
    config.write_text(DEFAULT_PACK.read_text())
    with FakeOpenAI(script=echo) as fake:
        gw = Gateway(tmp_path / "gw", fake.url, config=config)
        try:
            gw.start(120)
            tally = Tally()
            deadline = time.monotonic() + DURATION
            threads = [threading.Thread(target=sse_session, args=(gw.port, deadline, tally), daemon=True)
                       for _ in range(SSE_SESSIONS)]
            threads += [threading.Thread(target=ws_session, args=(gw.port, deadline, tally), daemon=True)
                        for _ in range(WS_SESSIONS)]
            for t in threads:
                t.start()
            # Halfway through, the config file is replaced by garbage, then emptied: the running one stays.
            time.sleep(DURATION / 3)
            config.write_bytes(b"\x00\xff garbage: [unclosed\n")
            time.sleep(DURATION / 3)
            config.write_text("")
            for t in threads:
                t.join(120)
            assert not any(t.is_alive() for t in threads), "a session hung"
            assert not tally.failures, f"{len(tally.failures)} failed exchanges, e.g. {tally.failures[:3]}"
            assert len(tally.acked) >= SSE_SESSIONS + WS_SESSIONS  # every session finished turns
            h = gw.health()
            # Still enforcing the last good config, and saying that the file on disk is not what runs.
            assert h["status"] == "degraded" and h["config"] == "codex-cli-gateway@1.0.0" and h["config_error"]
            assert "rejected" in h["reason"] and h["audit"]["healthy"]
            # Every acknowledged exchange is in the audit exactly once, with its own answer.
            rows = audit_rows(gw.audit_db)
            answered = [(r.get("output") or {}).get("text") for r in rows if r["status"] == 200]
            want = sorted(f"ack {n}" for n in tally.acked)
            assert sorted(a for a in answered if a and a.startswith("ack nonce-")) == want
            assert all(r["verdict"] == "redact" for r in rows if r["status"] == 200)
            assert not fake.leaked(SECRET)
            dump = json.dumps(rows)
            assert SECRET not in dump
        finally:
            gw.stop()
    r = subprocess.run([str(KT), "audit", "verify", "--db", str(gw.audit_db)], capture_output=True, text=True,
                       env=clean_env(KEEPTRUSTS_HOME=str(gw.home)), timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
    print(f"\n{len(tally.acked)} exchanges in {DURATION:.0f}s across {SSE_SESSIONS + WS_SESSIONS} sessions")
