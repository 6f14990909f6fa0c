"""The audit database cannot be written (disk full, read-only filesystem): under fail-mode block the
gateway answers a clear 503 `audit_unavailable` and forwards nothing it cannot record; when the
storage comes back it recovers by itself.

The storage is a real tiny tmpfs (needs root and mount permission; skipped otherwise).
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import uuid

import pytest
from fake_openai import FakeOpenAI
from gateway_proc import Gateway


def _mount(path, opts: str) -> bool:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True).returncode == 0


def _remount(path, opts: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{opts}", str(path)], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or not _mount(mnt, "size=2m"):
        pytest.skip("needs root and permission to mount a tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def post(port: int, text: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/responses", json.dumps({"model": "gpt-5.5", "input": text}),
                 {"content-type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    try:
        return r.status, json.loads(body)
    except ValueError:
        return r.status, {"raw": body.decode(errors="replace")}


def health(gw: Gateway) -> dict:
    return json.loads(gw.get("/health")[1])  # 503 while degraded, with the same body


def distinct(kb: int) -> str:
    return " ".join(uuid.uuid4().hex for _ in range(kb * 1024 // 33))  # incompressible, never deduplicated


def fill(mnt) -> None:
    with open(mnt / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def start(tmp_path, fake, db) -> Gateway:
    gw = Gateway(tmp_path / "gw", fake.url, args=[])
    gw.audit_db = db
    try:
        return gw.start(120)
    except BaseException:
        gw.stop()
        raise


PRE_FORWARD = "requests are blocked until it can"            # refused before anything was sent
POST_FORWARD = "could not record this exchange in the audit log"  # answer withheld: its row failed


def test_disk_full_blocks_with_503_never_unaudited_and_recovers(tmp_path, small_disk):
    with FakeOpenAI() as fake:
        gw = start(tmp_path, fake, small_disk / "audit.db")
        try:
            assert post(gw.port, "hello")[0] == 200
            # Fill the disk with exchanges of fresh text until an audit write fails.
            statuses = []
            for _ in range(40):
                status, body = post(gw.port, distinct(120))
                statuses.append(status)
                if status != 200:
                    break
            # The exchange whose row could not be written does not get its answer: a clear 503.
            assert statuses[-1] == 503, statuses
            err = body["error"]
            assert err["code"] == "audit_unavailable" and POST_FORWARD in err["message"]
            assert "full" in err["message"] and str(small_disk) in err["message"]
            h = health(gw)
            assert h["status"] == "degraded" and "full" in h["audit"]["last_error"]
            fill(small_disk)  # whatever a small row could still use: now the disk is really full
            outcomes = []
            for n in range(6):
                marker = f"marker-{uuid.uuid4().hex}"
                status, body = post(gw.port, marker + " " + distinct(4))
                outcomes.append((marker, status, (body.get("error") or {}).get("message", "")))
            assert any(o[1] == 503 and PRE_FORWARD in o[2] for o in outcomes), outcomes
            received = fake.all_text()
            for marker, status, message in outcomes:
                if status == 503 and PRE_FORWARD in message:
                    assert marker not in received, "forwarded although the audit could not record it"
                elif status != 200:  # a 200 is fine when its row was written (checked below)
                    assert status == 503 and POST_FORWARD in message, (status, message)

            # Room again: the next request's own row is written and traffic flows.
            _remount(small_disk, "size=64m")
            statuses = [post(gw.port, f"after-{n}")[0] for n in range(3)]
            assert statuses[-1] == 200 and statuses[-2] == 200, statuses
            assert health(gw)["audit"]["healthy"]
        finally:
            gw.stop()
        # Every exchange the upstream answered with a 200 to the client is in the audit.
        from gateway_proc import audit_rows
        rows = audit_rows(gw.audit_db)
        assert sum(r["status"] == 200 for r in rows) >= 3
        audited = " ".join(r["request_body"] or "" for r in rows)
        assert all(m in audited for m, status, _ in outcomes if status == 200)


def test_read_only_audit_database_refuses_to_start_with_a_clear_error(tmp_path, small_disk):
    import sqlite3
    sqlite3.connect(small_disk / "audit.db").close()
    _remount(small_disk, "ro")
    gw = Gateway(tmp_path / "gw", "http://127.0.0.1:9")
    gw.audit_db = small_disk / "audit.db"
    with pytest.raises(RuntimeError) as exc:
        gw.start(120)
    gw.stop()
    assert gw.proc.returncode != 0
    log = gw.log_text()
    # One line naming the database and why (kt gateway run checks it before mitmproxy starts).
    assert str(small_disk / "audit.db") in log and ("read-only" in log.lower() or "readonly" in log.lower())
    assert "Traceback" not in log


def test_database_deleted_while_running_fails_closed(tmp_path):
    """Issue 15: an agent deletes the audit db while the gateway runs. Nothing more could be recorded
    (the rows would go to an unlinked file), so requests are refused with 503, /health says why, and
    the request never reaches the upstream."""
    with FakeOpenAI() as fake:
        gw = start(tmp_path, fake, tmp_path / "audit.db")
        try:
            assert post(gw.port, "hello")[0] == 200
            for suffix in ("", "-wal", "-shm"):
                os.unlink(f"{gw.audit_db}{suffix}")
            outcomes = [post(gw.port, f"after-delete-{n}") for n in range(3)]
            assert all(status == 503 for status, _ in outcomes), outcomes
            assert any("was deleted while the gateway runs" in body["error"]["message"] for _, body in outcomes)
            assert "after-delete-2" not in fake.all_text()
            h = health(gw)
            assert h["status"] == "degraded" and not h["audit"]["healthy"]
            assert "deleted" in h["audit"]["last_error"]
        finally:
            gw.stop()
