"""Control-plane delivery: batches to /v1/events and /v1/spend/log, through an outage and a restart."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keeptrusts.audit import AuditWriter, ControlPlaneConfig

from audit_helpers import record

TOKEN = "kt_gw_test_token"


class FakeControlPlane:
    """A local control plane on 127.0.0.1: records what arrives; can answer 503 or be stopped."""

    def __init__(self, port: int = 0):
        self.events: list[str] = []
        self.spend: list[dict] = []
        self.auth: set[str] = set()
        self.keys: list[str] = []
        self.down = False
        plane = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if plane.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                plane.auth.add(self.headers.get("Authorization"))
                plane.keys.append(self.headers.get("Idempotency-Key"))
                if self.path == "/v1/events":
                    plane.events += [e["id"] for e in body["events"]]
                elif self.path == "/v1/spend/log":
                    plane.spend += body["entries"]
                self.send_response(202)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def cp_config(port):
    return ControlPlaneConfig(f"http://127.0.0.1:{port}", TOKEN, "gw-test", batch_size=4,
                              interval_s=0.05, timeout_s=2, max_backoff_s=0.2)


def test_from_env_needs_both_variables():
    assert ControlPlaneConfig.from_env({"KEEPTRUSTS_API_URL": "http://x"}) is None
    cfg = ControlPlaneConfig.from_env({"KEEPTRUSTS_API_URL": "http://x/", "KEEPTRUSTS_GATEWAY_TOKEN": "t"})
    assert cfg.api_url == "http://x" and cfg.token == "t"


def test_events_arrive_once_through_an_outage_and_a_restart(tmp_path):
    db = tmp_path / "audit.db"
    plane = FakeControlPlane()
    port = plane.port
    ids = [record(i)["id"] for i in range(1, 16)]
    try:
        # 1. Up: events and spend flow.
        w = AuditWriter(db, hmac_key=b"", outbox=cp_config(port)).start()
        for i in range(1, 6):
            w.submit(record(i)).result(5)
        assert wait_for(lambda: len(plane.events) == 5 and len(plane.spend) == 5)
        # 2. Outage (503): nothing is acknowledged, nothing is lost; then the gateway restarts.
        plane.down = True
        for i in range(6, 11):
            w.submit(record(i)).result(5)
        time.sleep(0.3)
        w.close()
        assert len(plane.events) == 5
        # 3. Control plane fully gone (connection refused) while the restarted gateway writes more.
        plane.stop()
        w = AuditWriter(db, hmac_key=b"", outbox=cp_config(port)).start()
        for i in range(11, 16):
            w.submit(record(i)).result(5)
        time.sleep(0.3)
        assert w._sender.last_error and "failed" in w._sender.last_error
        # 4. It comes back on the same address: everything arrives, once, in order.
        plane = FakeControlPlane(port)
        assert wait_for(lambda: len(plane.events) >= 10 and len(plane.spend) >= 10)
        w.close()
    finally:
        plane.stop()
    # first instance got 1..5; the returning one got 6..15
    assert plane.events == ids[5:]
    assert [e["event_id"] for e in plane.spend] == ids[5:]
    assert plane.auth == {f"Bearer {TOKEN}"}
    assert all(k.startswith(("events-", "spend-")) for k in plane.keys)
    entry = plane.spend[0]
    assert entry["user_id"] == "alice" and entry["cost_usd"] == pytest.approx(0.00275)
    assert entry["input_tokens"] == 1000 and entry["cached_input_tokens"] == 200


def test_rows_before_the_control_plane_was_configured_are_not_sent(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db, hmac_key=b"") as w:
        w.submit(record(1)).result(5)
    plane = FakeControlPlane()
    try:
        with AuditWriter(db, hmac_key=b"", outbox=cp_config(plane.port)) as w:
            w.submit(record(2)).result(5)
            assert wait_for(lambda: plane.events == [record(2)["id"]])
    finally:
        plane.stop()


def test_writer_takes_the_control_plane_from_the_environment(tmp_path, monkeypatch):
    plane = FakeControlPlane()
    try:
        monkeypatch.setenv("KEEPTRUSTS_API_URL", f"http://127.0.0.1:{plane.port}")
        monkeypatch.setenv("KEEPTRUSTS_GATEWAY_TOKEN", TOKEN)
        with AuditWriter(tmp_path / "a.db", hmac_key=b"") as w:
            assert w.outbox is not None and w.outbox.token == TOKEN
        assert AuditWriter(tmp_path / "b.db", outbox=None).outbox is None
        monkeypatch.delenv("KEEPTRUSTS_GATEWAY_TOKEN")
        assert AuditWriter(tmp_path / "c.db").outbox is None
    finally:
        plane.stop()


def test_gateway_sends_events_to_the_control_plane(tmp_path, fake_openai, gateway_factory):
    """`kt gateway run` with KEEPTRUSTS_API_URL/KEEPTRUSTS_GATEWAY_TOKEN: each exchange arrives once."""
    import openai
    from gateway_proc import wait_rows
    plane = FakeControlPlane()
    try:
        gw = gateway_factory(upstream=fake_openai.url, env={
            "KEEPTRUSTS_API_URL": f"http://127.0.0.1:{plane.port}", "KEEPTRUSTS_GATEWAY_TOKEN": TOKEN})
        fake_openai.script = ["a", "b", "c"]
        c = openai.OpenAI(base_url=gw.base_url, api_key="sk-test", max_retries=0,
                          default_headers={"X-User-ID": "dana"})
        for _ in range(3):
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        rows = wait_rows(gw.audit_db, 3)
        assert wait_for(lambda: len(plane.events) >= 3 and len(plane.spend) >= 3, timeout=15)
        assert plane.events == [r["id"] for r in rows]
        assert [e["user_id"] for e in plane.spend] == ["dana"] * 3
        assert plane.auth == {f"Bearer {TOKEN}"}
    finally:
        plane.stop()
