"""Faults: a full disk or a locked database fails the write visibly; kill -9 loses nothing acknowledged."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keeptrusts.audit import AuditError, AuditWriter
from keeptrusts.audit.verify import verify

from audit_helpers import record, responses_body

ROOT = Path(__file__).resolve().parents[1]


def test_full_disk_fails_futures_and_turns_unhealthy_then_recovers(tmp_path):
    db = tmp_path / "audit.db"
    limit = {}

    def small_disk(conn):
        limit["pages"] = conn.execute("PRAGMA page_count").fetchone()[0] + 3
        conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    w = AuditWriter(db, on_connect=small_disk).start()
    try:
        big = record(1, request_body=responses_body(30))
        fut = w.submit(big)
        with pytest.raises(AuditError, match="full"):
            fut.result(5)
        assert w.healthy is False
        assert "full" in w.last_error and str(db) in w.last_error
        # Space comes back (here: the page limit is lifted): the next write succeeds.
        w._conn.execute("PRAGMA max_page_count = 1000000")
        assert w.submit(record(2)).result(5) > 0
        assert w.healthy is True and w.last_error is None
    finally:
        w.close()
    assert verify(db).ok and verify(db).rows == 1


def test_locked_database_fails_with_a_clear_error(tmp_path):
    db = tmp_path / "audit.db"
    w = AuditWriter(db, busy_timeout_ms=200).start()
    try:
        w.submit(record(1)).result(5)
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(AuditError, match="locked"):
                w.submit(record(2)).result(5)
            assert not w.healthy and "locked" in w.last_error
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert w.submit(record(3)).result(5) > 0 and w.healthy
    finally:
        w.close()
    assert verify(db).ok


def test_unusable_path_is_refused_at_start(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError, match="cannot open audit db"):
        AuditWriter(blocker / "audit.db").start()


def test_readers_do_not_block_the_writer(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db, busy_timeout_ms=200) as w:
        w.submit(record(1)).result(5)
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM events").fetchone()   # holds a read snapshot
        assert w.submit(record(2)).result(5) == 2
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1   # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2


WRITER_SCRIPT = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, sys.argv[2])
    from keeptrusts.audit import AuditWriter
    from audit_helpers import record, responses_body
    w = AuditWriter(sys.argv[1], synchronous="NORMAL").start()
    lock = threading.Lock()
    def client(k):
        i = 0
        while True:   # bounded by the parent, which kills us
            i += 1
            rec = record(k * 10_000_000 + i, request_body=responses_body(i % 12))
            w.submit(rec).result(10)
            with lock:   # "the response reached the client" only after the commit
                sys.stdout.write(rec["id"] + "\\n"); sys.stdout.flush()
    for k in range(4):
        threading.Thread(target=client, args=(k,), daemon=True).start()
    threading.Event().wait(60)
""")


def test_kill_minus_9_under_load_loses_no_acknowledged_exchange(tmp_path):
    db = tmp_path / "audit.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "KEEPTRUSTS_AUDIT_HMAC_KEY"}
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(Path(__file__).parent)],
                            stdout=subprocess.PIPE, text=True, env=env)
    acked = []
    deadline = time.monotonic() + 30
    try:
        while len(acked) < 400 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(line.strip())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert len(acked) >= 400, "the writer process did not produce enough load"
    res = verify(db)
    assert res.ok, res.render()
    stored = {r[0] for r in sqlite3.connect(db).execute("SELECT id FROM events")}
    missing = [a for a in acked if a not in stored]
    assert not missing, f"{len(missing)} acknowledged exchanges lost"
    assert res.rows >= len(acked)


def test_verify_while_the_gateway_writes_sees_a_consistent_snapshot(tmp_path):
    import threading
    from keeptrusts.audit.verify import verify as verify_db
    db = tmp_path / "audit.db"
    stop, written = threading.Event(), []
    with AuditWriter(db) as w:     # keyed, signing its head after every commit: verify must never see it ahead
        w.submit(record(0)).result(5)

        def gateway():
            i = 0
            while not stop.is_set() and i < 5000:
                i += 1
                body = json.dumps({"model": "gpt-5", "input": [{"role": "user", "content": f"turn {i}"}]})
                w.submit(record(i, request_body=body)).result(5)   # a new history item every turn
                written.append(i)

        t = threading.Thread(target=gateway)
        t.start()
        results = []
        try:
            while len(written) < 5 and t.is_alive():
                time.sleep(0.001)
            while (len(results) < 15 or len(written) < 300) and len(results) < 500 and t.is_alive():
                results.append(verify_db(db))
        finally:
            stop.set()
            t.join(10)
    assert all(r.ok for r in results), [r.render() for r in results if not r.ok][:1]
    assert results[-1].rows > results[0].rows      # the gateway really was writing meanwhile
