"""The gateway SIGKILLed mid-traffic and restarted on the same audit database: the chain verifies, no
half rows, every exchange a client saw complete is recorded, and the new process appends cleanly.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
import uuid

from fake_openai import FakeOpenAI, text
from gateway_proc import KT, Gateway, audit_rows, clean_env, wait_rows

SESSIONS = 8


def echo(received):
    import re
    found = re.findall(r"nonce-[0-9a-f]{12}", received.text)
    return text(f"ack {found[-1] if found else 'none'} " + "padding " * 40)


def session(port: int, stop: threading.Event, acked: list, lock: threading.Lock) -> None:
    while not stop.is_set():
        nonce = f"nonce-{uuid.uuid4().hex[:12]}"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/v1/responses", json.dumps({"model": "gpt-5.5", "stream": True,
                                                              "input": f"{nonce} " + "context " * 2000}),
                         {"content-type": "application/json"})
            body = conn.getresponse().read()
            conn.close()
        except Exception:  # noqa: BLE001 - the gateway is being killed under us
            continue
        if b"response.completed" in body:
            with lock:
                acked.append(nonce)


def verify(gw) -> subprocess.CompletedProcess:
    # The chain is keyed by the gateway's own key, kept in its home.
    return subprocess.run([str(KT), "audit", "verify", "--db", str(gw.audit_db)], capture_output=True, text=True,
                          env=clean_env(KEEPTRUSTS_HOME=str(gw.home)), timeout=120)


def test_sigkill_mid_traffic_then_restart(tmp_path):
    with FakeOpenAI(script=echo) as fake:
        gw = Gateway(tmp_path, fake.url)
        try:
            gw.start(120)
            stop, lock, acked = threading.Event(), threading.Lock(), []
            threads = [threading.Thread(target=session, args=(gw.port, stop, acked, lock), daemon=True)
                       for _ in range(SESSIONS)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while len(acked) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            gw.kill()  # SIGKILL, exchanges in flight
            stop.set()
            for t in threads:
                t.join(30)
            assert len(acked) >= 40, "not enough traffic before the kill"
            with lock:
                seen = list(acked)

            r = verify(gw)
            assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
            rows = audit_rows(gw.audit_db)
            # No half rows: every row is a whole exchange with its status, verdict and the full request.
            for row in rows:
                assert row["status"] in (200,) and row["verdict"] and row["policies"] is not None, row
                assert json.loads(row["request_body"])["input"].startswith("nonce-")
            # A client saw response.completed only after its row committed.
            recorded = {json.loads(r["request_body"])["input"].split()[0] for r in rows}
            lost = [n for n in seen if n not in recorded]
            assert not lost, f"{len(lost)} exchanges the client saw complete are not in the audit"

            # Restart on the same database: traffic flows again and the chain continues.
            before = len(rows)
            gw.start(120)
            stop.clear()
            session_done = []
            t = threading.Thread(target=session, args=(gw.port, stop, session_done, lock), daemon=True)
            t.start()
            deadline = time.monotonic() + 30
            while len(session_done) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            t.join(30)
            assert len(session_done) >= 5
            wait_rows(gw.audit_db, before + 5)
        finally:
            gw.stop()
    r = verify(gw)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
